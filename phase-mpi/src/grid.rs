//! [`DistGrid`]: a 2D grid split into row blocks across ranks, with halo exchange.

use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use mpi::request::{self, Request};
use mpi::topology::Process;
use mpi::traits::{Communicator, Destination, Source};
use mpi::Tag;
use phase_pool::kernels::max_residual;
use phase_pool::{first_touch, PhasePool, Profile, Schedule};

use crate::cluster::{to_rank, Cluster, ReduceOp};
use crate::error::GridError;
use crate::split::row_block;

/// Tag of a rank's last owned row, sent down to the next rank's top halo.
const TAG_DOWN: Tag = 1;
/// Tag of a rank's first owned row, sent up to the previous rank's bottom halo.
const TAG_UP: Tag = 2;
/// Tag of the rows sent to the root by [`DistGrid::gather`].
const TAG_GATHER: Tag = 3;

/// Where a rank's steps spent their time, summed over the timed steps (see
/// [`DistGrid::time_steps`]) since the last [`DistGrid::reset_times`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTimes {
    /// Steps timed.
    pub steps: u64,
    /// Halo exchange not hidden by the interior update: posting the sends and receives, and
    /// waiting for them after the interior update.
    pub exchange: Duration,
    /// The interior update (rows not next to a halo), one pool phase.
    pub interior: Duration,
    /// The two rows next to the halos, one pool phase.
    pub boundary: Duration,
    /// The global residual: `MPI_Allreduce` (max).
    pub reduce: Duration,
}

/// Sets the pool's phase label back to `.1` when dropped.
struct RestoreLabel<'a>(&'a PhasePool, Option<&'static str>);

impl Drop for RestoreLabel<'_> {
    fn drop(&mut self) {
        self.0.set_label(self.1);
    }
}

/// The labels of a step's parts in a pool's profile: serial sections for the MPI parts, phase
/// labels for the sweeps.
const HALO_POST: &str = "halo post";
const HALO_WAIT: &str = "halo wait";
const INTERIOR: &str = "interior sweep";
const BOUNDARY: &str = "boundary rows";
const ALL_REDUCE: &str = "all-reduce";

impl StepTimes {
    /// The step times in `profile`, the profile of the pool the steps ran on (built with
    /// `profile(true)` or `LOCKSTEP_PROFILE=1`): a step shows there as serial sections
    /// `halo post`, `halo wait` and `all-reduce` on the calling thread, and phases labelled
    /// `interior sweep` and `boundary rows`, with each worker's part and waits. Needs no
    /// [`DistGrid::time_steps`]; counts the steps by their `all-reduce`.
    ///
    /// The pool's profile tells more than these sums: which worker was slow in a sweep, and how
    /// much of a step the team spent idle in MPI (the serial sections).
    #[must_use]
    pub fn from_profile(profile: &Profile) -> StepTimes {
        let mut times = StepTimes::default();
        for phase in profile.phases() {
            match phase.label {
                Some(HALO_POST | HALO_WAIT) => times.exchange += phase.wall,
                Some(INTERIOR) => times.interior += phase.wall,
                Some(BOUNDARY) => times.boundary += phase.wall,
                Some(ALL_REDUCE) => {
                    times.reduce += phase.wall;
                    times.steps += 1;
                }
                _ => {}
            }
        }
        times
    }

    /// Everything: exchange, interior, boundary and reduction.
    #[must_use]
    pub fn total(&self) -> Duration {
        self.exchange + self.interior + self.boundary + self.reduce
    }

    /// The share of the total spent in the halo exchange, in `[0, 1]` (0 before any step).
    #[must_use]
    pub fn exchange_share(&self) -> f64 {
        let total = self.total().as_secs_f64();
        if total > 0.0 {
            self.exchange.as_secs_f64() / total
        } else {
            0.0
        }
    }
}

