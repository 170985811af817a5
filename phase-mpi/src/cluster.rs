//! [`Cluster`]: MPI initialised `Funneled`, its collectives, and abort on panic.

use std::fmt;
use std::ops::{Add, Mul};
use std::os::raw::c_int;
use std::thread::{self, ThreadId};

use barrier_core::topology;
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use mpi::{Rank, Threading};
use phase_pool::{reduce, Ctx, Placement};

use crate::error::InitError;

/// The error code a rank passes to `MPI_Abort` when it unwinds from a panic.
pub const PANIC_ABORT_CODE: c_int = 101;

/// This process's part in an MPI job: MPI initialised with `Threading::Funneled`, the world
/// communicator, and the guard that aborts the whole job if the rank panics.
///
/// **Funneled.** The rank's worker pool runs many threads, but only the thread that called
/// [`Cluster::init`] talks to MPI, between phases; every method that calls MPI checks it (and
/// panics on another thread). In a [`PhasePool`](phase_pool::PhasePool) phase that thread is
/// worker 0, so [`Cluster::pool_all_reduce`] and [`Cluster::pool_broadcast`] run their one MPI
/// collective there.
///
/// **Failure.** If the rank unwinds through its `Cluster` (a panic on the MPI thread, or a pool
/// worker's panic resumed in it), the drop calls `MPI_Abort` on the world with
/// [`PANIC_ABORT_CODE`], so the job ends instead of leaving the other ranks waiting for a halo
/// that will never come. A normal drop finalises MPI.
pub struct Cluster {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    node_rank: usize,
    node_size: usize,
    provided: Threading,
    thread: ThreadId,
    // Dropped last: finalises MPI.
    universe: Option<Universe>,
}

impl Cluster {
    /// Initialises MPI with `Threading::Funneled` on the calling thread, which becomes the
    /// only thread allowed to call MPI.
    ///
    /// # Errors
    ///
    /// [`InitError::AlreadyInitialized`] if MPI is already initialised in this process;
    /// [`InitError::Threading`] if the library provides less than `Funneled` (MPI is finalised
    /// again before returning).
    pub fn init() -> Result<Cluster, InitError> {
        let (universe, provided) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or(InitError::AlreadyInitialized)?;
        if let Err(error) = check_threading(provided) {
            drop(universe);
            return Err(error);
        }
        let world = universe.world();
        let node = world.split_shared(world.rank());
        let (node_rank, node_size) = (node.rank(), node.size());
        Ok(Cluster {
            node_rank: usize::try_from(node_rank).expect("MPI ranks are not negative"),
            node_size: usize::try_from(node_size).expect("MPI sizes are positive"),
            rank: usize::try_from(world.rank()).expect("MPI ranks are not negative"),
            size: usize::try_from(world.size()).expect("MPI sizes are positive"),
            world,
            provided,
            thread: thread::current().id(),
            universe: Some(universe),
        })
    }

    /// This process's rank in the world, in `0..size()`.
    #[must_use]
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks in the world.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// This rank's index among the ranks on its node (that share memory with it).
    #[must_use]
    pub fn node_rank(&self) -> usize {
        self.node_rank
    }

    /// The number of ranks on this rank's node.
    #[must_use]
    pub fn node_size(&self) -> usize {
        self.node_size
    }

    /// A placement for a pool of `threads` workers that keeps the ranks of one node on
    /// different cores: worker `w` of node rank `r` on the `(r * threads + w) % cores.len()`-th
    /// of the cores this process may use (its affinity mask, as the launcher set it, read
    /// before any thread is pinned). With one rank per node it is [`Placement::Compact`], the
    /// pool's default.
    #[must_use]
    pub fn node_placement(&self, threads: usize) -> Placement {
        if self.node_size <= 1 {
            return Placement::Compact;
        }
        Placement::Cores(node_cores(
            self.node_rank,
            threads,
            &topology::usable_cores(),
        ))
    }

    /// The thread support the library provided (`Funneled` or more).
    #[must_use]
    pub fn provided_threading(&self) -> Threading {
        self.provided
    }

