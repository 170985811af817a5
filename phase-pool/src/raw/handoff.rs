//! The phase hand-off: the leader (worker 0, the calling thread) publishes a borrowed job, the
//! workers run it, and the leader returns only after every worker that started it has
//! finished it. A phase may need every worker (an SPMD run), or only those that start it in
//! time (a data-parallel phase, whose work the others take over): the leader then skips the
//! followers that have not started once its own part is done.
//!
//! The protocol (one *release* from the leader to every follower and one *gather* back, not a
//! barrier passed twice), its orderings and the races it rules out are written once, in the
//! crate's protocol document (`phase-pool/src/README.md`, part of the crate docs: "Parties
//! and shared state" to "Races considered").
//!
//! A job of up to 104 bytes is moved into the line that carries `phase` (see [`Start`]), so a
//! follower finds the job's captures where it reads the phase number. A worker leaves its
//! results in the [`Report`] that shares the line of its `done` word, so the leader's gather
//! brings the first few along.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::mem::{align_of, size_of, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::PoisonError;

use barrier_core::{Signal, WaitPolicy};
use crossbeam_utils::CachePadded;

use crate::profile::{PhaseKind, Recorder};
use crate::raw::report::Report;
use crate::sync::{Arc, AtomicBool, AtomicU64, Mutex, Ordering, UnsafeCell};

/// A panic payload, as `catch_unwind` returns it.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// The panic payload of a worker that left a phase because another worker's panic aborted it.
/// It is never shown to users when the real panic is known (see [`InPhase::run`]).
#[derive(Debug)]
pub(crate) struct Aborted;

/// A type-erased `&F` where `F: Fn(usize, &Report) + Sync`: a data pointer and the
/// monomorphised function that calls it (rayon's `JobRef` pattern).
#[derive(Clone, Copy)]
struct JobRef {
    data: *const (),
    call: unsafe fn(*const (), usize, &Report),
}

// SAFETY: a `JobRef` stands for a `&F` with `F: Sync`, and `&F` is `Send` and `Sync` exactly
// when `F: Sync`. Its lifetime is handled by the hand-off protocol (see `Follower::serve`).
unsafe impl Send for JobRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for JobRef {}

impl JobRef {
    fn new<F: Fn(usize, &Report) + Sync>(job: &F) -> JobRef {
        /// # Safety
        ///
        /// `data` comes from a `&F` in `JobRef::new` whose borrow is still live.
        unsafe fn call<F: Fn(usize, &Report) + Sync>(
            data: *const (),
            worker: usize,
            report: &Report,
        ) {
            // SAFETY: `data` was made from a live `&F` (this function's contract).
            let job = unsafe { &*data.cast::<F>() };
            job(worker, report);
        }
        JobRef {
            data: (job as *const F).cast(),
            call: call::<F>,
        }
    }

    /// Runs the job as `worker`, with the worker's report.
    ///
    /// # Safety
    ///
    /// The `&F` this `JobRef` was made from is still live.
    unsafe fn execute(self, worker: usize, report: &Report) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.call)(self.data, worker, report) }
    }
}

/// What the leader and the followers share. Each group of fields is on its own cache line, so
/// that a phase moves the `start` line from the leader to each follower and each follower's
/// `done` line to the leader, and little else.
struct HandoffLines {
    start: CachePadded<Start>,
    /// Where the followers wait for `start.phase` to move.
    started: CachePadded<Signal>,
    /// `done[i]`: worker `i`'s line of the gather.
    done: Box<[CachePadded<Done>]>,
    /// Where the leader waits for the followers' `done`.
    finished: CachePadded<Signal>,
    failure: CachePadded<Failure>,
}

