//! [`Recorder`]: where a profiled pool's workers write down their phases, and how the pieces
//! become a [`Profile`].
//!
//! Each worker appends to its own log (one uncontended lock per phase, and one per collective
//! in a run, on a line no other worker writes); the leader appends a header per phase. The
//! logs are read only by [`Recorder::take`], which the leader calls between phases, so no
//! worker writes to them then. Times are nanoseconds since the pool was built.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use barrier_core::{thread_wait_counts, WaitCounts};
use crossbeam_utils::CachePadded;

use super::{PhaseKind, PhaseProfile, Profile, Step, StepWorker, WorkerPhase};

/// The most phases a profile holds; later phases (until the next [`Recorder::take`]) are
/// counted in [`Profile::unrecorded`] only, so a long run's profile stays bounded in memory
/// (about 100 bytes per phase and worker).
pub(crate) const MAX_PHASES: usize = 1 << 16;
/// The most collectives a worker's log holds between two takes.
const MAX_SYNCS: usize = 1 << 20;

/// The profile of one pool being recorded.
pub(crate) struct Recorder {
    /// Read by every worker at every phase: on a line nobody writes (the logs are padded).
    origin: Instant,
    leader: CachePadded<Mutex<LeaderLog>>,
    workers: Box<[CachePadded<Mutex<WorkerLog>>]>,
}

/// What the leader writes: one header per phase, and the label of the next phases.
#[derive(Default)]
struct LeaderLog {
    headers: Vec<Header>,
    unrecorded: u64,
    label: Option<&'static str>,
}

struct Header {
    phase: u64,
    label: Option<&'static str>,
    kind: PhaseKind,
    start: u64,
    end: u64,
    /// Run by the caller alone, with no hand-off (a serial section, or a phase too small to
    /// share): the workers logged nothing for it.
    caller_only: bool,
}

impl Header {
    /// The profile of this header's phase, from its parts.
    fn profile(&self, wall: Duration, workers: Vec<WorkerPhase>, steps: Vec<Step>) -> PhaseProfile {
        PhaseProfile {
            number: self.phase,
            label: self.label,
            kind: self.kind,
            start: Duration::from_nanos(self.start),
            wall,
            workers,
            steps,
        }
    }
}

/// What one worker writes.
#[derive(Default)]
struct WorkerLog {
    jobs: Vec<Job>,
    syncs: Vec<Sync>,
}

/// A worker's part of one phase.
struct Job {
    phase: u64,
    start: u64,
    end: u64,
    /// Its waits outside the part's collectives (see [`Recorder::job`]).
    waited: WaitCounts,
    /// The end of this part's collectives in the log's `syncs`.
    syncs_end: usize,
}

/// A worker's pass through one collective of a run.
struct Sync {
    arrived: u64,
    left: u64,
    waited: WaitCounts,
}

/// A time and the calling thread's wait counts then.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) at: u64,
    pub(crate) counts: WaitCounts,
}

impl Recorder {
    pub(crate) fn new(threads: usize) -> Recorder {
        Recorder {
            origin: Instant::now(),
            leader: CachePadded::default(),
            workers: (0..threads).map(|_| CachePadded::default()).collect(),
        }
    }