    /// The world communicator, for MPI calls of your own (from the MPI thread only).
    ///
    /// # Panics
    ///
    /// If called from another thread than the one that called [`Cluster::init`].
    #[must_use]
    pub fn world(&self) -> &SimpleCommunicator {
        self.check_thread();
        &self.world
    }

    /// Ends the whole job: `MPI_Abort` on the world with `code`.
    pub fn abort(&self, code: c_int) -> ! {
        self.world.abort(code)
    }

    /// `op` over every rank's `value` (`MPI_Allreduce`); every rank gets the result.
    ///
    /// # Panics
    ///
    /// If called from another thread than the one that called [`Cluster::init`].
    #[must_use]
    pub fn all_reduce<T: Reducible>(&self, value: T, op: ReduceOp) -> T {
        let mut out = value;
        self.world()
            .all_reduce_into(&value, &mut out, op.system_operation());
        out
    }

    /// Rank `root`'s `value` on every rank (`MPI_Bcast`); the other ranks' values are ignored.
    ///
    /// # Panics
    ///
    /// If `root >= size()`; if called from another thread than the one that called
    /// [`Cluster::init`].
    #[must_use]
    pub fn broadcast<T: Reducible>(&self, root: usize, value: T) -> T {
        assert!(
            root < self.size(),
            "broadcast root {root} out of range: {} ranks",
            self.size()
        );
        let mut value = value;
        self.world()
            .process_at_rank(to_rank(root))
            .broadcast_into(&mut value);
        value
    }

    /// `op` over the `value`s of every worker of every rank, inside a
    /// [`PhasePool::run`](phase_pool::PhasePool::run) phase: a node-local fold ([`Ctx::reduce`], in worker
    /// order), then one `MPI_Allreduce` by worker 0 (the MPI thread) while the other workers
    /// wait ([`Ctx::single`]). Every worker of every rank gets the result. Two barriers, one
    /// MPI collective.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phase_mpi::{Cluster, ReduceOp};
    /// use phase_pool::PhasePool;
    ///
    /// let cluster = Cluster::init()?;
    /// let pool = PhasePool::new(2);
    /// let totals = pool.run(|ctx| cluster.pool_all_reduce(ctx, 1u64, ReduceOp::Sum));
    /// // Every worker counted itself once, on every rank.
    /// assert!(totals.iter().all(|&t| t == 2 * cluster.size() as u64));
    /// # Ok::<(), phase_mpi::InitError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If worker 0 is not the MPI thread (the pool was not driven from the thread that called
    /// [`Cluster::init`]); as [`Ctx::reduce`] and [`Ctx::single`].
    pub fn pool_all_reduce<T: Reducible>(&self, ctx: &mut Ctx<'_>, value: T, op: ReduceOp) -> T {
        let node = ctx.reduce(value, |a, b| op.apply(a, b));
        ctx.single(|| self.all_reduce(node, op))
    }

    /// Worker 0 of rank `root`'s `value` on every worker of every rank, inside a
    /// [`PhasePool::run`](phase_pool::PhasePool::run) phase: one `MPI_Bcast` by worker 0 of
    /// each rank while the other workers wait, then a node-local broadcast. One barrier, one
    /// MPI collective.
    ///
    /// # Panics
    ///
    /// As [`Cluster::pool_all_reduce`]; if `root >= size()`.
    pub fn pool_broadcast<T: Reducible>(&self, ctx: &mut Ctx<'_>, root: usize, value: T) -> T {
        ctx.single(|| self.broadcast(root, value))
    }

    /// Panics unless the caller is the MPI thread.
    #[track_caller]
    fn check_thread(&self) {
        assert!(
            thread::current().id() == self.thread,
            "phase-mpi: MPI is initialised Funneled: only the thread that called \
             Cluster::init may call MPI (in a pool phase: worker 0, the pool's caller)"
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "phase-mpi: rank {} is unwinding from a panic: aborting the job \
                 (MPI_Abort, code {PANIC_ABORT_CODE})",
                self.rank
            );
            self.world.abort(PANIC_ABORT_CODE);
        }
        // `universe` drops after this and finalises MPI.
        drop(self.universe.take());
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("provided", &self.provided)
            .finish()
    }
}

