//! SPMD / BSP programs: every worker runs the same closure with a [`Ctx`] for collectives and
//! messages.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::ops::Range;
use std::panic::resume_unwind;
use std::sync::OnceLock;
use std::sync::PoisonError;
use std::time::Instant;

use barrier_core::{Barrier, Seat};

use crate::coarray::{Coarray, Registration, Registry};

use crate::pool::PhasePool;
use crate::profile::Mark;
use crate::profile::Recorder;
use crate::raw::exchange::{Arriving, Broken, Exchange, Port, Round};
use crate::raw::handoff::{Aborted, Gather};
use crate::raw::report::{Report, Reporter};
use crate::schedule::static_block;
use crate::sync::Mutex;

/// A value published in a collective.
type Value = Box<dyn Any + Send + Sync>;

/// Which collective a worker entered; every worker must enter the same ones in the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Sync,
    /// A split-phase barrier ([`Ctx::arrive`]).
    Arrive,
    Reduce,
    Broadcast {
        root: usize,
    },
    Single,
    /// A coarray registration.
    Coarray,
    /// The worker's closure returned.
    End,
}

/// One worker's entry in a collective round.
struct Entry {
    op: Op,
    value: Option<Value>,
    /// Whether this worker posted messages in this round (only in `Op::Sync`).
    sent: bool,
}

/// The message boxes of one run: `boxes[parity][from * n + to]`, where `parity` alternates with
/// each `sync`. A sender fills its boxes of parity `s % 2` before the barrier of sync `s`, the
/// receiver empties them after it; the sender touches that parity again only at sync `s + 2`,
/// after the barrier of sync `s + 1`, which the receiver reaches only once it has emptied them.
///
/// The boxes are made by the first sender of the run: a run that sends no messages allocates
/// none. A receiver looks at boxes only after a sync whose round says that someone sent, so
/// they exist by then (made before that sender's arrival at the barrier).
struct Mail<M> {
    n: usize,
    boxes: OnceLock<[MailBoxes<M>; 2]>,
}

/// The `n * n` boxes of one parity.
type MailBoxes<M> = Box<[Mutex<Vec<M>>]>;

impl<M> Mail<M> {
    fn new(n: usize) -> Mail<M> {
        Mail {
            n,
            boxes: OnceLock::new(),
        }
    }

    /// The boxes of `parity`.
    fn boxes(&self, parity: usize) -> &[Mutex<Vec<M>>] {
        let n = self.n;
        let boxes = || (0..n * n).map(|_| Mutex::new(Vec::new())).collect();
        &self.boxes.get_or_init(|| [boxes(), boxes()])[parity]
    }
}

/// What SPMD runs keep from one run to the next: the exchange of collective entries (its
/// seated barrier, seats and slots), so that a run allocates none of it.
pub(crate) struct Collectives {
    exchange: Exchange<Entry>,
    /// Runs started so far (the number of the current or last one).
    runs: Cell<u64>,
}

impl Collectives {
    /// The collectives of a team waiting on `barrier` through `seats`, of which it takes the
    /// only handles.
    pub(crate) fn new(barrier: Barrier, seats: Vec<Seat>) -> Collectives {
        Collectives {
            // SAFETY: the builder built `barrier` for us and kept no other handle, and nobody
            // waits on it yet.
            exchange: unsafe { Exchange::new(barrier, seats) },
            runs: Cell::new(0),
        }
    }
}

impl fmt::Debug for Collectives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collectives")
            .field("exchange", &self.exchange)
            .field("runs", &self.runs.get())
            .finish()
    }
}

/// Aborts the exchange if the worker's closure unwinds, so the others leave their collectives.
struct AbortRunOnUnwind<'a>(&'a Exchange<Entry>);

