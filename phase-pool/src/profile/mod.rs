//! Profiles of a pool's phases: where a time step goes, worker by worker.
//!
//! A pool built with [`profile(true)`](crate::PhasePoolBuilder::profile) (or with
//! `LOCKSTEP_PROFILE=1` in the environment) records, for every phase, when each worker started
//! and ended its part and how its waits went (spun, yielded or slept, and how late a sleeper
//! woke), and for every collective of an SPMD run, when each worker arrived and left.
//! [`PhasePool::profile`](crate::PhasePool::profile) hands over what was recorded since the
//! last call as a [`Profile`]: a table when printed ([`Display`](std::fmt::Display)),
//! [`summary`](Profile::summary) figures (imbalance, the share of the step lost to waiting, the
//! slowest worker), JSON lines and CSV for other tools, and with the `plot` feature a timeline
//! picture.
//!
//! Off (the default), a phase costs what it did before: one predictable branch per worker.
//! On, each worker reads the clock and its wait counts twice per phase and appends to a log of
//! its own (one uncontended lock), and the leader appends one header per phase; a collective
//! in a run costs the same again per worker. `BENCHMARKS.md` gives the measured cost.

mod export;
mod recorder;
mod summary;
#[cfg(feature = "plot")]
mod timeline;

use std::time::Duration;

pub use barrier_core::{WaitCounts, WaitStage};
pub(crate) use recorder::{Mark, Recorder};
pub use summary::{Summary, WorkerSummary};
#[cfg(feature = "plot")]
pub use timeline::PlotError;

/// What a profiled pool recorded between two calls of
/// [`PhasePool::profile`](crate::PhasePool::profile): one [`PhaseProfile`] per phase, in
/// order.
///
/// # Examples
///
/// ```
/// use phase_pool::PhasePool;
///
/// let pool = PhasePool::builder().threads(2).profile(true).build()?;
/// let mut data = vec![1.0f64; 10_000];
/// pool.set_label(Some("scale"));
/// for _ in 0..10 {
///     pool.for_each_chunk_mut(&mut data, 1000, |_, chunk| chunk.iter_mut().for_each(|x| *x *= 1.5));
/// }
/// let profile = pool.profile();
/// assert_eq!(profile.phases().len(), 10);
/// assert_eq!(profile.phases()[0].label, Some("scale"));
/// let summary = profile.summary();
/// assert!(summary.imbalance >= 1.0);
/// println!("{profile}");
/// assert!(pool.profile().phases().is_empty(), "taken and reset");
/// # Ok::<(), phase_pool::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub(crate) enabled: bool,
    pub(crate) threads: usize,
    pub(crate) phases: Vec<PhaseProfile>,
    pub(crate) unrecorded: u64,
}

impl Profile {
    /// The profile of a pool that does not record one: no phases, and
    /// [`is_enabled`](Self::is_enabled) false.
    pub(crate) fn disabled(threads: usize) -> Profile {
        Profile {
            enabled: false,
            threads,
            phases: Vec::new(),
            unrecorded: 0,
        }
    }

    /// Whether the pool records profiles.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The pool's number of workers.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The phases recorded, in the order they ran.
    #[must_use]
    pub fn phases(&self) -> &[PhaseProfile] {
        &self.phases
    }

    /// Phases that ran after the profile held its most phases (65,536) and were not recorded:
    /// take profiles more often to see them all.
    #[must_use]
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded
    }

    /// The figures of every phase together; see [`Summary`].
    #[must_use]
    pub fn summary(&self) -> Summary {
        Summary::of(self.threads, self.phases.iter())
    }

    /// The figures of the phases of each label, labels in order of first appearance (phases
    /// without a label together under `None`).
    #[must_use]
    pub fn summaries_by_label(&self) -> Vec<(Option<&'static str>, Summary)> {
        let mut labels: Vec<Option<&'static str>> = Vec::new();
        for phase in &self.phases {
            if !labels.contains(&phase.label) {
                labels.push(phase.label);
            }
        }
        labels
            .into_iter()
            .map(|label| {
                let phases = self.phases.iter().filter(|phase| phase.label == label);
                (label, Summary::of(self.threads, phases))
            })
            .collect()
    }
}

/// Which kind of phase a [`PhaseProfile`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhaseKind {
    /// A data-parallel phase (`for_each_*`, `map_reduce_*`, a grid's step): one step, and a
    /// worker that had not started when the others finished is skipped.
    DataParallel,
    /// An SPMD run ([`run`](crate::PhasePool::run), [`run_bsp`](crate::PhasePool::run_bsp)):
    /// one step per collective (a run ends with one of its own).
    Run,
    /// Code the calling thread ran alone between phases, marked with
    /// [`PhasePool::serial`](crate::PhasePool::serial) (an MPI exchange, I/O): worker 0 busy,
    /// the others idle (not [`ran`](WorkerPhase::ran)).
    Serial,
}

/// One phase: when it ran, how long it took, and each worker's part. Times within the phase
/// are offsets from its start (the leader publishing it).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PhaseProfile {
    /// The pool's number for the phase (phases count from 1 since the pool was built; a
    /// serial section has the number of the phase before it).
    pub number: u64,
    /// The label set by [`PhasePool::set_label`](crate::PhasePool::set_label) when the phase
    /// was issued (a serial section's own).
    pub label: Option<&'static str>,
    /// Data-parallel phase or SPMD run.
    pub kind: PhaseKind,
    /// When the phase started, since the pool was built.
    pub start: Duration,
    /// From the phase's start to the leader having gathered every worker.
    pub wall: Duration,
    /// Each worker's part, by worker index.
    pub workers: Vec<WorkerPhase>,
    /// The phase's steps: one for a data-parallel phase, one per collective for a run.
    pub steps: Vec<Step>,
}

/// A worker's part of one phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerPhase {
    /// Whether the worker ran its part (a data-parallel phase skips a worker that had not
    /// started when the others were done; the others did its work).
    pub ran: bool,
    /// When it started its part: for a follower, how late it woke up for the phase.
    pub start: Duration,
    /// How long its part took (in a run, its collectives included).
    pub busy: Duration,
    /// How its wait outside the collectives went: a follower's wait for the phase to start,
    /// the leader's wait for the followers to finish.
    pub waited: WaitCounts,
}

/// One step of a phase: the workers compute, then wait for each other (a data-parallel
/// phase's end, or a collective of a run).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// When the first worker started the step.
    pub start: Duration,
    /// When the last worker left it.
    pub end: Duration,
    /// Each worker's step, by worker index.
    pub workers: Vec<StepWorker>,
}

impl Step {
    /// The worker that arrived last (the one the others waited for), if any ran.
    #[must_use]
    pub fn straggler(&self) -> Option<usize> {
        self.workers
            .iter()
            .enumerate()
            .filter(|(_, worker)| worker.ran)
            .max_by_key(|(_, worker)| worker.arrived())
            .map(|(index, _)| index)
    }
}

/// A worker's part of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepWorker {
    /// Whether the worker took part.
    pub ran: bool,
    /// When it started computing.
    pub start: Duration,
    /// How long it computed (the user's code and the pool's bookkeeping around it).
    pub compute: Duration,
    /// How long it then waited: in a collective, or until the phase ended.
    pub wait: Duration,
    /// How the wait went (in a data-parallel phase: the worker's wait outside its part, as
    /// [`WorkerPhase::waited`]).
    pub waited: WaitCounts,
}

impl StepWorker {
    /// When it arrived at the step's end (finished computing).
    #[must_use]
    pub fn arrived(&self) -> Duration {
        self.start + self.compute
    }
}
