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
//! The tour of the README, compiled and run as tests.
//!
//! ```
//! use std::time::Duration;
//! use lockstep::barrier::{Barrier, BrokenCause};
//!
//! let barrier = Barrier::builder(4)
//!     .action(|| println!("everyone arrived"))
//!     .timeout(Duration::from_secs(2))
//!     .build()?;
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| match barrier.wait() {
//!             Ok(0) => println!("housekeeping"),
//!             Ok(_) => {}
//!             Err(e) if e.cause() == BrokenCause::TimedOut => eprintln!("someone was late"),
//!             Err(e) => eprintln!("{e}"),
//!         });
//!     }
//! });
//! # Ok::<(), lockstep::barrier::BuildError>(())
//! ```
//!
//! ```
//! use lockstep::barrier::{Algorithm, Barrier, Placement};
//!
//! let (barrier, seats) = Barrier::builder(8)
//!     .algorithm(Algorithm::Tree { fan_in: 4 })
//!     .placement(Placement::Compact)
//!     .build_seated()?;
//! std::thread::scope(|s| {
//!     for seat in seats {
//!         s.spawn(move || {
//!             seat.pin();
//!             for _step in 0..1000 {
//!                 seat.wait().unwrap();
//!             }
//!         });
//!     }
//! });
//! # drop(barrier);
//! # Ok::<(), lockstep::barrier::BuildError>(())
//! ```
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
