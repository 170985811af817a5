//! BSP registered memory: distributed arrays whose local parts the workers of an SPMD run read
//! and write freely between syncs, and whose remote parts they reach with buffered `put` and
//! `get`, delivered by the next [`Ctx::sync`](crate::Ctx::sync).
//!
//! # Delivery
//!
//! A worker's part is touched by that worker only: local reads and writes through
//! [`Coarray::local`] and [`Coarray::local_mut`], and, inside `sync`, the delivery of what the
//! others asked of it. The other workers only leave requests in queues of the array's shared
//! [`CoarrayQueues`] state (each queue behind its own mutex):
//!
//! - `put(to, offset, src)` copies `src` at once into the worker's own outbox for `to`;
//! - `get(from, range)` appends `range` to the worker's own list of ranges asked of `from`.
//!
//! `sync` of superstep `s` then runs, on every worker:
//!
//! 0. hand the outbox for each `to` over to the shared queue `puts[s % 2][me * n + to]` (a swap,
//!    which takes back the queue emptied two supersteps ago with its capacity) and stamp
//!    `put_at[s % 2][to] = s + 1`; hand the ranges for each `from` over to the shared queue
//!    `gets[me * n + from]` and stamp `get_at = s + 1`;
//! 1. the sync round of the collectives (a barrier): every request of superstep `s` is made,
//!    and published by the barrier's happens-before edge;
//! 2. for each array, in registration order: if `get_at == s + 1`, serve every get asking this
//!    worker's part (copy the ranges into the queue, in the requester's order); then, if
//!    `put_at[s % 2][me] == s + 1`, apply the puts to this worker's part, by sender index and
//!    then in sending order, so the highest-indexed sender's last put to a place wins;
//! 3. if any array had gets in superstep `s` (every worker reads the same stamps, so all take
//!    the same branch), a second round of the collectives, after which each requester takes
//!    its answers out of the queues into its [`Pending`] values.
//!
//! Gets are served before puts are applied, so a get reads the value before every put of the
//! same superstep (BSPlib's rule), whatever the order of the calls.
//!
//! # Why the stamps are consistent
//!
//! Stamps compare for equality with the superstep, so they never need resetting. A worker that
//! returns from sync `s` early and stamps for superstep `s + 1` while another still reads the
//! stamps of `s` cannot change that reader's decision: `put_at` of `s + 1` lives at the other
//! parity (and its queues too, so the early puts are not applied by the late delivery), and
//! `get_at` is written again only after the second round, which nobody passes before every
//! worker read it, when superstep `s` had gets; when it had none, the old value and the new one
//! (`s + 2`) both differ from `s + 1`. A parity is written again at superstep `s + 2`, after the
//! sync round of `s + 1`, which its owner enters only once it delivered superstep `s`.
//!
//! # Panics instead of corruption
//!
//! Delivery runs no user code (`T: Copy`; BSPlib moves bytes), so it cannot unwind half-way.
//! Out-of-range workers and elements panic in `put` and `get`, where the request is made. A
//! `local`/`local_mut` borrow alive at `sync` panics in that `sync` before the worker enters
//! the round (the other workers then leave theirs, as for any panic). Registration is a
//! collective round, and every worker checks every worker's registration: a different type or
//! length (or a registration against another collective) panics on every worker.

use std::any::{Any, TypeId};
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::fmt;
use std::ops::{DerefMut, Range};
use std::panic::Location;
use std::rc::Rc;
use std::sync::PoisonError;

use crossbeam_utils::CachePadded;

use crate::sync::{Arc, AtomicU64, Mutex, Ordering};

/// One worker's proposal in a registration round.
pub(crate) struct Registration {
    type_id: TypeId,
    type_name: &'static str,
    len: usize,
    site: &'static Location<'static>,
    /// The shared state, made by worker 0 only (an `Arc<CoarrayQueues<T>>`).
    shared: Option<Box<dyn Any + Send + Sync>>,
}

impl Registration {
    /// Worker `me`'s proposal for a `Coarray<T>` of `len` elements per worker on `n` workers,
    /// registered at `site`.
    pub(crate) fn new<T: Copy + Send + 'static>(
        me: usize,
        n: usize,
        len: usize,
        site: &'static Location<'static>,
    ) -> Registration {
        Registration {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            len,
            site,
            shared: (me == 0).then(|| Box::new(Arc::new(CoarrayQueues::<T>::new(n, len))) as _),
        }
    }
}

