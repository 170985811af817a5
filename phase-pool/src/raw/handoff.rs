//! The phase hand-off: the leader (worker 0, the calling thread) publishes a borrowed job, every
//! worker runs it, and the leader returns only after every worker has finished it.
//!
//! The protocol, its orderings and the races it rules out are written down in the crate's
//! `README.md` ("The phase hand-off"). In short, one barrier (the *gate*, `n` parties, never
//! broken while the pool lives) is passed twice per phase:
//!
//! ```text
//! leader (worker 0)                     follower i (1..n)
//! job := Some(job_ref)                  gate.wait()            // start gate
//! gate.wait()          // start gate    read job               // None: shut down
//! job(0), catching a panic              job(i), catching a panic
//! gate.wait()          // end gate      gate.wait()            // end gate
//! take the first panic                  (back to the start gate)
//! ```
//!
//! (The leader skips the write of `job` when the slot already holds that `JobRef`, and looks at
//! the panic mutex only when a `panicked` flag says a worker recorded one: absent panics, the
//! followers then read `job` from a cache line the leader did not write.)
//!
//! Happens-before edges (barrier-core: writes before a thread's wait of episode k are visible to
//! every thread after its episode-k wait returns):
//! - leader's write of `job` -> start gate -> followers' reads of `job` and of the job's data;
//! - followers' work and panic records -> end gate -> the leader's return (and its caller);
//! - followers' reads of `job` -> end gate -> the leader's next write of `job`.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::PoisonError;

use barrier_core::Barrier;

use crate::sync::{Arc, AtomicBool, Mutex, Ordering, UnsafeCell};

/// A panic payload, as `catch_unwind` returns it.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// The panic payload of a worker that left a phase because another worker's panic aborted it.
/// It is never shown to users when the real panic is known (see [`Leader::run`]).
#[derive(Debug)]
pub(crate) struct Aborted;

/// A type-erased `&F` where `F: Fn(usize) + Sync`: a data pointer and the monomorphised
/// function that calls it (rayon's `JobRef` pattern).
#[derive(Clone, Copy)]
struct JobRef {
    data: *const (),
    call: unsafe fn(*const (), usize),
}

// SAFETY: a `JobRef` stands for a `&F` with `F: Sync`, and `&F` is `Send` and `Sync` exactly
// when `F: Sync`. Its lifetime is handled by the gate protocol (see `Follower::serve`).
unsafe impl Send for JobRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for JobRef {}

impl JobRef {
    fn new<F: Fn(usize) + Sync>(job: &F) -> JobRef {
        /// # Safety
        ///
        /// `data` comes from a `&F` in `JobRef::new` whose borrow is still live.
        unsafe fn call<F: Fn(usize) + Sync>(data: *const (), worker: usize) {
            // SAFETY: `data` was made from a live `&F` (this function's contract).
            let job = unsafe { &*data.cast::<F>() };
            job(worker);
        }
        JobRef {
            data: (job as *const F).cast(),
            call: call::<F>,
        }
    }

    /// Whether `self` and `other` call the same function on the same data. A function with
    /// two addresses (one per codegen unit) may compare unequal, two identical functions
    /// merged into one address equal: either way calling one does what calling the other does.
    fn same_as(self, other: JobRef) -> bool {
        self.data == other.data && self.call as usize == other.call as usize
    }

    /// Runs the job as `worker`.
    ///
    /// # Safety
    ///
    /// The `&F` this `JobRef` was made from is still live.
    unsafe fn execute(self, worker: usize) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.call)(self.data, worker) }
    }
}

/// What the leader and the followers share.
struct Shared {
    /// Passed twice per phase by all `n` workers: the start gate and the end gate.
    gate: Barrier,
    /// The published job: `Some` during a phase, `None` to shut the followers down. Written only
    /// by the leader before it arrives at a start gate; read only by followers between that
    /// start gate and the next end gate.
    job: UnsafeCell<Option<JobRef>>,
    /// The first panic of the current phase (a real one wins over [`Aborted`]).
    panic: Mutex<Option<Panic>>,
    /// Whether `panic` may hold a payload: set by [`Shared::record`], cleared by the leader
    /// after the end gate. Lets the leader skip locking `panic` after a phase without panics
    /// (locking writes the mutex's cache line, which the followers read `job` and `gate` from,
    /// so every phase would pay a cache miss there).
    panicked: AtomicBool,
}

// SAFETY: `job` is the only field that is not `Sync`; its accesses are ordered by the gate as
// described on the field and in the module docs, so no two accesses race, and the `JobRef` in
// it may be used from any thread (see its `Send`/`Sync` impls).
unsafe impl Sync for Shared {}
// SAFETY: as for `Sync`; every field may be dropped from any thread.
unsafe impl Send for Shared {}

impl Shared {
    /// Keeps the first panic of a phase; a real panic replaces an [`Aborted`] marker, which a
    /// worker may record before the panic that caused it has finished unwinding.
    fn record(&self, panic: Panic) {
        let mut slot = self.panic.lock().unwrap_or_else(PoisonError::into_inner);
        let replace = match &*slot {
            None => true,
            Some(old) => old.is::<Aborted>() && !panic.is::<Aborted>(),
        };
        let dropped = if replace {
            slot.replace(panic)
        } else {
            Some(panic)
        };
        // Relaxed: the leader reads the flag after the end gate, which orders this store (and
        // the payload under the mutex) before its read.
        self.panicked.store(true, Ordering::Relaxed);
        drop(slot);
        // Dropped outside the lock: a payload's destructor is user code.
        drop(dropped);
    }

