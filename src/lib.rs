//! # lockstep
//!
//! Threads that step in lockstep: scientific simulations, stencil sweeps and custom
//! bulk-synchronous (BSP) algorithms.
//!
//! - [`barrier`] ([`barrier_core`]): barriers with the complete semantics of Python's
//!   `threading.Barrier` (parties, action, timeout, the `wait` index, `reset`, `abort`,
//!   `n_waiting`, `broken`) with spin-then-park waiting.
//! - [`pool`] ([`phase_pool`]): a persistent worker team running phases separated by barriers.

pub use barrier_core as barrier;
pub use phase_pool as pool;
