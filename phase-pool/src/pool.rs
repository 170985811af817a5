//! [`PhasePool`]: the team, its lifetime, and the phase primitive the other modules build on.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use barrier_core::WaitPolicy;

use crate::builder::PhasePoolBuilder;
use crate::claims::Claims;
use crate::profile::{PhaseKind, Profile, Recorder};
use crate::raw::handoff::{drop_payload, Aborted, Gather, Leader, Panic};
use crate::raw::report::{Report, Reporter};
use crate::schedule::{Schedule, Scheduled};
use crate::spmd::Collectives;
use crate::sync::thread::JoinHandle;

/// A persistent team of workers that runs bulk-synchronous phases.
///
/// The thread that calls a phase method takes part as worker 0; workers `1..n` are threads
/// started by [`build`](PhasePoolBuilder::build), pinned per the [`Placement`](crate::Placement),
/// and waiting (spin, then yield, then park) between phases. A phase runs the same closure on
/// every worker and returns once every worker has finished it, so closures may borrow from the
/// caller's stack.
///
/// - data-parallel phases: [`for_each_chunk_mut`](PhasePool::for_each_chunk_mut),
///   [`map_reduce_chunks_mut`](PhasePool::map_reduce_chunks_mut),
///   [`for_each_index`](PhasePool::for_each_index),
///   [`map_reduce_index`](PhasePool::map_reduce_index), with a [`Schedule`];
/// - SPMD / BSP programs: [`run`](PhasePool::run) and [`run_bsp`](PhasePool::run_bsp);
/// - double-buffered grids: [`Grid2`](crate::Grid2).
///
/// **Panics**: a panic in any worker's part of a phase stops the phase (workers waiting in a
/// collective leave it, data-parallel workers take no new chunks), and once every worker has
/// stopped, the first panic resumes in the caller. The pool stays usable.
///
/// A pool is `Send` but not `Sync`: one thread at a time issues phases (this also makes a phase
/// started from inside a phase of the same pool a compile error):
///
/// ```compile_fail
/// let pool = phase_pool::PhasePool::new(2);
/// pool.for_each_index(4, |_| { pool.num_threads(); });
/// ```
///
/// Dropping the pool stops and joins its threads.
///
/// # Examples
///
/// ```
/// use phase_pool::PhasePool;
///
/// let pool = PhasePool::new(4);
/// let mut data: Vec<f64> = (0..1000).map(f64::from).collect();
/// pool.for_each_chunk_mut(&mut data, 64, |_, chunk| chunk.iter_mut().for_each(|x| *x *= 2.0));
/// let sum = pool.map_reduce_chunks_mut(&mut data, 64, 0.0, |_, c| c.iter().sum::<f64>(), |a, b| a + b);
/// assert_eq!(sum, 999_000.0);
/// ```
pub struct PhasePool {
    leader: Leader,
    /// Who has taken which piece of each static block, in the current data-parallel phase.
    claims: Claims,
    /// What SPMD runs keep between runs: the seated barrier of their collectives (`n` parties;
    /// worker `i` waits through seat `i`) and its exchange; see `raw/exchange.rs`.
    collectives: Collectives,
    workers: Vec<JoinHandle<()>>,
    /// Where the phases are recorded, when the pool keeps a profile (shared with the workers'
    /// ends of the hand-off).
    recorder: Option<std::sync::Arc<Recorder>>,
    schedule: Schedule,
    policy: WaitPolicy,
    cores: Vec<Option<usize>>,
}

impl PhasePool {
    /// A builder with every setting at its default.
    pub fn builder() -> PhasePoolBuilder {
        PhasePoolBuilder::new()
    }

    /// A pool of `threads` workers (the calling thread included), otherwise configured from the
    /// environment and the defaults, like [`PhasePool::builder`].
    ///
    /// # Panics
    ///
    /// If `threads == 0`, or the pool cannot be built (see [`PhasePoolBuilder::build`]).
    #[must_use]
    pub fn new(threads: usize) -> PhasePool {
        PhasePool::builder()
            .threads(threads)
            .build()
            .unwrap_or_else(|error| panic!("PhasePool::new({threads}): {error}"))
    }