/// A row-major `rows x cols` grid of `f64`, double-buffered, whose interior rows are split into
/// contiguous blocks across the ranks of a [`Cluster`] ([`row_block`]); each rank sweeps its
/// block on its own [`PhasePool`].
///
/// A rank holds its block plus one row above and one below (`owned_rows().len() + 2` rows, the
/// first being global row `owned_rows().start - 1`): a neighbour's halo row, or the fixed
/// boundary row on the first and last rank. Boundary columns and rows are never written, so
/// they keep their initial values.
///
/// One step ([`DistGrid::step_max`]):
///
/// 1. post non-blocking receives for both halo rows and non-blocking sends of the first and the
///    last owned rows to the neighbours;
/// 2. sweep the interior rows, which need no halo (owned rows not next to a halo), in one pool
///    phase, while the messages travel;
/// 3. wait for the messages, then sweep the (at most two) rows next to the halos in a second
///    phase;
/// 4. swap the buffers and take the maximum of the rows' results over all ranks with
///    `MPI_Allreduce`.
///
/// With the kernel of [`phase_pool::kernels::jacobi_row`] every rank computes exactly the
/// numbers that the single-process sweep computes for its rows, so the distributed grid and
/// residual are bitwise equal to [`phase_pool::kernels::jacobi_step_serial`]'s, whatever the
/// number of ranks and threads.
///
/// # Examples
///
/// ```no_run
/// use phase_mpi::{Cluster, DistGrid};
/// use phase_pool::{kernels, PhasePool};
///
/// let cluster = Cluster::init()?;
/// let pool = PhasePool::new(2);
/// let n = 1001;
/// let mut grid = DistGrid::new(&cluster, &pool, n, n, |i, j| {
///     kernels::jacobi_initial_value(i * n + j)
/// })?;
/// for _ in 0..100 {
///     let residual = grid.step_max(&cluster, &pool, kernels::jacobi_row);
///     if residual < 1e-6 {
///         break;
///     }
/// }
/// if let Some(field) = grid.gather(&cluster, 0) {
///     assert_eq!(field.len(), n * n); // on rank 0 only
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DistGrid {
    rows: usize,
    cols: usize,
    owned: Range<usize>,
    rank: usize,
    ranks: usize,
    current: Vec<f64>,
    next: Vec<f64>,
    /// Whether steps are timed ([`time_steps`](DistGrid::time_steps)).
    timing: bool,
    times: StepTimes,
}

impl DistGrid {
    /// This rank's part of a `rows x cols` grid, both buffers set to `init(row, col)` (global
    /// indices), each row first written by the pool worker that will sweep it.
    ///
    /// Every rank must call it with the same `rows`, `cols` and `init`.
    ///
    /// # Errors
    ///
    /// [`GridError::TooManyRanks`] if the grid has fewer interior rows (`rows - 2`) than the
    /// cluster has ranks (every rank returns it).
    ///
    /// # Panics
    ///
    /// If the local block's size overflows; resumes a panic of `init`.
    pub fn new(
        cluster: &Cluster,
        pool: &PhasePool,
        rows: usize,
        cols: usize,
        init: impl Fn(usize, usize) -> f64 + Sync,
    ) -> Result<DistGrid, GridError> {
        let (rank, ranks) = (cluster.rank(), cluster.size());
        let owned = row_block(rows, ranks, rank)?;
        let first = owned.start - 1;
        let len = (owned.len() + 2)
            .checked_mul(cols)
            .unwrap_or_else(|| panic!("a block of {} x {cols} has too many elements", owned.len()));
        // Each row written first by the worker that sweeps it (the static schedule's rows).
        let buffer = || first_touch(pool, len, cols, |r, c| init(first + r, c));
        Ok(DistGrid {
            rows,
            cols,
            owned,
            rank,
            ranks,
            current: buffer(),
            next: buffer(),
            timing: false,
            times: StepTimes::default(),
        })
    }

    /// Rows of the whole grid, boundary included.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the grid.
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The interior rows this rank updates (global indices).
    #[must_use]
    pub fn owned_rows(&self) -> Range<usize> {
        self.owned.clone()
    }

    /// The rows this rank holds (global indices): its owned rows and one more on each side.
    #[must_use]
    pub fn local_rows(&self) -> Range<usize> {
        self.owned.start - 1..self.owned.end + 1
    }

    /// The current buffer of this rank's rows ([`local_rows`](DistGrid::local_rows)),
    /// row-major. The halo rows hold the neighbours' rows as of the last exchange (one step
    /// old after a step).
    #[must_use]
    pub fn local(&self) -> &[f64] {
        &self.current
    }

