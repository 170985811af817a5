//! How the chunks of a data-parallel phase are dealt to the workers.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::claims::{Blocks, Claims};
use crate::pool::PhasePool;

/// How a data-parallel phase deals its chunks (or indices) to the workers.
///
/// Every schedule runs every chunk exactly once. Results do not depend on the schedule:
/// reductions fold the per-chunk partial results in chunk order whoever computed them.
///
/// # Examples
///
/// ```
/// use phase_pool::{PhasePool, Schedule};
///
/// let pool = PhasePool::builder().threads(2).schedule(Schedule::Guided).build()?;
/// assert_eq!(pool.schedule(), Schedule::Guided);
/// # Ok::<(), phase_pool::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Schedule {
    /// Worker `w` of `n` owns the contiguous block [`static_block(w, n, c)`](static_block) of
    /// the `c` chunks (the first `c % n` workers one chunk more): the same block every phase
    /// with the same `c` and `n`, so a worker keeps touching the memory it touched first
    /// (cache and NUMA locality). It runs its block in up to 8 pieces from the front; a worker done with
    /// its own block takes the pieces another has not started from the back (libomp's
    /// `static_steal`), so a worker whose core is busy with another program holds up no one.
    /// The cheapest schedule: one compare-and-swap per piece on the owner's own cache line.
    #[default]
    Static,
    /// Each worker starts with its [`Static`](Schedule::Static) block, cut into pieces of
    /// `chunk` chunks (`0` counts as 1), and steals pieces from the other workers once its own
    /// are done (crossbeam-deque work stealing). For uneven work per chunk.
    Dynamic {
        /// Chunks per piece.
        chunk: usize,
    },
    /// Pieces shrink as the phase proceeds: each is `ceil(remaining / (2 * n))` chunks (at
    /// least one), taken from one shared queue in order and, once that is empty, stolen. For
    /// uneven work with few chunks.
    Guided,
}

/// The block of `0..units` that worker `worker` of `workers` owns under [`Schedule::Static`]
/// (and [`Ctx::block`](crate::Ctx::block)): contiguous, in worker order, the first
/// `units % workers` workers one unit more than the others.
///
/// # Panics
///
/// If `worker >= workers`.
///
/// # Examples
///
/// ```
/// use phase_pool::static_block;
///
/// let blocks: Vec<_> = (0..3).map(|w| static_block(w, 3, 8)).collect();
/// assert_eq!(blocks, [0..3, 3..6, 6..8]);
/// ```
#[must_use]
pub fn static_block(worker: usize, workers: usize, units: usize) -> Range<usize> {
    assert!(
        worker < workers,
        "worker {worker} out of range: the team has {workers} workers"
    );
    let base = units / workers;
    let extra = units % workers;
    let start = worker * base + worker.min(extra);
    let len = base + usize::from(worker < extra);
    start..start + len
}

/// One phase's dealing of `units` chunks to the workers.
pub(crate) enum Plan<'a> {
    Static(Blocks<'a>),
    Stealing(Box<Stealing>),
}

/// A worker's own deque of pieces, taken out by that worker at the start of the phase (a
/// crossbeam `Worker` is `Send` but not `Sync`).
type Local = Mutex<Option<Worker<Range<usize>>>>;

/// The deques of a [`Schedule::Dynamic`] or [`Schedule::Guided`] phase.
pub(crate) struct Stealing {
    locals: Box<[Local]>,
    stealers: Box<[Stealer<Range<usize>>]>,
    injector: Injector<Range<usize>>,
}

