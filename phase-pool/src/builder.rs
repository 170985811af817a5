//! Configuring and building a [`PhasePool`].

use std::fmt;
use std::sync::Arc;

use barrier_core::{Algorithm, Barrier, Placement, WaitPolicy};

use crate::error::BuildError;
use crate::pool::PhasePool;
use crate::profile::Recorder;
use crate::raw::handoff::handoff;
use crate::schedule::Schedule;
use crate::spmd::Collectives;
use crate::sync::thread;
use crate::topology;

/// The most workers a pool may have.
///
/// The largest single-system-image machines have a few thousand hardware threads, so a team
/// of more workers would only oversubscribe them; and the bookkeeping that
/// [`build`](PhasePoolBuilder::build) allocates before starting any thread (the barrier's seats
/// and flags, the hand-off's per-worker lines, names and handles: a few KiB per worker) stays
/// within some tens of MiB. Far below barrier-core's [`MAX_PARTIES`](barrier_core::MAX_PARTIES).
/// A larger [`threads`](PhasePoolBuilder::threads) or
/// [`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV) is refused with
/// [`BuildError::TooManyThreads`] before anything is allocated.
pub const MAX_THREADS: usize = 4096;

/// Names worker threads: called with each worker index in `1..threads`.
type ThreadName = Box<dyn FnMut(usize) -> String>;

/// Configures a [`PhasePool`]: its size, placement, wait policy, default schedule and threads.
///
/// Settings left unset come from the environment ([`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV),
/// [`PLACEMENT_ENV`](crate::PLACEMENT_ENV), barrier-core's
/// [`WAIT_POLICY_ENV`](barrier_core::WAIT_POLICY_ENV)), then from the defaults; a setting made
/// here wins over the environment, which is then not read.
///
/// # Examples
///
/// ```
/// use phase_pool::{PhasePool, Placement, Schedule, WaitPolicy};
///
/// let pool = PhasePool::builder()
///     .threads(3)
///     .placement(Placement::None)
///     .wait_policy(WaitPolicy::Adaptive)
///     .schedule(Schedule::Static)
///     .thread_name(|i| format!("solver-{i}"))
///     .build()?;
/// assert_eq!(pool.num_threads(), 3);
/// # Ok::<(), phase_pool::BuildError>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct PhasePoolBuilder {
    threads: Option<usize>,
    placement: Option<Placement>,
    wait_policy: Option<WaitPolicy>,
    profile: Option<bool>,
    barrier_algorithm: Algorithm,
    schedule: Schedule,
    thread_name: Option<ThreadName>,
    stack_size: Option<usize>,
    pin_caller: bool,
}

impl PhasePoolBuilder {
    pub(crate) fn new() -> PhasePoolBuilder {
        PhasePoolBuilder {
            threads: None,
            placement: None,
            wait_policy: None,
            profile: None,
            barrier_algorithm: Algorithm::Auto,
            schedule: Schedule::default(),
            thread_name: None,
            stack_size: None,
            pin_caller: false,
        }
    }

    /// The number of workers, counting the calling thread as worker 0, at most
    /// [`MAX_THREADS`]. Default: the number of physical cores (capped at the cores this process
    /// may use, and at `MAX_THREADS`), or [`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV) when set.
    ///
    /// See also [the example on `PhasePoolBuilder`](PhasePoolBuilder#examples).
    ///
    /// # Examples
    ///
    /// A count set here wins over the environment, which is then not read:
    ///
    /// ```
    /// use phase_pool::{BuildError, PhasePool, NUM_THREADS_ENV};
    ///
    /// std::env::set_var(NUM_THREADS_ENV, "3"); // before any thread starts
    /// assert_eq!(PhasePool::builder().build()?.num_threads(), 3);
    /// std::env::set_var(NUM_THREADS_ENV, "many");
    /// assert_eq!(
    ///     PhasePool::builder().build().unwrap_err(),
    ///     BuildError::InvalidNumThreadsEnv { value: "many".into() }
    /// );
    /// assert_eq!(PhasePool::builder().threads(2).build()?.num_threads(), 2);
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> PhasePoolBuilder {
        self.threads = Some(threads);
        self
    }