    /// Global row `row` of the current buffer, if this rank owns it.
    #[must_use]
    pub fn owned_row(&self, row: usize) -> Option<&[f64]> {
        self.owned
            .contains(&row)
            .then(|| &self.current[(row - self.local_rows().start) * self.cols..][..self.cols])
    }

    /// Times the parts of every following step (`on`), or stops timing them: off by default,
    /// so that an untimed step reads no clock.
    pub fn time_steps(&mut self, on: bool) {
        self.timing = on;
    }

    /// The time spent in each part of the timed steps so far (all zero while
    /// [`time_steps`](DistGrid::time_steps) is off).
    #[must_use]
    pub fn times(&self) -> StepTimes {
        self.times
    }

    /// Restarts [`times`](DistGrid::times) from zero.
    pub fn reset_times(&mut self) {
        self.times = StepTimes::default();
    }

    /// One step with the row kernel `kernel(cur, cols, i, next_row) -> residual` (the shape
    /// of [`phase_pool::kernels::jacobi_row`]); returns the maximum of the rows' results over
    /// all ranks ([`kernels::max_residual`](phase_pool::kernels::max_residual), then
    /// `MPI_Allreduce` with `MPI_MAX`). Every rank must call it.
    ///
    /// `kernel` gets a row-major block `cur` of whole rows, a row `i` of it that is neither its
    /// first nor its last, and row `i` of the next buffer; it may read rows `i - 1 ..= i + 1`
    /// of `cur` only (a 5-point or 9-point stencil). `cur` is sometimes only this rank's owned
    /// rows, sometimes its whole local block, so `i` is local to `cur`.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `kernel` (after the messages of the step have completed); panics if
    /// called from another thread than the one that called [`Cluster::init`].
    pub fn step_max<K>(&mut self, cluster: &Cluster, pool: &PhasePool, kernel: K) -> f64
    where
        K: Fn(&[f64], usize, usize, &mut [f64]) -> f64 + Sync,
    {
        let world = cluster.world();
        let cols = self.cols;
        let owned = self.owned.len();
        let up = (self.rank > 0).then(|| world.process_at_rank(to_rank(self.rank - 1)));
        let down =
            (self.rank + 1 < self.ranks).then(|| world.process_at_rank(to_rank(self.rank + 1)));
        let statics = pool.with_schedule(Schedule::Static);
        let timing = self.timing;
        // A profiled pool shows the step's parts as labelled phases and serial sections; the
        // caller's label comes back when the step ends, also by a panic.
        let restore = RestoreLabel(pool, pool.label());

        // Local row 0 is the top halo, rows 1..=owned are this rank's, row owned + 1 is the
        // bottom halo.
        let (top, rest) = self.current.split_at_mut(cols);
        let (mine, bottom) = rest.split_at_mut(owned * cols);
        let mine: &[f64] = mine;
        let mut exchange = Duration::ZERO;
        let mut interior_time = Duration::ZERO;
        let interior = request::scope(|scope| {
            let posted = clock(timing);
            let mut requests: Vec<Request<'_, [f64], _>> = Vec::with_capacity(4);
            pool.serial(HALO_POST, || {
                if let Some(up) = &up {
                    requests.push(up.immediate_receive_into_with_tag(scope, top, TAG_DOWN));
                    requests.push(up.immediate_send_with_tag(scope, &mine[..cols], TAG_UP));
                }
                if let Some(down) = &down {
                    requests.push(down.immediate_receive_into_with_tag(scope, bottom, TAG_UP));
                    let last = &mine[(owned - 1) * cols..];
                    requests.push(down.immediate_send_with_tag(scope, last, TAG_DOWN));
                }
            });
            exchange += since(posted);

            // The interior: local rows 2..owned, rows 1..owned - 1 of `mine`. They read owned
            // rows only, so they run while the halos travel.
            // A panic is held until the messages have completed (MPI still owns the buffers),
            // then resumed.
            let started = clock(timing);
            pool.set_label(Some(INTERIOR));
            let interior = panic::catch_unwind(AssertUnwindSafe(|| {
                if owned >= 3 {
                    statics.map_reduce_chunks_mut(
                        &mut self.next[2 * cols..owned * cols],
                        cols,
                        0.0,
                        |r, next_row| kernel(mine, cols, r + 1, next_row),
                        max_residual,
                    )
                } else {
                    0.0
                }
            }));
            interior_time = since(started);

            let waited = clock(timing);
            pool.serial(HALO_WAIT, || {
                for request in requests {
                    request.wait();
                }
            });
            exchange += since(waited);
            interior
        })
        .unwrap_or_else(|payload| panic::resume_unwind(payload));

        // The rows next to the halos: local rows 1 and `owned` (the same row if owned == 1).
        let started = clock(timing);
        let cur: &[f64] = &self.current;
        let (head, tail) = self.next.split_at_mut(2 * cols);
        let mut edge_rows: Vec<(usize, &mut [f64])> = vec![(1, &mut head[cols..])];
        if owned >= 2 {
            edge_rows.push((owned, &mut tail[(owned - 2) * cols..(owned - 1) * cols]));
        }
        pool.set_label(Some(BOUNDARY));
        let edges = statics.map_reduce_chunks_mut(
            &mut edge_rows,
            1,
            0.0,
            |_, chunk| {
                let (i, next_row) = &mut chunk[0];
                kernel(cur, cols, *i, next_row)
            },
            max_residual,
        );
        let boundary_time = since(started);
        pool.set_label(restore.1);

        std::mem::swap(&mut self.current, &mut self.next);
        let started = clock(timing);
        let residual = pool.serial(ALL_REDUCE, || {
            cluster.all_reduce(max_residual(interior, edges), ReduceOp::Max)
        });
        let reduce_time = since(started);

        if !timing {
            return residual;
        }
        let times = &mut self.times;
        times.steps += 1;
        times.exchange += exchange;
        times.interior += interior_time;
        times.boundary += boundary_time;
        times.reduce += reduce_time;
        residual
    }