impl Drop for AbortRunOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A worker's handle on an SPMD run: its index, the collectives, and BSP messages of type `M`.
///
/// Every collective ([`sync`](Ctx::sync), [`reduce`](Ctx::reduce),
/// [`broadcast`](Ctx::broadcast), [`single`](Ctx::single)) is a barrier: every worker must call
/// the same collectives in the same order. A worker that calls another collective, or returns
/// while the others are still in one, makes every worker panic with a message naming the
/// mismatch (instead of hanging).
///
/// Messages follow BSPlib: [`send`](Ctx::send) queues a message, the next [`sync`](Ctx::sync)
/// delivers it, and [`messages`](Ctx::messages) then holds everything sent to this worker
/// before that sync, ordered by sender index, then by sending order. Each `sync` replaces the
/// delivered messages; messages sent after the last `sync` are dropped. Only `sync` delivers
/// messages; the other collectives leave them alone.
///
/// # Examples
///
/// Two supersteps: each worker sums its block of the data, worker 0 alone picks a scale, every
/// worker then normalises its partial sum with it.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let pool = phase_pool::PhasePool::new(3);
/// let data: Vec<u64> = (1..=30).collect();
/// let picked = AtomicUsize::new(0);
/// let shares = pool.run(|ctx| {
///     let local: u64 = data[ctx.block(data.len())].iter().sum();
///     ctx.sync(); // superstep boundary
///     let total = ctx.reduce(local, |a, b| a + b);
///     let scale = ctx.single(|| {
///         picked.fetch_add(1, Ordering::Relaxed);
///         total as f64
///     });
///     let from_root = ctx.broadcast(0, ctx.index() + 100);
///     (local as f64 / scale, from_root)
/// });
/// assert_eq!(picked.load(Ordering::Relaxed), 1, "single runs once");
/// assert_eq!(shares.iter().map(|s| s.0).sum::<f64>(), 1.0);
/// assert!(shares.iter().all(|s| s.1 == 100));
/// ```
pub struct Ctx<'a, M = ()> {
    index: usize,
    threads: usize,
    port: Port<'a, Entry>,
    mail: &'a Mail<M>,
    /// Messages queued since the last sync, by destination (empty until the first `send`).
    outbox: Vec<Vec<M>>,
    /// Messages delivered by the last sync.
    inbox: Vec<M>,
    syncs: u64,
    /// The coarrays this worker registered (empty until the first `coarray`).
    coarrays: Registry,
    /// When this worker started the run, for `time`.
    started: Instant,
    /// Where this worker's collectives are timed, when the pool keeps a profile.
    recorder: Option<&'a Recorder>,
}

impl<'a, M> Ctx<'a, M> {
    fn new(
        index: usize,
        threads: usize,
        port: Port<'a, Entry>,
        mail: &'a Mail<M>,
        recorder: Option<&'a Recorder>,
    ) -> Self {
        Ctx {
            index,
            threads,
            port,
            mail,
            // Made by the first `send`: a worker that sends nothing allocates nothing.
            outbox: Vec::new(),
            inbox: Vec::new(),
            syncs: 0,
            coarrays: Registry::default(),
            started: Instant::now(),
            recorder,
        }
    }