    /// How workers are pinned to cores (default [`Placement::Compact`], or
    /// [`PLACEMENT_ENV`](crate::PLACEMENT_ENV) when set).
    ///
    /// Worker `i` gets the placement's core for thread `i` of the team, wrapping around when
    /// workers outnumber the cores (barrier-core's [`Placement::assign`] over the cores in this
    /// thread's affinity mask at `build` time). Worker 0 is the calling thread and is pinned
    /// only with [`pin_caller`](PhasePoolBuilder::pin_caller). Pinning is best effort: a core
    /// the operating system refuses (or an id of 1024 or more) leaves that worker unpinned and
    /// changes nothing else.
    ///
    /// See also [the example on `PhasePoolBuilder`](PhasePoolBuilder#examples).
    ///
    /// # Examples
    ///
    /// [`PhasePool::cores`] tells which core each worker was given:
    ///
    /// ```
    /// use phase_pool::{PhasePool, Placement};
    ///
    /// // Workers 0, 1, 2 on cores 1, 0, 1 (worker 0, the caller, only with `pin_caller`).
    /// let pool = PhasePool::builder()
    ///     .threads(3)
    ///     .placement(Placement::Cores(vec![1, 0]))
    ///     .build()?;
    /// assert_eq!(pool.cores(), [Some(1), Some(0), Some(1)]);
    ///
    /// // Leave the workers to the operating system.
    /// let pool = PhasePool::builder().threads(2).placement(Placement::None).build()?;
    /// assert_eq!(pool.cores(), [None, None]);
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    pub fn placement(mut self, placement: Placement) -> PhasePoolBuilder {
        self.placement = Some(placement);
        self
    }

    /// How workers wait at the phase barriers (default: barrier-core's, i.e.
    /// [`WaitPolicy::Adaptive`] unless `LOCKSTEP_WAIT` says otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{PhasePool, WaitPolicy};
    ///
    /// // Workers that sleep between rare phases instead of spinning.
    /// let pool = PhasePool::builder().threads(2).wait_policy(WaitPolicy::Park).build()?;
    /// assert_eq!(pool.wait_policy(), WaitPolicy::Park);
    /// let mut v = vec![1u32; 100];
    /// pool.for_each_chunk_mut(&mut v, 10, |i, chunk| chunk.fill(i as u32));
    /// assert_eq!(v.iter().sum::<u32>(), (0..10).sum::<u32>() * 10);
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    pub fn wait_policy(mut self, policy: WaitPolicy) -> PhasePoolBuilder {
        self.wait_policy = Some(policy);
        self
    }

    /// Whether the pool records a profile of its phases, for
    /// [`PhasePool::profile`](crate::PhasePool::profile). Without this call the environment
    /// variable `LOCKSTEP_PROFILE` ([`PROFILE_ENV`](barrier_core::PROFILE_ENV): `1` to
    /// profile, `0` not to) decides, and without that, off. Off, a phase costs what it did
    /// before; on, see the [`profile`](crate::profile) module.
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::PhasePool;
    ///
    /// let pool = PhasePool::builder().threads(2).profile(true).build()?;
    /// pool.for_each_index(100, |_| {});
    /// assert_eq!(pool.profile().phases().len(), 1);
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    pub fn profile(mut self, on: bool) -> PhasePoolBuilder {
        self.profile = Some(on);
        self
    }