/// The leader's publication, read by every follower at the start of every phase: 128 bytes,
/// the padding's whole span.
#[repr(C)]
struct Start {
    /// The number of the last phase published (phases count from 1). Written only by the
    /// leader, after `job`.
    phase: AtomicU64,
    /// The published job: `Some` for a phase, `None` to shut the followers down. Written only by
    /// the leader, when every follower has finished the previous phase; read by followers
    /// between seeing `phase` move and storing their `done`.
    job: UnsafeCell<Option<JobRef>>,
    /// Where a small job itself lives during its phase (`job` then points here), so that a
    /// follower finds the job's captures on the line it reads `phase` from instead of missing
    /// on the leader's stack. Accessed under the same rules as `job` (which stands for it in
    /// the loom model).
    inline: InlineJob,
}

// `Start` fills the padding's span and no more (the padding is 128 bytes where it matters;
// loom's atomics and cells are larger).
#[cfg(not(lockstep_loom))]
const _: () = assert!(size_of::<Start>() <= 128);

/// A worker's line of the gather: 128 bytes, the padding's whole span.
#[repr(C)]
struct Done {
    /// [`joined(p)`](joined) while the worker runs phase `p`, [`finished(p)`](finished) once
    /// it has finished it or the leader has skipped it for it (followers only: the leader's is
    /// unused). Written by the worker, and by the leader's skip.
    state: AtomicU64,
    /// What the worker leaves for the leader in a phase, on the line the gather reads.
    report: Report,
}

#[cfg(not(lockstep_loom))]
const _: () = assert!(size_of::<Done>() <= 128);

/// A follower's [`Done::state`] while it runs phase `phase`.
const fn joined(phase: u64) -> u64 {
    2 * phase
}

/// A follower's [`Done::state`] once phase `phase` is over for it.
const fn finished(phase: u64) -> u64 {
    2 * phase + 1
}

/// Which followers a phase's leader waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gather {
    /// Every follower: the job needs all of them (an SPMD run).
    Everyone,
    /// The followers that started the phase before the leader's part ended: the leader's part
    /// leaves nothing for the others to do (a data-parallel phase whose plan hands a late
    /// worker's share to whoever is there).
    Started,
}

/// Room for a job of up to `INLINE_JOB_WORDS` words.
struct InlineJob(std::cell::UnsafeCell<MaybeUninit<[usize; INLINE_JOB_WORDS]>>);

/// Words of [`InlineJob`]: what is left of 128 bytes after `phase` and `job`.
const INLINE_JOB_WORDS: usize = (128 - 8 - 2 * size_of::<usize>()) / size_of::<usize>();

impl InlineJob {
    /// Whether a job of type `F` fits.
    const fn fits<F>() -> bool {
        size_of::<F>() <= size_of::<[usize; INLINE_JOB_WORDS]>()
            && align_of::<F>() <= align_of::<[usize; INLINE_JOB_WORDS]>()
    }

    /// Moves `job` in and returns where it now lives.
    ///
    /// # Safety
    ///
    /// `F` [fits](Self::fits), no other thread accesses the buffer until it is published, and
    /// the job that was there before was dropped or given up.
    unsafe fn put<F>(&self, job: F) -> *mut F {
        let place = self.0.get().cast::<F>();
        // SAFETY: `place` is valid and aligned for an `F` (it fits), and unused (the contract).
        unsafe { place.write(job) };
        place
    }
}

/// The first panic of the current phase.
struct Failure {
    /// The payload (a real one wins over [`Aborted`]).
    panic: Mutex<Option<Panic>>,
    /// Whether `panic` may hold a payload: set by [`HandoffLines::record`], cleared by the leader
    /// after the gather. Lets the leader skip locking `panic` after a phase without panics.
    panicked: AtomicBool,
}

// SAFETY: `job` and `inline` are the only fields that are not `Sync`; their accesses are
// ordered by `phase` and `done` as described on the fields and in the module docs, so no two
// accesses race; the `JobRef` in `job` may be used from any thread (see its `Send`/`Sync`
// impls), and so may the `F: Sync` in `inline`, which only the leader writes and drops.
unsafe impl Sync for HandoffLines {}
// SAFETY: as for `Sync`; every field may be dropped from any thread.
unsafe impl Send for HandoffLines {}

