//! # lockstep
//!
//! Threads that step in lockstep: scientific simulations, stencil sweeps and custom
//! bulk-synchronous (BSP) algorithms.
//!
//! - [`barrier`] ([`barrier_core`]): barriers with the complete semantics of Python's
//!   `threading.Barrier` (parties, action, timeout, the `wait` index, `reset`, `abort`,
//!   `n_waiting`, `broken`) on central, tree and dissemination algorithms, with spin-then-park
//!   waiting and core pinning.
//! - [`pool`] ([`phase_pool`]): a persistent worker team running bulk-synchronous phases, with
//!   deterministic reductions, schedules, BSP messages and a double-buffered grid.
//!
//! # Examples
//!
//! A data-parallel phase and an SPMD run with a collective; the README's examples, compiled
//! as tests here, show a time-step loop on a grid and a barrier with Python's semantics.
//!
//! ```
//! use lockstep::pool::{reduce, PhasePool};
//!
//! let pool = PhasePool::builder().threads(4).build()?;
//! let mut data = vec![1.0_f64; 1 << 20];
//! pool.for_each_chunk_mut(&mut data, 4096, |_chunk, xs| xs.iter_mut().for_each(|x| *x *= 2.0));
//! let total = pool.map_reduce_chunks_mut(&mut data, 4096, 0.0, |_c, xs| xs.iter().sum::<f64>(), reduce::sum);
//! assert_eq!(total, 2.0 * (1 << 20) as f64);
//!
//! let maxima = pool.run(|ctx| {
//!     let local = ctx.index() as f64;
//!     ctx.reduce(local, f64::max)
//! });
//! assert_eq!(maxima, [3.0; 4]);
//! # Ok::<(), lockstep::pool::BuildError>(())
//! ```

pub use barrier_core as barrier;
pub use phase_pool as pool;

/// The README's Rust code blocks, compiled and run by `cargo test --doc`, so the README cannot
/// drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