    pub(crate) fn from_parts(
        leader: Leader,
        collectives: Collectives,
        workers: Vec<JoinHandle<()>>,
        recorder: Option<std::sync::Arc<Recorder>>,
        schedule: Schedule,
        policy: WaitPolicy,
        cores: Vec<Option<usize>>,
    ) -> PhasePool {
        let threads = workers.len() + 1;
        PhasePool {
            leader,
            claims: Claims::new(threads),
            collectives,
            workers,
            recorder,
            schedule,
            policy,
            cores,
        }
    }

    /// The claims of the static blocks, for planning the next phase.
    ///
    /// # Panics
    ///
    /// During a phase (user code that runs on the leader inside a phase, such as a `combine`,
    /// started another one), as [`Leader::enter`] would.
    pub(crate) fn claims(&self) -> &Claims {
        self.leader.check_not_in_phase();
        &self.claims
    }

    /// Where the phases are recorded, when the pool keeps a profile.
    pub(crate) fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_deref()
    }

    /// What SPMD runs keep between runs.
    pub(crate) fn collectives(&self) -> &Collectives {
        &self.collectives
    }

    /// The number of workers, the calling thread (worker 0) included.
    #[must_use]
    pub fn num_threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// The default schedule of this pool's data-parallel phases.
    #[must_use]
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// How this pool's workers wait.
    #[must_use]
    pub fn wait_policy(&self) -> WaitPolicy {
        self.policy
    }

    /// The core each worker was asked to run on (`None`: not pinned), by worker index. Worker
    /// 0's entry is the core it would be pinned to with
    /// [`pin_caller`](PhasePoolBuilder::pin_caller).
    #[must_use]
    pub fn cores(&self) -> &[Option<usize>] {
        &self.cores
    }

    /// What the pool recorded since the last call (take-and-reset): one
    /// [`PhaseProfile`](crate::profile::PhaseProfile) per phase with each worker's start, busy
    /// time and waits, and the supersteps of SPMD runs. Print it for a table, or see
    /// [`Profile`] for its summaries and exports.
    ///
    /// A pool built without [`profile(true)`](crate::PhasePoolBuilder::profile) (and without
    /// `LOCKSTEP_PROFILE=1`) records nothing: the profile is empty and
    /// [`is_enabled`](Profile::is_enabled) false.
    ///
    /// # Panics
    ///
    /// If called during a phase of this pool (from user code running in one).
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.leader.check_not_in_phase();
        match &self.recorder {
            Some(recorder) => recorder.take(),
            None => Profile::disabled(self.num_threads()),
        }
    }

    /// Labels the phases issued from now on in the profile (`None`: no label), so that the
    /// phases of a time step can be told apart, e.g. a stencil's two half steps:
    ///
    /// ```
    /// use phase_pool::PhasePool;
    ///
    /// let pool = PhasePool::builder().threads(2).profile(true).build()?;
    /// for _ in 0..3 {
    ///     pool.set_label(Some("E field"));
    ///     pool.for_each_index(64, |_| {});
    ///     pool.set_label(Some("H field"));
    ///     pool.for_each_index(64, |_| {});
    /// }
    /// let labels: Vec<_> = pool.profile().summaries_by_label().into_iter().map(|(l, s)| (l, s.phases)).collect();
    /// assert_eq!(labels, [(Some("E field"), 3), (Some("H field"), 3)]);
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    ///
    /// Does nothing on a pool that keeps no profile.
    pub fn set_label(&self, label: Option<&'static str>) {
        if let Some(recorder) = &self.recorder {
            recorder.set_label(label);
        }
    }

    /// The label of the phases issued from now on ([`set_label`](Self::set_label)); `None`
    /// without one, and always on a pool that keeps no profile.
    #[must_use]
    pub fn label(&self) -> Option<&'static str> {
        self.recorder.as_ref().and_then(|recorder| recorder.label())
    }

    /// Runs `f` on the calling thread, alone, and returns its result; a profiled pool records
    /// it as a [serial section](crate::profile::PhaseKind::Serial) labelled `label`, in which
    /// the other workers idle. For the work a time step does between its phases that the
    /// profile should show: an MPI halo exchange or reduction, I/O, a serial solve.
    ///
    /// Without a profile it is a plain call (no clock is read).
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::profile::PhaseKind;
    /// use phase_pool::PhasePool;
    ///
    /// let pool = PhasePool::builder().threads(2).profile(true).build()?;
    /// pool.for_each_index(8, |_| {});
    /// let total = pool.serial("checksum", || (1..=10).sum::<u32>());
    /// assert_eq!(total, 55);
    /// let profile = pool.profile();
    /// assert_eq!(profile.phases()[1].kind, PhaseKind::Serial);
    /// assert_eq!(profile.phases()[1].label, Some("checksum"));
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f` (the section is then not recorded).
    pub fn serial<R>(&self, label: &'static str, f: impl FnOnce() -> R) -> R {
        self.caller_only(PhaseKind::Serial, Some(label), f)
    }

    /// Runs a data-parallel phase that is too small to share (one worker, or one unit of work)
    /// on the calling thread; a profiled pool records it as a phase in which only worker 0 ran.
    pub(crate) fn alone<R>(&self, f: impl FnOnce() -> R) -> R {
        self.caller_only(PhaseKind::DataParallel, None, f)
    }

    /// Runs `f` on the calling thread; a profiled pool records it as a phase of `kind` that
    /// worker 0 ran alone, labelled `label` (`None`: the current label).
    fn caller_only<R>(
        &self,
        kind: PhaseKind,
        label: Option<&'static str>,
        f: impl FnOnce() -> R,
    ) -> R {
        let Some(recorder) = &self.recorder else {
            return f();
        };
        let start = recorder.now();
        let result = f();
        recorder.caller_only(kind, label, self.leader.last_phase(), start);
        result
    }

    /// This pool with another schedule for the data-parallel calls made through the result.
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{PhasePool, Schedule};
    ///
    /// let pool = PhasePool::new(2);
    /// let mut v = vec![1u64; 100];
    /// let total = pool
    ///     .with_schedule(Schedule::Dynamic { chunk: 2 })
    ///     .map_reduce_chunks_mut(&mut v, 7, 0, |_, c| c.iter().sum::<u64>(), |a, b| a + b);
    /// assert_eq!(total, 100);
    /// ```
    pub fn with_schedule(&self, schedule: Schedule) -> Scheduled<'_> {
        Scheduled::new(self, schedule)
    }

    /// Runs `job(i)` on every worker `i` (under [`Gather::Started`], on those that start in
    /// time) and returns when all of them have finished; resumes the first panic.
    pub(crate) fn phase<F: Fn(usize) + Sync>(&self, gather: Gather, job: F) {
        let in_phase = self.leader.enter();
        let (job, outcome) = in_phase.run(move |worker, _| job(worker), |_| (), gather);
        drop(in_phase);
        end_phase(job, outcome, ());
    }

    /// Runs `job(i, reporter)` on every worker `i` (under [`Gather::Started`], on those that
    /// start in time) and folds the values they push through their reporters, worker by
    /// worker, each followed by what `tail(i)` yields: `fold` over worker 0's values in push
    /// order, then `tail(0)`, then worker 1's values, `tail(1)`, and so on.
    ///
    /// The values travel in the workers' reports (`raw/report.rs`): the first few on the line
    /// the leader's gather reads anyway. The leader folds its own values while the followers
    /// may still be at work, and the rest after the gather (`tail` is called then). `fold`
    /// runs inside the phase (a phase it starts on this pool is refused); values not folded
    /// because of a panic are dropped after the phase has ended.
    ///
    /// Resumes the first panic of the phase (one of `fold` included) once all have finished,
    /// after dropping the values not folded.
    ///
    /// # Panics
    ///
    /// If reports do not [accept](Report::accepts) values of `R`.
    pub(crate) fn phase_folding<R, A, F, C, T, I>(
        &self,
        gather: Gather,
        job: F,
        init: A,
        mut fold: C,
        mut tail: T,
    ) -> A
    where
        R: Send,
        F: Fn(usize, Reporter<'_, R>) + Sync,
        C: FnMut(A, R) -> A,
        T: FnMut(usize) -> I,
        I: Iterator<Item = R>,
    {
        assert!(
            Report::accepts::<R>(),
            "phase_folding: values of this type are over-aligned"
        );
        let mut own_taken = false;
        let mut own = None;
        let in_phase = self.leader.enter();
        let (job, mut outcome) = in_phase.run(
            move |worker, report| {
                // SAFETY: worker `worker`'s own report, during its part of the phase, pushed
                // to only through this reporter.
                job(worker, unsafe { report.start() });
            },
            |report| {
                // SAFETY: the leader's own part is over, and it started its report for `R`s;
                // taken once, here.
                let values = unsafe { report.take::<R>() };
                own_taken = true;
                own = Some(fold_catching(values, init, &mut fold));
            },
            gather,
        );
        let reports_left = |worker| {
            let ran = if worker == 0 {
                !own_taken
            } else {
                in_phase.ran(worker)
            };
            // SAFETY: the phase ran (`run` returned after its gather); every worker that ran
            // its part started its report for `R`s in it, and each report is taken once: the
            // leader's by its fold, or here if its part panicked first; the followers' here.
            ran.then(|| unsafe { in_phase.report(worker).take::<R>() })
        };
        let values = (0..self.num_threads()).flat_map(|worker| {
            reports_left(worker)
                .into_iter()
                .flatten()
                .chain(tail(worker))
        });
        // What the fold did not reach, and the leader's own fold when a follower panicked:
        // user values, dropped once the phase has ended.
        let mut left = Vec::new();
        let mut stale = None;
        let folded = match own {
            Some(Ok(folded)) if outcome.is_ok() => match fold_catching(values, folded, &mut fold) {
                Ok(folded) => Some(folded),
                Err((panic, rest)) => {
                    outcome = Err(panic);
                    left = rest;
                    None
                }
            },
            Some(Err((panic, rest))) => {
                outcome = Err(panic);
                left = rest;
                left.extend(values);
                None
            }
            own => {
                stale = own.and_then(Result::ok);
                left.extend(values);
                None
            }
        };
        drop(in_phase);
        end_phase(job, outcome, (stale, left));
        folded.expect("a phase without a panic folds every value")
    }
}

