//! # phase-pool
//!
//! A persistent, core-pinned team of workers that runs bulk-synchronous phases: the calling
//! thread is worker 0, the other workers wait between phases (spin, then yield, then park, on
//! [`barrier_core`] barriers), and every phase returns only once all workers have finished it,
//! so phases borrow the caller's data freely.
//!
//! | item | what it is |
//! |------|------------|
//! | [`PhasePool`], [`PhasePoolBuilder`] | the team; threads, [`Placement`], [`WaitPolicy`], [`Schedule`] |
//! | [`PhasePool::for_each_chunk_mut`], [`PhasePool::map_reduce_chunks_mut`] | data-parallel phases over `&mut` chunks |
//! | [`PhasePool::for_each_index`], [`PhasePool::map_reduce_index`] | the same over index ranges |
//! | [`Schedule`], [`PhasePool::with_schedule`] | `Static` blocks, `Dynamic` and `Guided` work stealing |
//! | [`PhasePool::run`], [`PhasePool::run_bsp`], [`Ctx`] | SPMD / BSP: `sync`, `reduce`, `broadcast`, `single`, messages |
//! | [`Ctx::coarray`], [`Coarray`], [`Pending`] | BSP registered memory: `put`, `get` delivered by `sync` ([writing a BSP algorithm](#writing-a-bsp-algorithm)) |
//! | [`Grid2`], [`GridView`] | double-buffered 2D grids, first-touched by the owning workers |
//! | [`Grid3`], [`Grid3View`], [`Grid1`] | the same in 3D (planes per worker) and 1D (blocks) |
//! | [`kernels`] | the reference Jacobi kernel, serial and pooled |
//! | [`reduce`] | combine functions for reductions |
//! | [`PhasePool::profile`], [`Profile`], [`profile`] | where a step's time went: per phase and worker, computing, waiting, waking up |
//! | [`BuildError`] | why a pool could not be built |
//!
//! ## Determinism
//!
//! Reductions fold per-chunk partial results in chunk order (per-worker results in worker
//! order for [`Ctx::reduce`]), so for deterministic closures the results are bitwise identical
//! from run to run and, for a fixed chunk length, whatever the number of threads or the
//! schedule.
//!
//! ## Failure
//!
//! A panic in any worker's part of a phase stops the phase: workers blocked in a collective
//! leave it, data-parallel workers take no new chunks. Once every worker has stopped, the first
//! panic resumes in the caller and the pool is ready for the next phase.
//!
//! ## Example
//!
//! ```
//! use phase_pool::{reduce, PhasePool};
//!
//! let pool = PhasePool::builder().threads(4).build()?;
//! let mut v: Vec<f64> = (0..10_000).map(|i| (i as f64).sin()).collect();
//! // One phase per time step; the reduction comes with it.
//! for _ in 0..10 {
//!     let largest = pool.map_reduce_chunks_mut(&mut v, 256, f64::NEG_INFINITY, |_, chunk| {
//!         chunk.iter_mut().for_each(|x| *x *= 0.5);
//!         chunk.iter().copied().fold(f64::NEG_INFINITY, reduce::max)
//!     }, reduce::max);
//!     assert!(largest <= 1.0);
//! }
//! # Ok::<(), phase_pool::BuildError>(())
//! ```
//!
#![doc = include_str!("coarray.md")]
//! ## The phase hand-off
//!
#![doc = include_str!("README.md")]
#![deny(missing_docs, missing_debug_implementations)]

mod builder;
mod claims;
mod coarray;
mod double_buffer;
mod error;
mod grid;
mod grid1;
mod grid3;
pub mod kernels;
mod parallel;
mod pool;
pub mod profile;
mod raw;
pub mod reduce;
mod schedule;
mod spmd;
mod sync;
mod topology;

pub use barrier_core::WaitPolicy;
pub use barrier_core::{Algorithm, Placement};
pub use builder::{PhasePoolBuilder, MAX_THREADS};
pub use coarray::{Coarray, Pending};
pub use double_buffer::first_touch;
pub use error::BuildError;
pub use grid::{Grid2, GridView};
pub use grid1::Grid1;
pub use grid3::{Grid3, Grid3View};
pub use parallel::IndexRange;
pub use pool::PhasePool;
pub use profile::Profile;
pub use schedule::{static_block, Schedule, Scheduled};
pub use spmd::{Ctx, CtxArrival};
pub use topology::{NUM_THREADS_ENV, PLACEMENT_ENV};

/// A pool moves between threads (the thread that uses it is worker 0).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<PhasePool>();
};