    /// Passes a collective with this worker's entry made by `entry` (see
    /// [`Port::exchange_with`]), timed in the profile when the pool keeps one.
    fn exchange(
        &mut self,
        entry: impl FnOnce(Option<Entry>) -> Entry,
    ) -> Result<Round<'_, Entry>, Broken> {
        let arrived = self.recorder.map(Recorder::mark);
        let round = self.port.exchange_with(entry);
        if let (Some(recorder), Some(arrived)) = (self.recorder, arrived) {
            recorder.sync(self.index, &arrived);
        }
        round
    }

    /// This worker's index in `0..num_threads()`; the calling thread is worker 0.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of workers in the run.
    #[must_use]
    pub fn num_threads(&self) -> usize {
        self.threads
    }

    /// This worker's contiguous share of `0..len`, as [`Schedule::Static`](crate::Schedule)
    /// deals it: the blocks of all workers partition `0..len` in worker order.
    #[must_use]
    pub fn block(&self, len: usize) -> Range<usize> {
        static_block(self.index, self.threads, len)
    }

    /// Enters a collective; a broken round unwinds this worker (another one panicked).
    fn collective(&mut self, op: Op, value: Option<Value>, sent: bool) -> Round<'_, Entry> {
        self.collective_with(op, sent, |_| value)
    }

    /// Like `collective`, with the value made from this worker's value of two rounds ago (see
    /// [`Port::exchange_with`]).
    fn collective_with(
        &mut self,
        op: Op,
        sent: bool,
        value: impl FnOnce(Option<Value>) -> Option<Value>,
    ) -> Round<'_, Entry> {
        let me = self.index;
        let made = self.exchange(|old| Entry {
            op,
            value: value(old.and_then(|entry| entry.value)),
            sent,
        });
        match made {
            Ok(round) => {
                check_same_op(&round, me, op);
                round
            }
            // Not a new panic: the real one resumes in the caller of `run`.
            Err(Broken) => resume_unwind(Box::new(Aborted)),
        }
    }

    /// Waits until every worker has called `sync` (a barrier), and delivers the messages sent
    /// before it.
    ///
    /// Everything a worker wrote before its `sync` is visible to every worker after theirs.
    ///
    /// # Examples
    ///
    /// Each worker fills its own slot, then reads everyone's after the superstep boundary (see
    /// [`send`](Ctx::send) and [`messages`](Ctx::messages) for the messages it delivers):
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = phase_pool::PhasePool::new(3);
    /// let slots: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
    /// let seen = pool.run(|ctx| {
    ///     slots[ctx.index()].store(ctx.index() + 1, Ordering::Relaxed);
    ///     ctx.sync();
    ///     slots.iter().map(|slot| slot.load(Ordering::Relaxed)).sum::<usize>()
    /// });
    /// assert_eq!(seen, [1 + 2 + 3; 3]);
    /// ```
    pub fn sync(&mut self) {
        let n = self.threads;
        let me = self.index;
        let parity = (self.syncs % 2) as usize;
        let mail = self.mail;
        if self.coarrays.len() > 0 {
            self.coarrays.before_sync();
        }
        let mut sent = false;
        for (to, queued) in self.outbox.iter_mut().enumerate() {
            if !queued.is_empty() {
                sent = true;
                let mut slot = mail.boxes(parity)[me * n + to]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                slot.append(queued);
            }
        }
        let round = self.collective(Op::Sync, None, sent);
        let senders: Vec<usize> = (0..n).filter(|&from| round.get(from).sent).collect();
        self.inbox.clear();
        for from in senders {
            let mut slot = mail.boxes(parity)[from * n + me]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.inbox.append(&mut slot);
        }
        if self.coarrays.len() > 0 && self.coarrays.deliver() {
            // The gets of this superstep were answered: a second round before reading them.
            let _ = self.collective(Op::Sync, None, false);
            self.coarrays.after_gets();
        }
        self.syncs += 1;
    }

    /// Arrives at a barrier now and waits for the others later (split-phase): returns a
    /// [`CtxArrival`] whose [`wait`](CtxArrival::wait) completes the barrier. Work between the
    /// two overlaps the others' arrival: compute what the neighbours need, arrive, compute the
    /// interior, wait.
    ///
    /// Everything a worker wrote before its `arrive` is visible to every worker after their
    /// `wait`. A collective like [`sync`](Ctx::sync) (every worker calls `arrive` and `wait` at
    /// the same point of its program), but a barrier only: it delivers no messages and no
    /// coarray puts, which stay queued for the next `sync`. While the arrival lives the worker
    /// can read its `index`, `block` and `time`, but call no other collective (it borrows the
    /// `Ctx`); dropping it waits.
    ///
    /// On a team of 2 (the central barrier) and on a tree, the others are released as soon as
    /// the last worker arrives; on a dissemination barrier (picked for large pinned teams) the
    /// rounds after the first need every worker's `wait`.
    ///
    /// # Panics
    ///
    /// If this worker's previous arrival is still open (wait for it first). Unwinds this worker
    /// if another one panicked (the run then resumes that panic).
    ///
    /// # Examples
    ///
    /// Each worker publishes a value, arrives, does its own work, then reads its neighbour's:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = phase_pool::PhasePool::new(3);
    /// let edges: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
    /// let seen = pool.run(|ctx| {
    ///     let me = ctx.index();
    ///     edges[me].store(me + 1, Ordering::Relaxed);
    ///     let arrival = ctx.arrive();
    ///     let interior: usize = (0..1000).sum(); // needs nobody else
    ///     arrival.wait();
    ///     let right = edges[(me + 1) % 3].load(Ordering::Relaxed);
    ///     (interior, right)
    /// });
    /// assert_eq!(seen, [(499_500, 2), (499_500, 3), (499_500, 1)]);
    /// ```
    pub fn arrive(&self) -> CtxArrival<'_> {
        let arrived = self.recorder.map(Recorder::mark);
        let arriving = self.port.arrive_with(|_| Entry {
            op: Op::Arrive,
            value: None,
            sent: false,
        });
        match arriving {
            Ok(arriving) => CtxArrival {
                arriving,
                index: self.index,
                recorder: self.recorder.zip(arrived),
            },
            // Not a new panic: the real one resumes in the caller of `run`.
            Err(Broken) => resume_unwind(Box::new(Aborted)),
        }
    }

    /// Registers this worker's part of a distributed array of `len` elements per worker, each
    /// `init` (BSPlib's `bsp_push_reg`, with the memory made here). A collective, like `sync`:
    /// every worker registers the same coarrays in the same order, with the same element type
    /// and length. See [`Coarray`] for the superstep rules of `put` and `get`, and
    /// [writing a BSP algorithm](crate#writing-a-bsp-algorithm).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(2);
    /// let got = pool.run(|ctx| {
    ///     let x = ctx.coarray::<f64>(4, 0.0);
    ///     x.local_mut()[0] = ctx.index() as f64 + 1.0;
    ///     x.put(1 - ctx.index(), 3, &[x.local()[0]]);
    ///     ctx.sync();
    ///     x.to_vec()
    /// });
    /// assert_eq!(got, [vec![1.0, 0.0, 0.0, 2.0], vec![2.0, 0.0, 0.0, 1.0]]);
    /// ```
    ///
    /// # Panics
    ///
    /// On every worker, if the workers register different element types or lengths (naming
    /// both registrations), or if another worker is in another collective.
    #[track_caller]
    pub fn coarray<T: Copy + Send + 'static>(&mut self, len: usize, init: T) -> Coarray<T> {
        let site = std::panic::Location::caller();
        let (me, number) = (self.index, self.coarrays.len());
        let proposal = Registration::new::<T>(me, self.threads, len, site);
        let round = self.collective(Op::Coarray, Some(Box::new(proposal)), false);
        let proposals = (0..round.len()).map(|worker| {
            let value = round.get(worker).value.as_ref();
            value.and_then(|value| value.downcast_ref::<Registration>())
        });
        let joined = Registry::check::<T>(me, number, proposals, len, site);
        self.coarrays.push(me, joined, init)
    }

    /// Seconds since this worker started the run (BSPlib's `bsp_time`).
    #[must_use]
    pub fn time(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Combines one value from every worker, `op(..op(op(v0, v1), v2).., v_last)` in worker
    /// order, and returns the result to every worker.
    ///
    /// Every worker computes the fold itself from the same values in the same order, so every
    /// worker gets the same result as long as `op` is deterministic. One barrier.
    ///
    /// # Examples
    ///
    /// A fold that is not commutative shows the worker order:
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let joined = pool.run(|ctx| ctx.reduce(ctx.index().to_string(), |a, b| a + &b));
    /// assert_eq!(joined, ["012", "012", "012"]);
    /// ```
    ///
    /// See also [the example on `Ctx`](Ctx#examples).
    ///
    /// # Panics
    ///
    /// If the workers pass values of different types; resumes a panic of `op`.
    pub fn reduce<T, F>(&mut self, value: T, mut op: F) -> T
    where
        T: Clone + Send + Sync + 'static,
        F: FnMut(T, T) -> T,
    {
        // The box of two rounds ago holds a `T` in a loop of reductions: reuse it.
        let round = self.collective_with(Op::Reduce, false, |old| Some(boxed_reusing(old, value)));
        let mut acc = value_of::<T>(&round, 0, "reduce").clone();
        for worker in 1..round.len() {
            acc = op(acc, value_of::<T>(&round, worker, "reduce").clone());
        }
        acc
    }

    /// Returns worker `root`'s `value` to every worker (the other workers' values are dropped).
    /// One barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let got = pool.run(|ctx| ctx.broadcast(2, format!("from worker {}", ctx.index())));
    /// assert_eq!(got, ["from worker 2"; 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `root >= num_threads()`, if the workers name different roots, or if they pass values
    /// of different types.
    pub fn broadcast<T>(&mut self, root: usize, value: T) -> T
    where
        T: Clone + Send + Sync + 'static,
    {
        assert!(
            root < self.threads,
            "broadcast root {root} out of range: the run has {} workers",
            self.threads
        );
        let is_root = self.index == root;
        let round = self.collective_with(Op::Broadcast { root }, false, |old| {
            is_root.then(|| boxed_reusing(old, value))
        });
        value_of::<T>(&round, root, "broadcast").clone()
    }

    /// Worker 0 runs `f` while the others wait; then every worker gets its result. One barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let got = pool.run(|ctx| {
    ///     let me = ctx.index();
    ///     ctx.single(|| format!("chosen by worker {me}"))
    /// });
    /// assert_eq!(got, ["chosen by worker 0"; 3]);
    /// ```
    ///
    /// See also [the example on `Ctx`](Ctx#examples), where `f` runs once per call.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f` (in the caller of [`run`](PhasePool::run); the other workers
    /// leave).
    pub fn single<R, F>(&mut self, f: F) -> R
    where
        R: Clone + Send + Sync + 'static,
        F: FnOnce() -> R,
    {
        let value = (self.index == 0).then(f);
        let round = self.collective_with(Op::Single, false, |old| {
            value.map(|value| boxed_reusing(old, value))
        });
        value_of::<R>(&round, 0, "single").clone()
    }

    /// Queues `message` for worker `to`; the next [`sync`](Ctx::sync) delivers it.
    ///
    /// # Examples
    ///
    /// Two workers swap greetings; nothing arrives before the `sync`:
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(2);
    /// let got = pool.run_bsp::<String, _, _>(|ctx| {
    ///     let other = 1 - ctx.index();
    ///     ctx.send(other, format!("hello from {}", ctx.index()));
    ///     let before = ctx.messages().len();
    ///     ctx.sync();
    ///     (before, ctx.take_messages())
    /// });
    /// assert_eq!(got[0], (0, vec!["hello from 1".to_owned()]));
    /// assert_eq!(got[1], (0, vec!["hello from 0".to_owned()]));
    /// ```
    ///
    /// See also [the ring on `run_bsp`](PhasePool::run_bsp).
    ///
    /// # Panics
    ///
    /// If `to >= num_threads()`.
    pub fn send(&mut self, to: usize, message: M) {
        assert!(
            to < self.threads,
            "send to worker {to}: the run has {} workers",
            self.threads
        );
        if self.outbox.is_empty() {
            self.outbox.resize_with(self.threads, Vec::new);
        }
        self.outbox[to].push(message);
    }

    /// The messages delivered to this worker by the last [`sync`](Ctx::sync), by sender index
    /// and then in sending order.
    ///
    /// # Examples
    ///
    /// Every worker sends two messages to worker 0 (itself included); the next `sync` sends
    /// nothing and so delivers nothing:
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let got = pool.run_bsp::<(usize, u32), _, _>(|ctx| {
    ///     for k in 0..2 {
    ///         ctx.send(0, (ctx.index(), k));
    ///     }
    ///     ctx.sync();
    ///     let delivered = ctx.messages().to_vec();
    ///     ctx.sync();
    ///     (delivered, ctx.messages().len())
    /// });
    /// assert_eq!(got[0].0, [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]);
    /// assert!(got[1].0.is_empty() && got[2].0.is_empty());
    /// assert!(got.iter().all(|(_, later)| *later == 0), "each sync replaces the messages");
    /// ```
    #[must_use]
    pub fn messages(&self) -> &[M] {
        &self.inbox
    }

    /// Takes the messages delivered by the last [`sync`](Ctx::sync), leaving none.
    pub fn take_messages(&mut self) -> Vec<M> {
        std::mem::take(&mut self.inbox)
    }

    /// The closing round: catches a worker that returns while others are still in a collective.
    fn finish(mut self) {
        // A broken round means another worker panicked; its panic is the one reported.
        let me = self.index;
        if let Ok(round) = self.exchange(|_| Entry {
            op: Op::End,
            value: None,
            sent: false,
        }) {
            check_same_op(&round, me, Op::End);
        }
    }
}

/// `value` in a box: `old`'s allocation if it holds a `T`, else a new one.
fn boxed_reusing<T: Any + Send + Sync>(old: Option<Value>, value: T) -> Value {
    if let Some(mut boxed) = old {
        if let Some(slot) = boxed.downcast_mut::<T>() {
            *slot = value;
            return boxed;
        }
    }
    Box::new(value)
}

/// A worker's arrival at a split-phase barrier of an SPMD run ([`Ctx::arrive`]), waited for by
/// [`wait`](CtxArrival::wait) or by its drop.
///
/// Forgetting one (`std::mem::forget`) leaves the worker counted in and its round open: its
/// next collective panics before it writes anything, and the pool's barrier seat stays open, so
/// later runs fail too, as a forgotten `MutexGuard` leaves its mutex locked.
#[must_use = "the barrier completes when the arrival is waited for"]
pub struct CtxArrival<'c> {
    arriving: Arriving<'c, Entry>,
    index: usize,
    recorder: Option<(&'c Recorder, Mark)>,
}

impl CtxArrival<'_> {
    /// Waits until every worker has arrived.
    ///
    /// # Panics
    ///
    /// If another worker is in a different collective (as [`Ctx::sync`]); unwinds this worker
    /// if another one panicked (the run then resumes that panic).
    pub fn wait(self) {
        let index = self.index;
        let recorder = self.recorder;
        match self.arriving.wait() {
            Ok(round) => check_same_op(&round, index, Op::Arrive),
            Err(Broken) => resume_unwind(Box::new(Aborted)),
        }
        if let Some((recorder, arrived)) = recorder {
            recorder.sync(index, &arrived);
        }
    }

    /// Whether every worker has arrived, so [`wait`](CtxArrival::wait) returns at once.
    #[must_use]
    pub fn is_released(&self) -> bool {
        self.arriving.is_released()
    }
}

impl fmt::Debug for CtxArrival<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtxArrival")
            .field("worker", &self.index)
            .field("released", &self.is_released())
            .finish()
    }
}