impl HandoffLines {
    /// Keeps the first panic of a phase; a real panic replaces an [`Aborted`] marker, which a
    /// worker may record before the panic that caused it has finished unwinding.
    fn record(&self, panic: Panic) {
        let failure = &self.failure;
        let mut slot = failure.panic.lock().unwrap_or_else(PoisonError::into_inner);
        let replace = match &*slot {
            None => true,
            Some(old) => old.is::<Aborted>() && !panic.is::<Aborted>(),
        };
        let dropped = if replace {
            slot.replace(panic)
        } else {
            Some(panic)
        };
        // Relaxed: the leader reads the flag after the gather, which orders this store (and
        // the payload under the mutex) before its read (this worker's `done` store follows).
        failure.panicked.store(true, Ordering::Relaxed);
        drop(slot);
        // Dropped outside the lock: a payload's destructor is user code.
        if let Some(dropped) = dropped {
            drop_payload(dropped);
        }
    }

    /// The phase's first panic. Called by the leader after the gather, when no worker can
    /// record one.
    fn take_panic(&self) -> Option<Panic> {
        let failure = &self.failure;
        // Relaxed (both): the gather orders every `record` of this phase before the load, and
        // the next publication orders the clearing store before the next phase's records.
        if !failure.panicked.load(Ordering::Relaxed) {
            return None;
        }
        failure.panicked.store(false, Ordering::Relaxed);
        failure
            .panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Creates the hand-off of a team of `threads` workers, waiting as `policy` says: the leader's
/// end and one [`Follower`] for each of the workers `1..threads`. With a `recorder`, every
/// worker records its part of each phase there.
pub(crate) fn handoff(
    threads: usize,
    policy: WaitPolicy,
    recorder: Option<std::sync::Arc<Recorder>>,
) -> (Leader, Vec<Follower>) {
    let shared = Arc::new(HandoffLines {
        start: CachePadded::new(Start {
            phase: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            inline: InlineJob(std::cell::UnsafeCell::new(MaybeUninit::uninit())),
        }),
        started: CachePadded::new(Signal::new(policy, threads)),
        done: (0..threads)
            .map(|_| {
                CachePadded::new(Done {
                    state: AtomicU64::new(finished(0)),
                    report: Report::new(),
                })
            })
            .collect(),
        finished: CachePadded::new(Signal::new(policy, threads)),
        failure: CachePadded::new(Failure {
            panic: Mutex::new(None),
            panicked: AtomicBool::new(false),
        }),
    });
    let followers = (1..threads)
        .map(|index| Follower {
            shared: Arc::clone(&shared),
            index,
            recorder: recorder.clone(),
        })
        .collect();
    (
        Leader {
            shared,
            in_phase: Cell::new(false),
            skipped: (0..threads).map(|_| Cell::new(false)).collect(),
            recorder,
        },
        followers,
    )
}

/// Worker 0's end of the hand-off. Not `Clone` and not `Sync`: one thread at a time leads.
pub(crate) struct Leader {
    shared: Arc<HandoffLines>,
    /// Set while an [`InPhase`] lives, to refuse a nested phase (which would deadlock or
    /// overwrite the reports the leader still reads).
    in_phase: Cell<bool>,
    /// `skipped[i]`: whether follower `i` did not take part in the last phase.
    skipped: Box<[Cell<bool>]>,
    /// Where the phases are recorded, when the pool keeps a profile.
    recorder: Option<std::sync::Arc<Recorder>>,
}

impl Leader {
    /// Marks the start of a phase: refuses a nested one, which would wait for itself, with a
    /// panic. The phase lasts until the returned [`InPhase`] is dropped; everything the leader
    /// still reads of the phase (the reports) is read through it.
    ///
    /// # Panics
    ///
    /// If the leader is already in a phase: user code (a job, a `combine`, the `Drop` of a
    /// value folded) started a phase on the pool that is running one.
    pub(crate) fn enter(&self) -> InPhase<'_> {
        self.check_not_in_phase();
        self.in_phase.set(true);
        InPhase { leader: self }
    }

    /// Refuses, with the panic of [`enter`](Self::enter), what must not happen during a phase.
    pub(crate) fn check_not_in_phase(&self) {
        assert!(
            !self.in_phase.get(),
            "a phase was started from inside a phase of the same pool"
        );
    }

    /// The number of the last phase published (0 before the first).
    pub(crate) fn last_phase(&self) -> u64 {
        // Relaxed: only the leader writes `phase` (see `publish`).
        self.shared.start.phase.load(Ordering::Relaxed)
    }

    /// Tells the followers to return from [`Follower::serve`]; their threads can then be
    /// joined. Call once, after the last phase (or instead of the first, when the team cannot
    /// be completed: followers that wait for their first phase return too).
    pub(crate) fn shutdown(&self) {
        self.publish(None);
    }

    /// Publishes `job` as the next phase and wakes the followers; returns the phase's number.
    fn publish(&self, job: Option<JobRef>) -> u64 {
        let start = &self.shared.start;
        // SAFETY: followers read `job` only between seeing `phase` move and storing their
        // `done`; every follower stored `done` for the previous phase (the gather that ended
        // it, or there was none) and none can see the new `phase` before the store below.
        start.job.with_mut(|slot| unsafe { *slot = job });
        // Relaxed: only the leader writes `phase`, so this reads the leader's last store (or one
        // the pool's previous thread made before the pool was sent here, which ordered it).
        let phase = start.phase.load(Ordering::Relaxed) + 1;
        // Release: publishes `job` and everything the leader wrote for the phase (its data,
        // plan and slots) to the followers that load this value with Acquire.
        start.phase.store(phase, Ordering::Release);
        self.shared.started.notify();
        phase
    }

    /// Waits until every follower has finished `phase`; under [`Gather::Started`], first skips
    /// the followers that have not started it.
    fn gather(&self, phase: u64, gather: Gather) {
        for (done, skipped) in self.shared.done.iter().zip(self.skipped.iter()).skip(1) {
            skipped.set(false);
            if gather == Gather::Started {
                // Relaxed (all): see the module docs; a skipped follower reads nothing of the
                // phase, and the follower's own `finished` store is read with Acquire below.
                let state = done.state.load(Ordering::Relaxed);
                skipped.set(
                    state < joined(phase)
                        && done
                            .state
                            .compare_exchange(
                                state,
                                finished(phase),
                                Ordering::Relaxed,
                                Ordering::Relaxed,
                            )
                            .is_ok(),
                );
            }
        }
        let done = &self.shared.done;
        // Acquire: pairs with the follower's Release store; its work, report, panic record and
        // last read of `job` happen before whatever the leader does next.
        let finished = |follower: &CachePadded<Done>| {
            follower.state.load(Ordering::Acquire) == finished(phase)
        };
        // The followers before `next` have finished; a poll resumes there.
        let mut next = 1;
        self.shared.finished.wait_until(|| {
            // Watch one line at a time while the followers work: a look at a line whose worker
            // still writes partials into it would cost that worker a transfer.
            if done.get(next).is_some_and(|follower| !finished(follower)) {
                return None;
            }
            // That one has finished, and the rest usually have too. Load all of them in one
            // pass, with no branch on what the loads return, so that their cache misses overlap
            // (a loop that stops at each line waits out one miss after the other).
            let unfinished: usize = done[next..]
                .iter()
                .map(|follower| usize::from(!finished(follower)))
                .sum();
            if unfinished == 0 {
                return Some(());
            }
            while done.get(next).is_some_and(finished) {
                next += 1;
            }
            None
        });
    }
}

/// The leader inside a phase (see [`Leader::enter`]); dropping it ends the phase, after which
/// user code may start the next one.
pub(crate) struct InPhase<'a> {
    leader: &'a Leader,
}