/// A put queue: the spans `(offset, len)` in sending order and their elements, concatenated.
struct Puts<T> {
    spans: Vec<(usize, usize)>,
    data: Vec<T>,
}

impl<T> Puts<T> {
    fn new() -> Puts<T> {
        Puts {
            spans: Vec::new(),
            data: Vec::new(),
        }
    }
}

/// A get queue between a requester and a source: the ranges the requester asks for, in asking
/// order, and the source's answers, concatenated in the same order.
struct Gets<T> {
    ranges: Vec<Range<usize>>,
    data: Vec<T>,
}

/// `n * n` queues, each on its own cache line.
type Queues<Q> = Box<[CachePadded<Mutex<Q>>]>;

/// The state of one coarray that every worker shares: the request queues and their stamps.
struct CoarrayQueues<T> {
    n: usize,
    len: usize,
    /// `puts[parity][from * n + to]`.
    puts: [Queues<Puts<T>>; 2],
    /// `put_at[parity][to]`: one more than the last superstep of that parity with a put to `to`.
    put_at: [Box<[CachePadded<AtomicU64>]>; 2],
    /// `gets[from * n + source]`: `from`'s requests to `source` and their answers.
    gets: Queues<Gets<T>>,
    /// One more than the last superstep with a get of this array.
    get_at: AtomicU64,
}

impl<T> CoarrayQueues<T> {
    fn new(n: usize, len: usize) -> CoarrayQueues<T> {
        let puts = || {
            (0..n * n)
                .map(|_| CachePadded::new(Mutex::new(Puts::new())))
                .collect()
        };
        let stamps = || {
            (0..n)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect()
        };
        CoarrayQueues {
            n,
            len,
            puts: [puts(), puts()],
            put_at: [stamps(), stamps()],
            gets: (0..n * n)
                .map(|_| {
                    CachePadded::new(Mutex::new(Gets {
                        ranges: Vec::new(),
                        data: Vec::new(),
                    }))
                })
                .collect(),
            get_at: AtomicU64::new(0),
        }
    }
}

/// Locks `mutex`; a poisoned one is still consistent (nothing unwinds while holding one).
fn lock<Q>(mutex: &Mutex<Q>) -> impl DerefMut<Target = Q> + '_ {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A get that its requester waits for: the source, the length, and where the answer goes.
struct Awaited<T> {
    source: usize,
    len: usize,
    slot: Rc<RefCell<Option<Vec<T>>>>,
}

/// One worker's side of a coarray.
struct Local<T> {
    me: usize,
    /// The registration number (0 for the run's first coarray), for messages.
    number: usize,
    part: RefCell<Box<[T]>>,
    shared: Arc<CoarrayQueues<T>>,
    /// This worker's puts of the current superstep, by target (empty until the first put).
    outbox: RefCell<Vec<Puts<T>>>,
    /// This worker's get ranges of the current superstep, by source (empty until the first
    /// get).
    asks: RefCell<Vec<Vec<Range<usize>>>>,
    /// This worker's gets of the current superstep, in asking order.
    awaited: RefCell<Vec<Awaited<T>>>,
    /// The current superstep (the number of syncs this worker passed).
    step: Rc<Cell<u64>>,
}

/// What `sync` does with each registered coarray, whatever its element type.
trait Delivery {
    /// Before the sync round: panics if a `local`/`local_mut` borrow of this worker's part is
    /// alive, then hands this worker's puts and get ranges of the superstep to the shared
    /// queues.
    fn publish(&self);
    /// Whether some worker asked a get of this array in the current superstep.
    fn has_gets(&self) -> bool;
    /// Serves the gets that ask this worker's part, then applies the puts sent to it.
    fn deliver(&self, gets: bool);
    /// Takes the answers to this worker's gets of the superstep (after the second round); does
    /// nothing if it asked none.
    fn collect(&self);
}