impl<'a> Plan<'a> {
    /// The plan of a phase of `units` chunks on `claims.len()` workers; static blocks claim
    /// their pieces in `claims`.
    pub(crate) fn new(schedule: Schedule, units: usize, claims: &'a Claims) -> Plan<'a> {
        let workers = claims.workers();
        if workers == 1 || units <= 1 || schedule == Schedule::Static {
            // (With one worker or one chunk there is nothing to balance.)
            return Plan::Static(claims.next_phase(units));
        }
        let (locals, injector): (Vec<Worker<Range<usize>>>, _) = match schedule {
            Schedule::Static => unreachable!("planned above"),
            Schedule::Dynamic { chunk } => {
                let piece = chunk.max(1);
                let locals = (0..workers)
                    .map(|w| {
                        let local = Worker::new_lifo();
                        let block = static_block(w, workers, units);
                        // Pushed last piece first: the owner pops its block in ascending order,
                        // thieves steal from the far end.
                        let starts: Vec<usize> = block.clone().step_by(piece).collect();
                        for &start in starts.iter().rev() {
                            // Saturating: `piece` may be as large as `usize::MAX`.
                            local.push(start..start.saturating_add(piece).min(block.end));
                        }
                        local
                    })
                    .collect();
                (locals, Injector::new())
            }
            Schedule::Guided => {
                let injector = Injector::new();
                let mut start = 0;
                while start < units {
                    let piece = (units - start).div_ceil(2 * workers).max(1);
                    injector.push(start..start + piece);
                    start += piece;
                }
                ((0..workers).map(|_| Worker::new_lifo()).collect(), injector)
            }
        };
        let stealers = locals.iter().map(Worker::stealer).collect();
        Plan::Stealing(Box::new(Stealing {
            locals: locals
                .into_iter()
                .map(|local| Mutex::new(Some(local)))
                .collect(),
            stealers,
            injector,
        }))
    }

    /// Calls `f(range, stolen)` with worker `worker`'s share of the chunks, as disjoint
    /// ranges (`stolen`: not from the worker's own block or deque). Over all workers of one
    /// phase, every chunk in `0..units` is in exactly one range, and once any one call has
    /// returned without being stopped, every chunk has been taken by some worker, so workers
    /// that have not started need not take part. `f` returning `false` stops this worker
    /// taking more.
    pub(crate) fn run(&self, worker: usize, mut f: impl FnMut(Range<usize>, bool) -> bool) {
        match self {
            Plan::Static(blocks) => blocks.run(worker, f),
            Plan::Stealing(stealing) => {
                let Stealing {
                    locals,
                    stealers,
                    injector,
                } = &**stealing;
                let local = locals[worker]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .expect("each worker takes its deque once per phase");
                while let Some(piece) = local.pop() {
                    if !f(piece, false) {
                        return;
                    }
                }
                while let Some(piece) = steal(worker, stealers, injector) {
                    if !f(piece, true) {
                        return;
                    }
                }
            }
        }
    }
}

/// A piece from the shared queue or another worker's deque; `None` once all are empty.
fn steal(
    me: usize,
    stealers: &[Stealer<Range<usize>>],
    injector: &Injector<Range<usize>>,
) -> Option<Range<usize>> {
    loop {
        let mut retry = false;
        match injector.steal() {
            Steal::Success(piece) => return Some(piece),
            Steal::Retry => retry = true,
            Steal::Empty => {}
        }
        let n = stealers.len();
        for victim in (1..n).map(|k| (me + k) % n) {
            match stealers[victim].steal() {
                Steal::Success(piece) => return Some(piece),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        // No piece is ever added during a phase, so all-empty means done.
        if !retry {
            return None;
        }
    }
}

/// A [`PhasePool`] with a schedule chosen for the data-parallel calls made through it; see
/// [`PhasePool::with_schedule`]. It has the same data-parallel methods as the pool.
///
/// # Examples
///
/// The same phases under every schedule: the schedule changes who computes which chunk, never
/// the result, which matches the serial computation bit for bit.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use phase_pool::{reduce, PhasePool, Schedule};
///
/// let pool = PhasePool::new(3);
/// let fresh = || (0..1000).map(f64::from).collect::<Vec<f64>>();
/// let mut serial = fresh();
/// serial.iter_mut().for_each(|x| *x = 1.0 / (1.0 + *x));
/// let serial_sum = serial.chunks(10).map(|c| c.iter().sum::<f64>()).fold(0.0, reduce::sum);
///
/// for schedule in [Schedule::Static, Schedule::Dynamic { chunk: 3 }, Schedule::Guided] {
///     let scheduled = pool.with_schedule(schedule);
///     assert_eq!(scheduled.schedule(), schedule);
///
///     let mut v = fresh();
///     scheduled.for_each_chunk_mut(&mut v, 10, |_, c| {
///         c.iter_mut().for_each(|x| *x = 1.0 / (1.0 + *x));
///     });
///     assert_eq!(v, serial);
///     let sum =
///         scheduled.map_reduce_chunks_mut(&mut v, 10, 0.0, |_, c| c.iter().sum(), reduce::sum);
///     assert_eq!(sum.to_bits(), serial_sum.to_bits());
///
///     let evens = |r: std::ops::Range<usize>| r.filter(|i| i % 2 == 0).count();
///     assert_eq!(scheduled.map_reduce_index(0..999, 64, 0, evens, reduce::sum), 500);
///     let total = AtomicU64::new(0);
///     scheduled.for_each_index(..100, |i| { total.fetch_add(i as u64, Ordering::Relaxed); });
///     assert_eq!(total.into_inner(), (0..100).sum::<u64>());
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Scheduled<'p> {
    pub(crate) pool: &'p PhasePool,
    pub(crate) schedule: Schedule,
}

impl<'p> Scheduled<'p> {
    pub(crate) fn new(pool: &'p PhasePool, schedule: Schedule) -> Scheduled<'p> {
        Scheduled { pool, schedule }
    }

    /// The schedule of calls made through this handle.
    #[must_use]
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_blocks_partition_in_order() {
        for workers in 1..=9 {
            for units in 0..40 {
                let mut next = 0;
                for w in 0..workers {
                    let block = static_block(w, workers, units);
                    assert_eq!(block.start, next, "workers={workers} units={units} w={w}");
                    assert!(block.len() <= units / workers + 1);
                    next = block.end;
                }
                assert_eq!(next, units);
            }
        }
    }

    fn dealt(schedule: Schedule, units: usize, workers: usize) -> Vec<usize> {
        let claims = Claims::new(workers);
        let plan = Plan::new(schedule, units, &claims);
        let mut seen = Vec::new();
        for w in 0..workers {
            plan.run(w, |range, _| {
                seen.extend(range);
                true
            });
        }
        seen.sort_unstable();
        seen
    }

    #[test]
    fn every_schedule_deals_each_unit_once() {
        let schedules = [
            Schedule::Static,
            Schedule::Dynamic { chunk: 0 },
            Schedule::Dynamic { chunk: 3 },
            Schedule::Guided,
        ];
        for schedule in schedules {
            for workers in [1, 2, 3, 5, 8] {
                for units in [0, 1, 2, 7, 64, 101] {
                    assert_eq!(
                        dealt(schedule, units, workers),
                        (0..units).collect::<Vec<_>>(),
                        "{schedule:?} units={units} workers={workers}"
                    );
                }
            }
        }
    }
}