    /// Nanoseconds since the pool was built.
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The time and this thread's wait counts now.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            at: self.now(),
            counts: thread_wait_counts(),
        }
    }

    /// The label of the phases issued from now on.
    pub(crate) fn label(&self) -> Option<&'static str> {
        lock(&self.leader).label
    }

    /// Sets the label of the phases issued from now on.
    pub(crate) fn set_label(&self, label: Option<&'static str>) {
        lock(&self.leader).label = label;
    }

    /// Worker `worker` ran its part of `phase` from `start` to `end`; `waited` is what its
    /// waits outside the part's collectives did (a follower: the wait for the phase to start;
    /// the leader: the gather).
    pub(crate) fn job(&self, worker: usize, phase: u64, start: u64, end: u64, waited: WaitCounts) {
        let mut log = lock(&self.workers[worker]);
        if log.jobs.len() < MAX_PHASES {
            let syncs_end = log.syncs.len();
            log.jobs.push(Job {
                phase,
                start,
                end,
                waited,
                syncs_end,
            });
        }
    }

    /// Worker `worker` passed a collective: arrived at `arrived`, left now.
    pub(crate) fn sync(&self, worker: usize, arrived: &Mark) {
        let left = self.mark();
        let mut log = lock(&self.workers[worker]);
        if log.syncs.len() < MAX_SYNCS {
            log.syncs.push(Sync {
                arrived: arrived.at,
                left: left.at,
                waited: left.counts.since(arrived.counts),
            });
        }
    }

    /// The leader ended `phase`, published at `start`, at `end`: its own part ran from
    /// `start` to `own_end`, and its gather's waits did `waited`.
    pub(crate) fn phase(
        &self,
        phase: u64,
        kind: PhaseKind,
        start: u64,
        own_end: u64,
        end: &Mark,
        waited: WaitCounts,
    ) {
        self.job(0, phase, start, own_end, waited);
        let end = end.at;
        let mut log = lock(&self.leader);
        if log.headers.len() < MAX_PHASES {
            let label = log.label;
            log.headers.push(Header {
                phase,
                label,
                kind,
                start,
                end,
                caller_only: false,
            });
        } else {
            log.unrecorded += 1;
        }
    }

    /// The caller ran a phase of `kind` alone from `start` to now, after the phase numbered
    /// `after`: a serial section labelled `label`, or a data-parallel phase too small to share
    /// (`label` `None`: the current label).
    pub(crate) fn caller_only(
        &self,
        kind: PhaseKind,
        label: Option<&'static str>,
        after: u64,
        start: u64,
    ) {
        let end = self.now();
        let mut log = lock(&self.leader);
        if log.headers.len() < MAX_PHASES {
            let label = label.or(log.label);
            log.headers.push(Header {
                phase: after,
                label,
                kind,
                start,
                end,
                caller_only: true,
            });
        } else {
            log.unrecorded += 1;
        }
    }

    /// The profile recorded since the last call, and empty logs in its place. Called by the
    /// leader between phases.
    pub(crate) fn take(&self) -> Profile {
        let (headers, unrecorded) = {
            let mut leader = lock(&self.leader);
            (
                std::mem::take(&mut leader.headers),
                std::mem::take(&mut leader.unrecorded),
            )
        };
        let logs: Vec<WorkerLog> = self
            .workers
            .iter()
            .map(|log| std::mem::take(&mut *lock(log)))
            .collect();
        let mut cursors = vec![0; logs.len()];
        let phases = headers
            .iter()
            .map(|header| assemble(header, &logs, &mut cursors))
            .collect();
        Profile {
            enabled: true,
            threads: logs.len(),
            phases,
            unrecorded,
        }
    }
}

impl WorkerLog {
    /// The collectives of job `index`.
    fn syncs_of(&self, index: usize) -> Range<usize> {
        let from = index
            .checked_sub(1)
            .map_or(0, |before| self.jobs[before].syncs_end);
        from..self.jobs[index].syncs_end
    }
}