impl<T: Copy + Send + 'static> Delivery for Local<T> {
    fn publish(&self) {
        if self.part.try_borrow_mut().is_err() {
            panic!(
                "sync() while a local()/local_mut() borrow of coarray #{} is alive on worker {}: \
                 drop it before the sync (puts and gets land in the local part there)",
                self.number, self.me
            );
        }
        let shared = &*self.shared;
        let (n, me, step) = (shared.n, self.me, self.step.get());
        let parity = (step % 2) as usize;
        // Swapping hands the filled local queues over and takes back the emptied shared ones
        // (their capacity included), one lock per target and superstep.
        for (to, queued) in self.outbox.borrow_mut().iter_mut().enumerate() {
            if !queued.spans.is_empty() {
                std::mem::swap(&mut *lock(&shared.puts[parity][me * n + to]), queued);
                // Relaxed: the sync round's barrier publishes the stamp with the queue.
                shared.put_at[parity][to].store(step + 1, Ordering::Relaxed);
            }
        }
        let mut asked = false;
        for (from, ranges) in self.asks.borrow_mut().iter_mut().enumerate() {
            if !ranges.is_empty() {
                std::mem::swap(&mut lock(&shared.gets[me * n + from]).ranges, ranges);
                asked = true;
            }
        }
        if asked {
            // Relaxed: as above.
            shared.get_at.store(step + 1, Ordering::Relaxed);
        }
    }

    fn has_gets(&self) -> bool {
        // Relaxed: the sync round's barrier orders the stamp (module docs).
        self.shared.get_at.load(Ordering::Relaxed) == self.step.get() + 1
    }

    fn deliver(&self, gets: bool) {
        let shared = &*self.shared;
        let (n, me, step) = (shared.n, self.me, self.step.get());
        let mut part = self.part.borrow_mut();
        if gets {
            for from in 0..n {
                let mut queue = lock(&shared.gets[from * n + me]);
                let Gets { ranges, data } = &mut *queue;
                for range in ranges.iter() {
                    data.extend_from_slice(&part[range.clone()]);
                }
            }
        }
        let parity = (step % 2) as usize;
        // Relaxed: as in `has_gets`.
        if shared.put_at[parity][me].load(Ordering::Relaxed) == step + 1 {
            for from in 0..n {
                let mut queue = lock(&shared.puts[parity][from * n + me]);
                let Puts { spans, data } = &mut *queue;
                let mut at = 0;
                for &(offset, len) in spans.iter() {
                    if len == 1 {
                        part[offset] = data[at];
                    } else {
                        part[offset..offset + len].copy_from_slice(&data[at..at + len]);
                    }
                    at += len;
                }
                spans.clear();
                data.clear();
            }
        }
    }

    fn collect(&self) {
        let shared = &*self.shared;
        let n = shared.n;
        let mut awaited = self.awaited.borrow_mut();
        if awaited.is_empty() {
            return;
        }
        let mut cursor = vec![0; n];
        for get in awaited.iter() {
            let queue = lock(&shared.gets[self.me * n + get.source]);
            let at = cursor[get.source];
            *get.slot.borrow_mut() = Some(queue.data[at..at + get.len].to_vec());
            cursor[get.source] = at + get.len;
        }
        // Every queued get asks for at least one element, so the used queues are these.
        for (source, _) in cursor.iter().enumerate().filter(|(_, &used)| used > 0) {
            let mut queue = lock(&shared.gets[self.me * n + source]);
            queue.ranges.clear();
            queue.data.clear();
        }
        awaited.clear();
    }
}

/// The coarrays one worker registered in a run, in registration order; empty (and free) in a
/// run that registers none.
#[derive(Default)]
pub(crate) struct Registry {
    arrays: Vec<Rc<dyn Delivery>>,
    /// The superstep, shared with every `Local` of this worker.
    step: Rc<Cell<u64>>,
}

impl Registry {
    /// How many coarrays this worker registered.
    pub(crate) fn len(&self) -> usize {
        self.arrays.len()
    }

    /// Before the sync round: panics if a local borrow is alive; hands this worker's requests
    /// of the superstep to the shared queues.
    pub(crate) fn before_sync(&self) {
        for array in &self.arrays {
            array.publish();
        }
    }

    /// After the sync round: delivers to this worker's parts; returns whether a second round
    /// must follow (some array had gets), after which [`after_gets`](Self::after_gets) runs.
    pub(crate) fn deliver(&self) -> bool {
        let mut any_gets = false;
        for array in &self.arrays {
            let gets = array.has_gets();
            array.deliver(gets);
            any_gets |= gets;
        }
        if !any_gets {
            self.step.set(self.step.get() + 1);
        }
        any_gets
    }

    /// After the second round: hands out the answers to this worker's gets.
    pub(crate) fn after_gets(&self) {
        // Not `has_gets`: a worker past the second round may already stamp the next superstep.
        for array in &self.arrays {
            array.collect();
        }
        self.step.set(self.step.get() + 1);
    }