/// `Ok` if `provided` is at least `Threading::Funneled`.
pub(crate) fn check_threading(provided: Threading) -> Result<(), InitError> {
    if provided >= Threading::Funneled {
        Ok(())
    } else {
        Err(InitError::Threading { provided })
    }
}

/// A rank index as MPI's `Rank`.
pub(crate) fn to_rank(rank: usize) -> Rank {
    Rank::try_from(rank).expect("rank fits MPI's int")
}

/// A reduction across ranks, applied the same way in the node-local fold and by MPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReduceOp {
    /// The largest value (`b` if `b > a`, else `a`, like `kernels::max_residual`; `MPI_MAX`).
    Max,
    /// The smallest value (`MPI_MIN`).
    Min,
    /// The sum (`MPI_SUM`; for floats, bitwise reproducible for a fixed rank and thread count).
    Sum,
    /// The product (`MPI_PROD`).
    Product,
}

impl ReduceOp {
    /// `op(a, b)` on this node.
    #[must_use]
    pub fn apply<T: Reducible>(self, a: T, b: T) -> T {
        match self {
            ReduceOp::Max => reduce::max(a, b),
            ReduceOp::Min => reduce::min(a, b),
            ReduceOp::Sum => a + b,
            ReduceOp::Product => a * b,
        }
    }

    fn system_operation(self) -> SystemOperation {
        match self {
            ReduceOp::Max => SystemOperation::max(),
            ReduceOp::Min => SystemOperation::min(),
            ReduceOp::Sum => SystemOperation::sum(),
            ReduceOp::Product => SystemOperation::product(),
        }
    }
}

/// A value that [`Cluster::all_reduce`] and [`Cluster::broadcast`] can send: an MPI datatype
/// (`f64`, `i64`, `u32`, ...) with the arithmetic of [`ReduceOp`].
pub trait Reducible:
    Equivalence + Copy + PartialOrd + Add<Output = Self> + Mul<Output = Self> + Send + Sync + 'static
{
}

impl<T> Reducible for T where
    T: Equivalence + Copy + PartialOrd + Add<Output = T> + Mul<Output = T> + Send + Sync + 'static
{
}

/// The cores of node rank `node_rank`'s `threads` workers, taken in turn from `usable` after
/// those of the lower ranks (wrapping around when the node's workers outnumber its cores).
/// Empty (no pinning) when `usable` is.
fn node_cores(node_rank: usize, threads: usize, usable: &[usize]) -> Vec<usize> {
    if usable.is_empty() {
        return Vec::new();
    }
    (0..threads)
        .map(|w| usable[(node_rank * threads + w) % usable.len()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funneled_or_more_is_required() {
        assert_eq!(
            check_threading(Threading::Single),
            Err(InitError::Threading {
                provided: Threading::Single
            })
        );
        for ok in [
            Threading::Funneled,
            Threading::Serialized,
            Threading::Multiple,
        ] {
            assert_eq!(check_threading(ok), Ok(()));
        }
        let text = InitError::Threading {
            provided: Threading::Single,
        }
        .to_string();
        assert!(text.contains("Funneled"), "{text}");
    }

    #[test]
    fn ops_fold_like_mpi() {
        assert_eq!(ReduceOp::Max.apply(1.0, 2.0), 2.0);
        assert_eq!(ReduceOp::Min.apply(1.0, 2.0), 1.0);
        assert_eq!(ReduceOp::Sum.apply(3u64, 4), 7);
        assert_eq!(ReduceOp::Product.apply(3i64, -4), -12);
    }

    #[test]
    fn node_cores_are_the_usable_ones() {
        // A rank launched on cores 4..8 gets those, not 0..4.
        assert_eq!(node_cores(0, 2, &[4, 5, 6, 7]), [4, 5]);
        assert_eq!(node_cores(1, 2, &[4, 5, 6, 7]), [6, 7]);
        assert_eq!(node_cores(2, 2, &[4, 5, 6, 7]), [4, 5]);
        assert_eq!(node_cores(1, 3, &[2, 9]), [9, 2, 9]);
        assert!(node_cores(1, 3, &[]).is_empty());
    }
}