impl<'a> InPhase<'a> {
    /// Runs `job(i, report_i)` on every worker `i` (the leader as worker 0) with the worker's
    /// [`Report`] (under [`Gather::Started`], on the followers that start in time: see
    /// [`ran`](Self::ran)), and returns once all of them have finished. After its own part,
    /// unless that panicked, the leader calls `meanwhile(report_0)` while the followers may
    /// still be at work. Returns the job, moved out of the hand-off (its captures are user
    /// values, to be dropped once the phase has ended), and the first panic of the phase
    /// (`meanwhile`'s included), if any; the caller resumes it.
    pub(crate) fn run<F, M>(&self, job: F, meanwhile: M, gather: Gather) -> (F, Result<(), Panic>)
    where
        F: Fn(usize, &Report) + Sync,
        M: FnOnce(&Report),
    {
        let shared = &self.leader.shared;
        // From the publication until the gather, unwinding out of here would end the borrow of
        // `job` while followers may still call it: abort instead (never expected: the code in
        // between does not panic, and the job's own panic is caught).
        let guard = AbortProcessOnUnwind;
        let mut on_stack = None;
        let mut inline = None;
        let job: &F = if InlineJob::fits::<F>() {
            // SAFETY: `F` fits; followers read the buffer only between seeing `phase` move and
            // storing their `done`, and every follower stored `done` for the previous phase
            // (whose job, if it was inline, was moved out after that gather).
            let place = inline.insert(unsafe { shared.start.inline.put(job) });
            // SAFETY: the job was just written there, and is moved out only below.
            unsafe { &**place }
        } else {
            on_stack.insert(job)
        };
        let recorder = self.leader.recorder.as_deref();
        let published = recorder.map(Recorder::now);
        let phase = self.leader.publish(Some(JobRef::new(job)));
        let report = &shared.done[0].report;
        let own_part = catch_unwind(AssertUnwindSafe(|| job(0, report)))
            .and_then(|()| catch_unwind(AssertUnwindSafe(|| meanwhile(report))));
        if let Err(panic) = own_part {
            shared.record(panic);
        }
        let own_end = recorder.map(Recorder::mark);
        self.leader.gather(phase, gather);
        core::mem::forget(guard);
        if let (Some(recorder), Some(published), Some(own_end)) = (recorder, published, own_end) {
            let gathered = recorder.mark();
            let waited = gathered.counts.since(own_end.counts);
            let kind = match gather {
                Gather::Everyone => PhaseKind::Run,
                Gather::Started => PhaseKind::DataParallel,
            };
            recorder.phase(phase, kind, published, own_end.at, &gathered, waited);
        }
        // The gather orders every follower's `record` before this.
        let panic = shared.take_panic();
        let job = match (inline, on_stack) {
            // SAFETY: every follower is done with the job (the gather), and `job`, the leader's
            // last reference to it, is not used again; the buffer is not read again before the
            // next publication, which writes it first.
            (Some(place), _) => unsafe { place.read() },
            (None, Some(job)) => job,
            (None, None) => unreachable!("the job is inline or on the stack"),
        };
        (job, panic.map_or(Ok(()), Err))
    }

