//! The crate's `unsafe` code, in small abstractions with safe (or narrowly `unsafe`) APIs.
//!
//! - [`handoff`]: publishing a borrowed, type-erased phase job to the workers and returning only
//!   once every worker has finished it (the protocol of `README.md`).
//! - [`chunks`]: handing out disjoint `&mut` chunks of one slice to several workers.
//! - [`report`]: the results a worker leaves for the leader, on the line of its `done` word or
//!   in a spill buffer it owns.
//! - [`slots`]: one write-once result slot per chunk or worker, read after the phase.
//! - [`exchange`]: the per-worker slots that SPMD collectives publish and read around a barrier.
//!
//! Outside this module, `unsafe` appears only where a caller promises a precondition of these
//! abstractions, each with its `// SAFETY:` argument: `parallel.rs` claims chunks and result
//! slots that the schedule deals exactly once ([`chunks::ChunksMut::claim`],
//! [`slots::Slots::put`]); `pool.rs` starts the workers' reports in a phase and takes them
//! after it ([`report::Report::start`], [`report::Report::take`]);
//! `spmd.rs` hands the pool's collective barrier to the exchange and claims one run's ports
//! ([`exchange::Exchange::new`], `begin`, `port`); `grid.rs` sets the length of a buffer that a
//! completed phase initialised (`Vec::set_len`).

pub(crate) mod chunks;
pub(crate) mod exchange;
pub(crate) mod handoff;
pub(crate) mod report;
pub(crate) mod slots;