/// One phase's profile from its header and the workers' logs; `cursors[i]` is where worker
/// `i`'s next job is looked for (headers and jobs are both in phase order).
fn assemble(header: &Header, logs: &[WorkerLog], cursors: &mut [usize]) -> PhaseProfile {
    let offset = |at: u64| Duration::from_nanos(at.saturating_sub(header.start));
    let wall = offset(header.end);
    if header.caller_only {
        return caller_only(header, logs.len(), wall);
    }
    let mut workers = Vec::with_capacity(logs.len());
    let is_run = header.kind == PhaseKind::Run;
    let mut syncs: Vec<Option<&[Sync]>> = Vec::with_capacity(if is_run { logs.len() } else { 0 });
    for (log, cursor) in logs.iter().zip(cursors.iter_mut()) {
        // Skip parts of phases without a header (recorded past the leader's cap).
        while log
            .jobs
            .get(*cursor)
            .is_some_and(|job| job.phase < header.phase)
        {
            *cursor += 1;
        }
        match log
            .jobs
            .get(*cursor)
            .filter(|job| job.phase == header.phase)
        {
            Some(job) => {
                workers.push(WorkerPhase {
                    ran: true,
                    start: offset(job.start),
                    busy: Duration::from_nanos(job.end.saturating_sub(job.start)),
                    waited: job.waited,
                });
                if is_run {
                    syncs.push(Some(&log.syncs[log.syncs_of(*cursor)]));
                }
                *cursor += 1;
            }
            None => {
                workers.push(WorkerPhase {
                    ran: false,
                    start: Duration::ZERO,
                    busy: Duration::ZERO,
                    waited: WaitCounts::default(),
                });
                if is_run {
                    syncs.push(None);
                }
            }
        }
    }
    let steps = match header.kind {
        PhaseKind::Run => run_steps(&workers, &syncs, wall, offset),
        PhaseKind::DataParallel | PhaseKind::Serial => vec![one_step(&workers, wall)],
    };
    header.profile(wall, workers, steps)
}

/// A phase the caller ran alone: the leader busy throughout, the other workers idle.
fn caller_only(header: &Header, threads: usize, wall: Duration) -> PhaseProfile {
    let workers: Vec<WorkerPhase> = (0..threads)
        .map(|worker| WorkerPhase {
            ran: worker == 0,
            start: Duration::ZERO,
            busy: if worker == 0 { wall } else { Duration::ZERO },
            waited: WaitCounts::default(),
        })
        .collect();
    let steps = vec![one_step(&workers, wall)];
    header.profile(wall, workers, steps)
}

/// A data-parallel phase as one step: each worker computes for its part and waits for the rest
/// of the phase (before its start and after its end).
fn one_step(workers: &[WorkerPhase], wall: Duration) -> Step {
    Step {
        start: Duration::ZERO,
        end: wall,
        workers: workers
            .iter()
            .map(|worker| StepWorker {
                ran: worker.ran,
                start: worker.start,
                compute: worker.busy,
                wait: wall.saturating_sub(worker.start + worker.busy),
                waited: worker.waited,
            })
            .collect(),
    }
}

/// A run's supersteps: each worker's time from the end of one collective (or its start) to its
/// arrival at the next is its computation, the time in the collective its wait. A run ends
/// with a collective of its own, so the last step ends there.
fn run_steps(
    workers: &[WorkerPhase],
    syncs: &[Option<&[Sync]>],
    wall: Duration,
    offset: impl Fn(u64) -> Duration,
) -> Vec<Step> {
    // Logs cut short by their cap may hold different numbers of collectives: keep the common
    // ones.
    let count = syncs.iter().flatten().map(|s| s.len()).min().unwrap_or(0);
    let mut from: Vec<Duration> = workers.iter().map(|worker| worker.start).collect();
    let mut steps = Vec::with_capacity(count);
    for k in 0..count {
        let mut step_workers = Vec::with_capacity(workers.len());
        for (worker, syncs) in syncs.iter().enumerate() {
            step_workers.push(match syncs {
                Some(syncs) => {
                    let sync = &syncs[k];
                    let arrived = offset(sync.arrived);
                    let left = offset(sync.left);
                    let start = from[worker];
                    from[worker] = left;
                    StepWorker {
                        ran: true,
                        start,
                        compute: arrived.saturating_sub(start),
                        wait: left.saturating_sub(arrived),
                        waited: sync.waited,
                    }
                }
                None => StepWorker {
                    ran: false,
                    start: Duration::ZERO,
                    compute: Duration::ZERO,
                    wait: Duration::ZERO,
                    waited: WaitCounts::default(),
                },
            });
        }
        let ran = || step_workers.iter().filter(|w| w.ran);
        let start = ran().map(|w| w.start).min().unwrap_or_default();
        let end = ran()
            .map(|w| w.start + w.compute + w.wait)
            .max()
            .unwrap_or_default()
            .min(wall.max(start));
        steps.push(Step {
            start,
            end,
            workers: step_workers,
        });
    }
    steps
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