    /// Checks the registration round whose proposals are `proposals` (in worker order) as
    /// worker `me`, which proposed its `number`-th coarray, a `Coarray<T>` of `len` elements,
    /// at `site`; panics (on every worker) if any proposal differs in type or length.
    pub(crate) fn check<'a, T: Copy + Send + 'static>(
        me: usize,
        number: usize,
        proposals: impl Iterator<Item = Option<&'a Registration>>,
        len: usize,
        site: &'static Location<'static>,
    ) -> Joined<T> {
        let mut shared = None;
        for (worker, proposal) in proposals.enumerate() {
            let proposal = proposal.expect("a registration round carries every proposal");
            if proposal.type_id != TypeId::of::<T>() || proposal.len != len {
                panic!(
                    "mismatched coarray registration #{number}: worker {me} registers a \
                     Coarray<{}> of length {len} (at {site}) while worker {worker} registers a \
                     Coarray<{}> of length {} (at {}); every worker must register the same \
                     coarrays, with the same element type and length, in the same order",
                    std::any::type_name::<T>(),
                    proposal.type_name,
                    proposal.len,
                    proposal.site,
                );
            }
            if worker == 0 {
                shared = proposal
                    .shared
                    .as_ref()
                    .and_then(|shared| shared.downcast_ref::<Arc<CoarrayQueues<T>>>())
                    .cloned();
            }
        }
        Joined(shared.expect("worker 0 makes the shared state of a coarray"))
    }

    /// Adds worker `me`'s part of a checked registration, filled with `init`.
    pub(crate) fn push<T: Copy + Send + 'static>(
        &mut self,
        me: usize,
        joined: Joined<T>,
        init: T,
    ) -> Coarray<T> {
        let shared = joined.0;
        let local = Rc::new(Local {
            me,
            number: self.arrays.len(),
            part: RefCell::new(vec![init; shared.len].into_boxed_slice()),
            shared,
            outbox: RefCell::new(Vec::new()),
            asks: RefCell::new(Vec::new()),
            awaited: RefCell::new(Vec::new()),
            step: Rc::clone(&self.step),
        });
        self.arrays.push(Rc::clone(&local) as Rc<dyn Delivery>);
        Coarray { local }
    }
}

/// A registration that every worker agreed on: the shared state of the new coarray.
pub(crate) struct Joined<T>(Arc<CoarrayQueues<T>>);

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("coarrays", &self.arrays.len())
            .field("step", &self.step.get())
            .finish()
    }
}

/// One worker's handle on a distributed array of an SPMD run, registered collectively with
/// [`Ctx::coarray`](crate::Ctx::coarray): every worker owns a local part of the same length,
/// reads and writes it freely between syncs, and reaches the other parts with [`put`] and
/// [`get`], which take effect at the next [`sync`](crate::Ctx::sync).
///
/// The superstep rules (BSPlib's, with the order of concurrent puts fixed):
///
/// - **Delivery at sync.** A `put` copies its source at once (the caller may reuse it) and
///   lands in the target's part during the next `sync`; a `get` reads the source's part during
///   the next `sync` and its [`Pending`] value is ready after it. Nothing arrives earlier.
/// - **Gets before puts.** A get reads the part as it is at the sync, including the owner's
///   local writes of the superstep but before every put of that superstep.
/// - **Concurrent puts.** Puts to the same place in one superstep are applied by sender index
///   and then in sending order: the highest-indexed sender's last put wins, the same way in
///   every run. Puts also overwrite the owner's local writes of the superstep.
/// - **No borrow across a sync.** [`local`] and [`local_mut`] return guards; `sync` panics if
///   one is alive.
///
/// The element type is `Copy`: delivery moves bits, runs no user code and so cannot unwind
/// half-way. A coarray lives until the end of the run (its handle may be dropped earlier; the
/// part stays registered and keeps receiving puts, as BSPlib's registrations do without
/// `bsp_pop_reg`).
///
/// There is no unbuffered (`bsp_hpput`) variant: an unbuffered put writes the remote part
/// while its owner may be reading or writing it through `local_mut`, which safe code cannot
/// rule out between syncs; waiting for the owner's sync is what the buffered put does, and
/// reading the source at the sync instead of at the call would need the source borrowed until
/// a sync that the borrow checker cannot see.
///
/// The handle belongs to its worker (it is neither `Send` nor `Sync`).
///
/// # Examples
///
/// A ring: every worker puts its index into the next worker's part and gets the previous
/// worker's first element.
///
/// ```
/// let pool = phase_pool::PhasePool::new(3);
/// let got = pool.run(|ctx| {
///     let (me, n) = (ctx.index(), ctx.num_threads());
///     let x = ctx.coarray::<u64>(2, 0);
///     x.local_mut()[0] = 10 * me as u64;
///     x.put((me + 1) % n, 1, &[me as u64]);
///     let first = x.get((me + n - 1) % n, 0..1);
///     assert_eq!(x.local()[1], 0, "nothing arrives before the sync");
///     ctx.sync();
///     (x.to_vec(), first.take())
/// });
/// assert_eq!(got[0], (vec![0, 2], vec![20]));
/// assert_eq!(got[1], (vec![10, 0], vec![0]));
/// ```
///
/// [`put`]: Coarray::put
/// [`get`]: Coarray::get
/// [`local`]: Coarray::local
/// [`local_mut`]: Coarray::local_mut
pub struct Coarray<T> {
    local: Rc<Local<T>>,
}

