//! # phase-mpi
//!
//! Scale-out of phase-pool's step code over MPI (rsmpi on MPICH or Open MPI): one process per
//! node (or socket), a [`PhasePool`](phase_pool::PhasePool) inside each, and MPI between them.
//!
//! | item | what it is |
//! |------|------------|
//! | [`Cluster`] | MPI initialised `Funneled` (checked); rank, size, collectives; abort on panic |
//! | [`Cluster::pool_all_reduce`], [`Cluster::pool_broadcast`] | BSP collectives over every worker of every rank: node-local fold, one MPI call |
//! | [`DistGrid`] | a 2D grid in row blocks across ranks; halo exchange overlapped with the interior sweep |
//! | [`row_block`] | which rows a rank owns (any rank count, uneven splits) |
//! | [`StepTimes`] | where a step's time went (exposed exchange, interior, boundary rows, reduction) |
//! | [`InitError`], [`GridError`] | why MPI could not start, why a grid could not be split |
//!
//! ## Threads and MPI
//!
//! MPI is initialised with `Threading::Funneled`: the rank's pool workers never call MPI; the
//! thread that called [`Cluster::init`] (worker 0 of its pool, which drives the phases) does,
//! between phases. [`Cluster`] checks the thread on every MPI call.
//!
//! ## Failure
//!
//! A rank that unwinds from a panic (its own, or a pool worker's resumed in it) aborts the whole
//! job with `MPI_Abort` when its [`Cluster`] drops, instead of hanging the other ranks in a
//! halo exchange or a reduction. A rank killed outright (a signal, `panic = "abort"`) is
//! noticed by the launcher (MPICH's Hydra), which ends the job.
//!
//! ## Determinism
//!
//! With the reference kernel ([`phase_pool::kernels::jacobi_row`]) every rank computes exactly
//! the numbers of the serial sweep for its rows, and the residual is a maximum (exact in any
//! order), so grid and residual are bitwise equal to the single-process result for every rank
//! and thread count.
//!
//! ## When the exchange is hidden
//!
//! An n x n grid of `f64` over P ranks, m = n / P rows per rank: each step a rank sends and
//! receives two rows, 16n bytes each way, while it updates the (m - 2) n interior points that
//! need no halo. With link latency a, bandwidth b and a node update rate R (points per
//! second), the exchange is hidden once
//!
//! ```text
//! m >= 2 + R (2a / n + 16 / b)
//! ```
//!
//! For example, a node updating 4e9 points/s on links with a = 1.5 us and b = 10 GB/s hides it
//! from about 128 x 128 points per rank; with a = 20 us and b = 1.2 GB/s (10 GbE), from about
//! 450 x 450. Above that only the residual's all-reduce per step (about a log2 P) stays
//! exposed; [`StepTimes`] shows what a run pays.
#![deny(missing_docs, missing_debug_implementations)]

mod cluster;
mod error;
mod grid;
mod split;

pub use cluster::{Cluster, ReduceOp, Reducible, PANIC_ABORT_CODE};
pub use error::{GridError, InitError};
pub use grid::{DistGrid, StepTimes};
pub use mpi::Threading;
pub use split::row_block;