fn check_same_op(round: &Round<'_, Entry>, me: usize, op: Op) {
    for worker in 0..round.len() {
        let other = round.get(worker).op;
        if other != op {
            panic!(
                "mismatched collectives: worker {me} is in {} while worker {worker} is in {}; \
                 every worker must call the same collectives in the same order",
                describe(op),
                describe(other)
            );
        }
    }
}

fn describe(op: Op) -> String {
    match op {
        Op::Sync => "sync()".into(),
        Op::Arrive => "arrive()".into(),
        Op::Reduce => "reduce()".into(),
        Op::Broadcast { root } => format!("broadcast(root = {root})"),
        Op::Single => "single()".into(),
        Op::Coarray => "coarray()".into(),
        Op::End => "the end of the run (its closure returned)".into(),
    }
}

fn value_of<'r, T: 'static>(round: &Round<'r, Entry>, worker: usize, what: &str) -> &'r T {
    round
        .get(worker)
        .value
        .as_ref()
        .and_then(|value| value.downcast_ref::<T>())
        .unwrap_or_else(|| {
            panic!(
                "{what}: worker {worker} passed a value of another type than {}",
                std::any::type_name::<T>()
            )
        })
}

/// SPMD and BSP runs.
impl PhasePool {
    /// Runs `f` on every worker (SPMD) and returns the results in worker order.
    ///
    /// `f` gets a [`Ctx`] with the worker's index and the collectives (`sync`, `reduce`,
    /// `broadcast`, `single`). For messages between workers use [`run_bsp`](Self::run_bsp).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(4);
    /// let data: Vec<f64> = (0..100).map(f64::from).collect();
    /// let out = pool.run(|ctx| {
    ///     let local: f64 = data[ctx.block(data.len())].iter().sum();
    ///     let total = ctx.reduce(local, |a, b| a + b);
    ///     let first = ctx.broadcast(0, ctx.index() * 10);
    ///     (ctx.index(), total, first)
    /// });
    /// assert_eq!(out.len(), 4);
    /// for (i, (index, total, first)) in out.into_iter().enumerate() {
    ///     assert_eq!((index, total, first), (i, 4950.0, 0));
    /// }
    /// ```
    ///
    /// # Panics
    ///
    /// If any worker panics, the others leave their collectives, and once all have stopped the
    /// first panic resumes here; the pool stays usable. Mismatched collectives panic (see
    /// [`Ctx`]).
    pub fn run<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(&mut Ctx<'_>) -> R + Sync,
    {
        self.run_bsp::<(), R, F>(f)
    }

    /// [`run`](Self::run) with BSP messages of type `M` ([`Ctx::send`], delivered by the next
    /// [`Ctx::sync`], read with [`Ctx::messages`]).
    ///
    /// # Examples
    ///
    /// A ring shift: every worker sends its index to the next one.
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let got = pool.run_bsp::<usize, _, _>(|ctx| {
    ///     let next = (ctx.index() + 1) % ctx.num_threads();
    ///     ctx.send(next, ctx.index());
    ///     ctx.sync();
    ///     ctx.messages().to_vec()
    /// });
    /// assert_eq!(got, [vec![2], vec![0], vec![1]]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`run`](Self::run).
    pub fn run_bsp<M, R, F>(&self, f: F) -> Vec<R>
    where
        M: Send,
        R: Send,
        F: Fn(&mut Ctx<'_, M>) -> R + Sync,
    {
        let n = self.num_threads();
        let Collectives { exchange, runs } = self.collectives();
        let run = runs.get() + 1;
        runs.set(run);
        // SAFETY: runs never overlap (the pool is not `Sync` and the leader refuses a nested
        // phase), and the previous run's phase ended, so its ports and their uses happen before
        // this call (and, through this phase's publication, before the ports taken below).
        unsafe { exchange.begin() };
        let mail = Mail::<M>::new(n);
        let recorder = self.recorder();
        let run_worker = |index| {
            let guard = AbortRunOnUnwind(exchange);
            // SAFETY: as for `begin` above; this run numbers its ports `run`.
            let port = unsafe { exchange.port(index, run) };
            let mut ctx = Ctx::new(index, n, port, &mail, recorder);
            let result = f(&mut ctx);
            ctx.finish();
            std::mem::forget(guard);
            result
        };
        // Each worker's result travels to the caller in its report (boxed if over-aligned).
        let collect = |mut results: Vec<R>, result| {
            results.push(result);
            results
        };
        let results = if Report::accepts::<R>() {
            let job = |index, reporter: Reporter<'_, R>| reporter.push(run_worker(index));
            let no_tail = |_| std::iter::empty();
            self.phase_folding(
                Gather::Everyone,
                job,
                Vec::with_capacity(n),
                collect,
                no_tail,
            )
        } else {
            let job = |index, reporter: Reporter<'_, Box<R>>| {
                reporter.push(Box::new(run_worker(index)));
            };
            let unbox = |results, result: Box<R>| collect(results, *result);
            let no_tail = |_| std::iter::empty();
            self.phase_folding(Gather::Everyone, job, Vec::with_capacity(n), unbox, no_tail)
        };
        debug_assert_eq!(results.len(), n, "every worker reports its result");
        results
    }
}

impl<M> fmt::Debug for Ctx<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("index", &self.index)
            .field("num_threads", &self.threads)
            .field("syncs", &self.syncs)
            .field("messages", &self.inbox.len())
            .finish_non_exhaustive()
    }
}