    /// The algorithm of the barrier behind the collectives of SPMD runs ([`Ctx::sync`],
    /// [`Ctx::reduce`], ...; see [`PhasePool::run`]); default [`Algorithm::Auto`], which picks
    /// by team size and usable cores. Every worker waits through its own seat of it, so every
    /// algorithm is available (a data-parallel phase does not use it).
    ///
    /// [`Ctx::sync`]: crate::Ctx::sync
    /// [`Ctx::reduce`]: crate::Ctx::reduce
    ///
    /// # Errors
    ///
    /// An invalid algorithm (a tree with `fan_in < 2`) makes [`build`](Self::build) fail with
    /// [`BuildError::Barrier`].
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{Algorithm, BuildError, PhasePool};
    ///
    /// let pool = PhasePool::builder()
    ///     .threads(3)
    ///     .barrier_algorithm(Algorithm::Dissemination)
    ///     .build()?;
    /// assert_eq!(pool.run(|ctx| ctx.reduce(ctx.index(), |a, b| a + b)), [3, 3, 3]);
    ///
    /// let error = PhasePool::builder()
    ///     .barrier_algorithm(Algorithm::Tree { fan_in: 1 })
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(error, BuildError::Barrier(_)));
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn barrier_algorithm(mut self, algorithm: Algorithm) -> PhasePoolBuilder {
        self.barrier_algorithm = algorithm;
        self
    }

    /// The schedule of the data-parallel phases (default [`Schedule::Static`]); one call can use
    /// another through [`PhasePool::with_schedule`].
    ///
    /// See [the example on `PhasePoolBuilder`](PhasePoolBuilder#examples), the one on
    /// [`Schedule`](Schedule#examples), and [`Scheduled`](crate::Scheduled#examples) for the
    /// same phase under each schedule.
    pub fn schedule(mut self, schedule: Schedule) -> PhasePoolBuilder {
        self.schedule = schedule;
        self
    }

    /// Names the worker threads: `name(i)` for worker `i` in `1..threads` (worker 0 is the
    /// calling thread and keeps its name). Default: `lockstep-{i}`.
    ///
    /// [`build`](PhasePoolBuilder::build) panics if a name contains a NUL byte, before starting
    /// any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::PhasePool;
    ///
    /// let pool = PhasePool::builder().threads(3).thread_name(|i| format!("solver-{i}")).build()?;
    /// let names = pool.run(|_| std::thread::current().name().map(str::to_owned));
    /// assert_eq!(names[0].as_deref(), std::thread::current().name(), "worker 0 is the caller");
    /// assert_eq!(names[1..], [Some("solver-1".to_owned()), Some("solver-2".to_owned())]);
    /// # Ok::<(), phase_pool::BuildError>(())
    /// ```
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> PhasePoolBuilder {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// Names the worker threads `{prefix}{i}`.
    pub fn thread_name_prefix(self, prefix: impl Into<String>) -> PhasePoolBuilder {
        let prefix = prefix.into();
        self.thread_name(move |i| format!("{prefix}{i}"))
    }

    /// The stack size of the worker threads in bytes (default: std's).
    pub fn stack_size(mut self, bytes: usize) -> PhasePoolBuilder {
        self.stack_size = Some(bytes);
        self
    }

    /// Whether [`build`](PhasePoolBuilder::build) also pins the calling thread, worker 0, to the
    /// placement's core 0 (default `false`: the calling thread's affinity is the caller's
    /// business). Worker 0 then stays pinned after the pool is dropped.
    pub fn pin_caller(mut self, pin: bool) -> PhasePoolBuilder {
        self.pin_caller = pin;
        self
    }

    /// Builds the pool: starts workers `1..threads`, pinned per the placement.
    ///
    /// # Errors
    ///
    /// - [`BuildError::ZeroThreads`] for `threads(0)`;
    /// - [`BuildError::TooManyThreads`] for more than [`MAX_THREADS`] workers, asked for here
    ///   or in [`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV);
    /// - [`BuildError::InvalidNumThreadsEnv`], [`BuildError::InvalidPlacementEnv`] or
    ///   [`BuildError::Barrier`] when a setting left to the environment holds an invalid value;
    /// - [`BuildError::Spawn`] when a worker thread cannot be started (the workers already
    ///   started are stopped and joined first).
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{BuildError, PhasePool, Placement, Schedule, WaitPolicy};
    ///
    /// let pool = PhasePool::builder()
    ///     .threads(3)
    ///     .placement(Placement::Compact)
    ///     .wait_policy(WaitPolicy::Adaptive)
    ///     .schedule(Schedule::Dynamic { chunk: 4 })
    ///     .thread_name_prefix("solver")
    ///     .build()?;
    /// assert_eq!(pool.num_threads(), 3);
    /// assert_eq!(PhasePool::builder().threads(0).build().unwrap_err(), BuildError::ZeroThreads);
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn build(mut self) -> Result<PhasePool, BuildError> {
        let threads = match self.threads {
            Some(0) => return Err(BuildError::ZeroThreads),
            Some(threads) => threads,
            None => topology::num_threads_from_env()?
                .unwrap_or_else(|| topology::default_threads().min(MAX_THREADS)),
        };
        // Before anything is allocated: every buffer below is sized by `threads`.
        if threads > MAX_THREADS {
            return Err(BuildError::TooManyThreads {
                threads,
                max: MAX_THREADS,
            });
        }
        let placement = match self.placement.take() {
            Some(placement) => placement,
            None => topology::placement_from_env()?.unwrap_or_default(),
        };
        let policy = match self.wait_policy {
            Some(policy) => policy,
            None => WaitPolicy::from_env()?.unwrap_or_default(),
        };
        let profile = match self.profile {
            Some(on) => on,
            None => barrier_core::profile_from_env()
                .map_err(|error| match error {
                    barrier_core::BuildError::InvalidProfileEnv { value } => {
                        BuildError::InvalidProfileEnv { value }
                    }
                    other => BuildError::Barrier(other),
                })?
                .unwrap_or(false),
        };
        // Seated: worker `i` always waits through seat `i`, so any algorithm works (`Auto`
        // picks central for small teams, a tree or dissemination for larger ones).
        let (barrier, seats) = Barrier::builder(threads)
            .algorithm(self.barrier_algorithm)
            .wait_policy(policy)
            // The pool's own profile times its collectives.
            .profile(false)
            .build_seated()?;
        let cores = placement.assign(threads, &topology::usable_cores());
        if self.pin_caller {
            if let Some(core) = cores[0] {
                topology::pin_current(core);
            }
        }

        // Named before any thread starts: a panicking name function then leaves nothing behind.
        let names: Vec<String> = (1..threads)
            .map(|index| match &mut self.thread_name {
                Some(name) => name(index),
                None => format!("lockstep-{index}"),
            })
            .inspect(|name| {
                assert!(
                    !name.contains('\0'),
                    "worker thread name {name:?} contains a NUL byte"
                );
            })
            .collect();

        let recorder = profile.then(|| Arc::new(Recorder::new(threads)));
        let (leader, followers) = handoff(threads, policy, recorder.clone());
        let mut workers = Vec::with_capacity(followers.len());
        for ((follower, name), index) in followers.into_iter().zip(names).zip(1..) {
            let mut builder = thread::Builder::new().name(name);
            if let Some(bytes) = self.stack_size {
                builder = builder.stack_size(bytes);
            }
            let core = cores[index];
            let spawned = builder.spawn(move || {
                if let Some(core) = core {
                    // Best effort (see `Placement`): an unpinned worker still works.
                    topology::pin_current(core);
                }
                follower.serve();
            });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(error) => {
                    leader.shutdown();
                    for worker in workers {
                        // A follower never panics (phase panics are caught), so this is Ok.
                        let _ = worker.join();
                    }
                    return Err(BuildError::Spawn {
                        worker: index,
                        kind: error.kind(),
                        message: error.to_string(),
                    });
                }
            }
        }
        Ok(PhasePool::from_parts(
            leader,
            Collectives::new(barrier, seats),
            workers,
            recorder,
            self.schedule,
            policy,
            cores,
        ))
    }
}

impl fmt::Debug for PhasePoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhasePoolBuilder")
            .field("threads", &self.threads)
            .field("placement", &self.placement)
            .field("wait_policy", &self.wait_policy)
            .field("profile", &self.profile)
            .field("barrier_algorithm", &self.barrier_algorithm)
            .field("schedule", &self.schedule)
            .field("thread_name", &self.thread_name.as_ref().map(|_| ".."))
            .field("stack_size", &self.stack_size)
            .field("pin_caller", &self.pin_caller)
            .finish()
    }
}