impl<T: Copy + Send + 'static> Coarray<T> {
    /// The length of every worker's part.
    #[must_use]
    pub fn len(&self) -> usize {
        self.local.shared.len
    }

    /// Whether the parts are empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of this worker's part.
    #[must_use]
    pub fn to_vec(&self) -> Vec<T> {
        self.local().to_vec()
    }

    /// This worker's part, for reading until the guard is dropped.
    ///
    /// # Panics
    ///
    /// If a [`local_mut`](Self::local_mut) guard is alive.
    #[must_use]
    pub fn local(&self) -> Ref<'_, [T]> {
        Ref::map(self.local.part.borrow(), |part| &**part)
    }

    /// This worker's part, for reading and writing until the guard is dropped.
    ///
    /// # Panics
    ///
    /// If another `local` or `local_mut` guard is alive.
    #[must_use]
    pub fn local_mut(&self) -> RefMut<'_, [T]> {
        RefMut::map(self.local.part.borrow_mut(), |part| &mut **part)
    }

    /// Copies `src` now; the next sync writes it into worker `to`'s part at
    /// `offset..offset + src.len()` (`bsp_put`).
    ///
    /// # Panics
    ///
    /// If `to` is not a worker of the run or the range is outside the part.
    #[track_caller]
    #[inline]
    pub fn put(&self, to: usize, offset: usize, src: &[T]) {
        let local = &*self.local;
        let shared = &*local.shared;
        assert!(
            to < shared.n,
            "coarray put to worker {to}: the run has {} workers",
            shared.n
        );
        assert!(
            offset
                .checked_add(src.len())
                .is_some_and(|end| end <= shared.len),
            "coarray put out of bounds: {} elements at offset {offset} into a part of length {}",
            src.len(),
            shared.len
        );
        if src.is_empty() {
            return;
        }
        let mut outbox = local.outbox.borrow_mut();
        if outbox.is_empty() {
            outbox.resize_with(shared.n, Puts::new);
        }
        let queue = &mut outbox[to];
        queue.spans.push((offset, src.len()));
        // One element, as a `bsp_put` of a word: a push, not a `memcpy` call.
        match src {
            [word] => queue.data.push(*word),
            _ => queue.data.extend_from_slice(src),
        }
    }

    /// Asks for the elements `range` of worker `from`'s part as they are at the next sync,
    /// before that sync's puts (`bsp_get`); the answer is ready after that sync.
    ///
    /// # Panics
    ///
    /// If `from` is not a worker of the run or `range` is outside the part.
    #[track_caller]
    pub fn get(&self, from: usize, range: Range<usize>) -> Pending<Vec<T>> {
        let local = &*self.local;
        let shared = &*local.shared;
        assert!(
            from < shared.n,
            "coarray get from worker {from}: the run has {} workers",
            shared.n
        );
        assert!(
            range.start <= range.end && range.end <= shared.len,
            "coarray get out of bounds: range {range:?} of a part of length {}",
            shared.len
        );
        let slot = Rc::new(RefCell::new(None));
        if range.is_empty() {
            *slot.borrow_mut() = Some(Vec::new());
            return Pending { slot };
        }
        let len = range.len();
        let mut asks = local.asks.borrow_mut();
        if asks.is_empty() {
            asks.resize_with(shared.n, Vec::new);
        }
        asks[from].push(range);
        local.awaited.borrow_mut().push(Awaited {
            source: from,
            len,
            slot: Rc::clone(&slot),
        });
        Pending { slot }
    }
}