    /// The whole current grid, row-major, on rank `root` (`None` on the others): every rank
    /// sends its owned rows (the first and last rank their boundary row too). Every rank must
    /// call it.
    ///
    /// # Panics
    ///
    /// If `root` is not a rank; if called from another thread than the one that called
    /// [`Cluster::init`].
    #[must_use]
    pub fn gather(&self, cluster: &Cluster, root: usize) -> Option<Vec<f64>> {
        assert!(
            root < self.ranks,
            "gather root {root} out of range: {} ranks",
            self.ranks
        );
        let world = cluster.world();
        let mine = self.sent_rows(self.rank);
        let local_start = self.local_rows().start;
        let my_slice =
            &self.current[(mine.start - local_start) * self.cols..][..mine.len() * self.cols];
        if self.rank != root {
            world
                .process_at_rank(to_rank(root))
                .send_with_tag(my_slice, TAG_GATHER);
            return None;
        }
        let mut field = vec![0.0; self.rows * self.cols];
        for rank in 0..self.ranks {
            let rows = self.sent_rows(rank);
            let part = &mut field[rows.start * self.cols..rows.end * self.cols];
            if rank == root {
                part.copy_from_slice(my_slice);
            } else {
                let source: Process<'_> = world.process_at_rank(to_rank(rank));
                source.receive_into_with_tag(part, TAG_GATHER);
            }
        }
        Some(field)
    }

    /// The global rows that `rank` contributes to [`gather`](DistGrid::gather).
    fn sent_rows(&self, rank: usize) -> Range<usize> {
        let owned = row_block(self.rows, self.ranks, rank).expect("the split was checked");
        let start = if rank == 0 { 0 } else { owned.start };
        let end = if rank + 1 == self.ranks {
            self.rows
        } else {
            owned.end
        };
        start..end
    }
}

impl fmt::Debug for DistGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DistGrid")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("rank", &self.rank)
            .field("ranks", &self.ranks)
            .field("owned", &self.owned)
            .finish()
    }
}

/// The time now if steps are timed.
fn clock(timing: bool) -> Option<Instant> {
    timing.then(Instant::now)
}

/// The time since `start`; zero for an untimed step.
fn since(start: Option<Instant>) -> Duration {
    start.map_or(Duration::ZERO, |start| start.elapsed())
}