/// Folds `values` into `init`. If `fold` panics, the values it did not reach are moved out
/// (bitwise, no user code) and returned with the panic, so that their `Drop`, user code that
/// may start a phase, runs after the phase has ended.
fn fold_catching<R, A>(
    mut values: impl Iterator<Item = R>,
    init: A,
    fold: impl FnMut(A, R) -> A,
) -> Result<A, (Panic, Vec<R>)> {
    match catch_unwind(AssertUnwindSafe(|| (&mut values).fold(init, fold))) {
        Ok(folded) => Ok(folded),
        Err(panic) => Err((panic, values.collect())),
    }
}

/// The end of a phase, once the leader has left it: drops the job (its captures) and the
/// values a panic left, then resumes the phase's first panic, or else a panic of those drops.
/// They are user code and may start another phase.
fn end_phase<F, L>(job: F, outcome: Result<(), Panic>, leftovers: L) {
    let dropped = match (
        catch_unwind(AssertUnwindSafe(move || drop(job))),
        catch_unwind(AssertUnwindSafe(move || drop(leftovers))),
    ) {
        (Err(panic), second) => {
            if let Err(second) = second {
                drop_payload(second);
            }
            Err(panic)
        }
        (Ok(()), second) => second,
    };
    match (outcome, dropped) {
        (Err(panic), dropped) => {
            if let Err(second) = dropped {
                drop_payload(second);
            }
            resume_phase_panic(panic)
        }
        (Ok(()), Err(panic)) => resume_unwind(panic),
        (Ok(()), Ok(())) => {}
    }
}

/// Resumes the panic of a phase.
fn resume_phase_panic(panic: Panic) -> ! {
    if panic.is::<Aborted>() {
        panic!("a phase was aborted by a worker's panic whose payload was lost");
    }
    resume_unwind(panic)
}

impl Drop for PhasePool {
    fn drop(&mut self) {
        self.leader.shutdown();
        for worker in self.workers.drain(..) {
            // Phase panics are caught inside the workers, so a worker thread never panics.
            let _ = worker.join();
        }
    }
}

impl fmt::Debug for PhasePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhasePool")
            .field("num_threads", &self.num_threads())
            .field("schedule", &self.schedule)
            .field("wait_policy", &self.policy)
            .field("cores", &self.cores)
            .field("profile", &self.recorder.is_some())
            .finish()
    }
}