impl<T> fmt::Debug for Coarray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coarray")
            .field("number", &self.local.number)
            .field("worker", &self.local.me)
            .field("len", &self.local.shared.len)
            .finish_non_exhaustive()
    }
}

/// The answer of a [`Coarray::get`], ready after the next [`sync`](crate::Ctx::sync).
#[must_use = "a get's answer is read with take() after the next sync"]
pub struct Pending<V> {
    slot: Rc<RefCell<Option<V>>>,
}

impl<V> Pending<V> {
    /// Whether the sync that answers the get has happened.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.slot.borrow().is_some()
    }

    /// The answer, or `None` before the sync that delivers it.
    #[must_use]
    pub fn try_take(self) -> Option<V> {
        self.slot.borrow_mut().take()
    }

    /// The answer.
    ///
    /// # Panics
    ///
    /// Before the sync that delivers it.
    pub fn take(self) -> V {
        self.try_take()
            .expect("Pending::take before the sync that delivers the get: call ctx.sync() first")
    }
}

impl<V> fmt::Debug for Pending<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// A loom model of delivery: two workers run four supersteps of puts and gets through the
/// shared queues, the parities and the relaxed stamps, with a plain barrier between the phases
/// of a sync (the pool's barriers have their own models), and see BSPlib's results in every
/// interleaving.
///
/// ```text
/// RUSTFLAGS="--cfg lockstep_loom" cargo test -p phase-pool --release --lib loom_
/// ```
#[cfg(all(test, lockstep_loom))]
mod loom_models {
    use super::*;
    use crate::sync::thread;
    use loom::sync::Condvar;

    /// A barrier of two from a mutex and a condition variable: the happens-before edge a sync
    /// round gives, and nothing more.
    struct Rendezvous {
        state: Mutex<(usize, u64)>,
        turned: Condvar,
    }

    impl Rendezvous {
        fn wait(&self) {
            let mut state = self.state.lock().unwrap();
            let generation = state.1;
            state.0 += 1;
            if state.0 == 2 {
                *state = (0, generation + 1);
                self.turned.notify_all();
            } else {
                while state.1 == generation {
                    state = self.turned.wait(state).unwrap();
                }
            }
        }
    }

    /// One worker's `ctx.sync` as `spmd.rs` runs it, with the mail left out.
    fn sync(registry: &Registry, rendezvous: &Rendezvous) {
        registry.before_sync();
        rendezvous.wait();
        if registry.deliver() {
            rendezvous.wait();
            registry.after_gets();
        }
    }

    fn worker(me: usize, shared: Arc<CoarrayQueues<u64>>, rendezvous: &Rendezvous) {
        let other = 1 - me;
        let mut registry = Registry::default();
        let array = registry.push(me, Joined(shared), 0);
        let value = |step: u64, worker: usize| 10 * step + worker as u64 + 1;
        // What each part holds, as this worker's puts and the other's make it.
        let (mut mine, mut theirs) = (vec![0; 2], vec![0; 2]);
        // Supersteps 1 and 2 have one round each, so a worker may publish superstep 2's puts
        // while the other still applies superstep 1's: the parities keep them apart. Gets in
        // supersteps 0 and 3 (one of each parity).
        for step in 0..4 {
            let slot = step as usize % 2;
            array.put(other, slot, &[value(step, me)]);
            let got = (step % 3 == 0).then(|| array.get(other, 0..2));
            sync(&registry, rendezvous);
            if let Some(got) = got {
                // A get reads the source as it was before the puts of its superstep.
                assert_eq!(got.take(), theirs, "worker {me}'s get in superstep {step}");
            }
            mine[slot] = value(step, other);
            theirs[slot] = value(step, me);
            assert_eq!(array.to_vec(), mine, "worker {me} after superstep {step}");
        }
    }

    #[test]
    fn loom_puts_and_gets_arrive_at_the_sync() {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(|| {
            let shared = Arc::new(CoarrayQueues::<u64>::new(2, 2));
            let rendezvous = Arc::new(Rendezvous {
                state: Mutex::new((0, 0)),
                turned: Condvar::new(),
            });
            let peer = {
                let (shared, rendezvous) = (Arc::clone(&shared), Arc::clone(&rendezvous));
                thread::spawn(move || worker(1, shared, &rendezvous))
            };
            worker(0, shared, &rendezvous);
            peer.join().unwrap();
        });
    }
}