    /// Whether worker `worker` ran the last phase's job (the leader always does; a follower
    /// unless the gather skipped it).
    pub(crate) fn ran(&self, worker: usize) -> bool {
        !self.leader.skipped[worker].get()
    }

    /// Worker `worker`'s report: written by its worker during a phase it [ran](Self::ran),
    /// read by the leader between phases (the contracts of [`Report`]'s methods).
    pub(crate) fn report(&self, worker: usize) -> &'a Report {
        &self.leader.shared.done[worker].report
    }
}

impl Drop for InPhase<'_> {
    fn drop(&mut self) {
        self.leader.in_phase.set(false);
    }
}

/// Drops a panic payload, whose `Drop` is user code, without letting a panic of that `Drop`
/// escape (on a follower it would end the thread before its `done`; on the leader it would
/// unwind through the hand-off). The payload of such a second panic is leaked.
pub(crate) fn drop_payload(panic: Panic) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
        std::mem::forget(second);
    }
}

/// A follower's end of the hand-off: worker `index` in `1..n`.
pub(crate) struct Follower {
    shared: Arc<HandoffLines>,
    index: usize,
    /// Where this worker records its part of each phase, when the pool keeps a profile.
    recorder: Option<std::sync::Arc<Recorder>>,
}

impl Follower {
    /// Runs the published phases until [`Leader::shutdown`].
    pub(crate) fn serve(self) {
        let start = &self.shared.start;
        let Done { state, report } = &*self.shared.done[self.index];
        let mut seen = 0;
        let mut turn = Turn::start();
        let recorder = self.recorder.as_deref();
        // The end of this worker's last part, for what its wait for the next one did.
        let mut last_end = recorder.map(Recorder::mark);
        loop {
            // Acquire: pairs with the leader's Release store in `publish`.
            seen = self.shared.started.wait_until(|| {
                let phase = start.phase.load(Ordering::Acquire);
                (phase != seen).then_some(phase)
            });
            // Join the phase, unless the leader has already ended it without us. Relaxed
            // (both): see the module docs.
            let current = state.load(Ordering::Relaxed);
            if current >= joined(seen)
                || state
                    .compare_exchange(current, joined(seen), Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            // SAFETY: the leader wrote `job` before publishing the phase we just saw, and
            // writes it again only after we store `finished` below (we joined: it cannot skip
            // us).
            let Some(job) = start.job.with(|slot| unsafe { *slot }) else {
                return;
            };
            let started = recorder.map(Recorder::mark);
            // SAFETY: the leader keeps the job's borrow alive until its gather sees our `done`,
            // which we store after this call.
            let outcome = catch_unwind(AssertUnwindSafe(|| unsafe {
                job.execute(self.index, report)
            }));
            if let Err(panic) = outcome {
                self.shared.record(panic);
            }
            // Recorded before `done`: the leader reads the logs only between phases.
            if let (Some(recorder), Some(started), Some(last)) = (recorder, started, last_end) {
                let end = recorder.mark();
                let waited = started.counts.since(last.counts);
                recorder.job(self.index, seen, started.at, end.at, waited);
                last_end = Some(end);
            }
            // Release: our work, report, panic record and read of `job` happen before the
            // leader's Acquire load that sees this value.
            state.store(finished(seen), Ordering::Release);
            self.shared.finished.notify();
            turn.end_if_long();
        }
    }
}

/// How long a follower runs phases before it offers its core to the scheduler between two of
/// them ([`Turn`]).
#[cfg(not(lockstep_loom))]
const TURN: std::time::Duration = std::time::Duration::from_millis(1);

/// A follower's time on its core since it last offered it: after [`TURN`], it yields between
/// two phases. When another program shares the core, the scheduler takes the core away at
/// the end of each time slice wherever the follower is; in the middle of a piece of work,
/// that holds up the whole team until the follower runs again, a time slice later
/// (milliseconds). Yielding first moves that switch to a point where the follower holds up
/// no one: the phases it misses are run by the others without it. With nothing else runnable
/// the yield returns at once (~1 us per millisecond of phases).
struct Turn {
    #[cfg(not(lockstep_loom))]
    started: std::time::Instant,
}

impl Turn {
    fn start() -> Turn {
        Turn {
            #[cfg(not(lockstep_loom))]
            started: std::time::Instant::now(),
        }
    }

    /// Yields if the turn has lasted [`TURN`], and starts the next one. (Not under loom, whose
    /// models have no clock.)
    fn end_if_long(&mut self) {
        #[cfg(not(lockstep_loom))]
        if self.started.elapsed() >= TURN {
            std::thread::yield_now();
            *self = Turn::start();
        }
    }
}

/// Aborts the process if dropped: guards sections that must not unwind.
struct AbortProcessOnUnwind;

impl Drop for AbortProcessOnUnwind {
    fn drop(&mut self) {
        eprintln!("phase-pool: internal error: unwinding during a phase hand-off; aborting");
        std::process::abort();
    }
}

impl fmt::Debug for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader")
            .field("phase", &self.shared.start.phase.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
