//! phase-pool: a persistent, core-pinned worker team that runs bulk-synchronous phases.
//!
//! The team, its phases and reductions are being built on top of
//! [`barrier_core`]; this crate is empty until then.