    /// The phase's first panic. Called by the leader after the end gate, when no worker can
    /// record one.
    fn take_panic(&self) -> Option<Panic> {
        // Relaxed (both): the end gate orders every `record` of this phase before the load, and
        // the clearing store before the next phase's records (they follow the next start gate).
        if !self.panicked.load(Ordering::Relaxed) {
            return None;
        }
        self.panicked.store(false, Ordering::Relaxed);
        self.panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Creates the hand-off of a team of `gate.parties()` workers: the leader's end and one
/// [`Follower`] for each of the workers `1..n`.
pub(crate) fn handoff(gate: Barrier) -> (Leader, Vec<Follower>) {
    let parties = gate.parties();
    let shared = Arc::new(Shared {
        gate,
        job: UnsafeCell::new(None),
        panic: Mutex::new(None),
        panicked: AtomicBool::new(false),
    });
    let followers = (1..parties)
        .map(|index| Follower {
            shared: Arc::clone(&shared),
            index,
        })
        .collect();
    (
        Leader {
            shared,
            in_phase: Cell::new(false),
        },
        followers,
    )
}

/// Worker 0's end of the hand-off. Not `Clone` and not `Sync`: one thread at a time leads.
pub(crate) struct Leader {
    shared: Arc<Shared>,
    /// Set while [`Leader::run`] runs, to refuse a nested phase (which would deadlock).
    in_phase: Cell<bool>,
}

impl Leader {
    /// Runs `job(i)` on every worker `i` (itself as worker 0) and returns once all of them have
    /// finished. Returns the first panic of the phase, if any; the caller resumes it.
    pub(crate) fn run<F: Fn(usize) + Sync>(&self, job: &F) -> Result<(), Panic> {
        assert!(
            !self.in_phase.replace(true),
            "a phase was started from inside a phase of the same pool"
        );
        let job_ref = JobRef::new(job);
        // From the publication until the end gate returns, unwinding out of here would end the
        // borrow of `job` while followers may still call it: abort instead (never expected: the
        // code in between does not panic, and the job's own panic is caught).
        let guard = AbortOnUnwind;
        // Phases issued in a loop from one place publish the same `JobRef` every time (the
        // same closure type at the same stack address): leaving the slot alone then keeps its
        // cache line shared with the followers, which read it first thing in every phase.
        // SAFETY: only the leader writes `job`, so reading it here races nothing.
        let published = self.shared.job.with(|slot| unsafe { *slot });
        if !published.is_some_and(|published| published.same_as(job_ref)) {
            // SAFETY: followers read `job` only between a start gate and the next end gate.
            // We passed the previous end gate, which needs every follower's arrival (after its
            // read), and none can pass the next start gate before we arrive there below.
            self.shared
                .job
                .with_mut(|slot| unsafe { *slot = Some(job_ref) });
        }
        self.gate_wait();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| job(0))) {
            self.shared.record(panic);
        }
        self.gate_wait();
        core::mem::forget(guard);
        self.in_phase.set(false);
        // The end gate orders every follower's `record` before this.
        self.shared.take_panic().map_or(Ok(()), Err)
    }

    /// Tells the followers to return from [`Follower::serve`]. Call once, after the last phase;
    /// the followers' threads can then be joined.
    pub(crate) fn shutdown(&self) {
        // SAFETY: as in `run`: every follower is between an end gate and the next start gate.
        self.shared.job.with_mut(|slot| unsafe { *slot = None });
        self.gate_wait();
    }

    /// Releases followers that wait for their first phase when the team cannot be completed
    /// (a worker thread failed to spawn): every gate wait fails from now on, so they return.
    pub(crate) fn abandon(self) {
        self.shared.gate.abort();
    }

    fn gate_wait(&self) {
        if let Err(error) = self.shared.gate.wait() {
            unreachable!(
                "the phase gate is only broken by abandon(), never during a phase: {error}"
            );
        }
    }
}

/// A follower's end of the hand-off: worker `index` in `1..n`.
pub(crate) struct Follower {
    shared: Arc<Shared>,
    index: usize,
}

impl Follower {
    /// Runs the published phases until [`Leader::shutdown`] or [`Leader::abandon`].
    pub(crate) fn serve(self) {
        while self.shared.gate.wait().is_ok() {
            // SAFETY: the leader wrote `job` before arriving at the start gate we just passed,
            // and writes it again only after the end gate, which needs our arrival below.
            let Some(job) = self.shared.job.with(|slot| unsafe { *slot }) else {
                return;
            };
            // SAFETY: the leader keeps the job's borrow alive until the end gate returns, which
            // needs our arrival below, after this call.
            let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { job.execute(self.index) }));
            if let Err(panic) = outcome {
                self.shared.record(panic);
            }
            if self.shared.gate.wait().is_err() {
                return;
            }
        }
    }
}

/// Aborts the process if dropped: guards sections that must not unwind.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        eprintln!("phase-pool: internal error: unwinding during a phase hand-off; aborting");
        std::process::abort();
    }
}

impl fmt::Debug for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader")
            .field("gate", &self.shared.gate)
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
