//! # barrier-core
//!
//! Thread barriers with the complete semantics of Python's
//! [`threading.Barrier`](https://docs.python.org/3/library/threading.html#barrier-objects):
//! parties, an action run by the last arriver, timeouts, the arrival index returned by `wait`,
//! `reset`, `abort`, `n_waiting`, `broken`, and [`BrokenBarrierError`], with spin-then-park
//! waiting.
//!
//! | item | what it is |
//! |------|------------|
//! | [`Barrier`] | the barrier handle (`Clone + Send + Sync`) |
//! | [`BarrierBuilder`] | action, default timeout, [`Algorithm`], [`WaitPolicy`] |
//! | [`BrokenBarrierError`], [`BrokenCause`] | why a `wait` failed |
//! | [`BuildError`] | why a barrier could not be built |
//!
//! ## Choosing a barrier
//!
//! | algorithm | use it when |
//! |-----------|-------------|
//! | [`Algorithm::Central`] | any thread may call `wait`; you need Python's exact arrival indices |
//! | [`Algorithm::Auto`] | you want lockstep to pick (today: `Central`) |
//!
//! Compared with `std::sync::Barrier`, which always sleeps on a mutex and condition variable,
//! these barriers spin briefly before parking, which makes an episode between threads that own
//! their cores one to two orders of magnitude cheaper; see the workspace README for figures.
//!
//! ## Semantics
//!
//! The rules, with the places where lockstep decides differently from CPython:
#![doc = include_str!("README.md")]
#![deny(missing_docs, missing_debug_implementations)]

mod action;
mod algo;
mod barrier;
mod builder;
mod error;
mod seat;
mod state;
mod sync;
pub mod topology;
mod wait;

pub use barrier::Barrier;
pub use builder::{Algorithm, BarrierBuilder, DEFAULT_FAN_IN};
pub use error::{BrokenBarrierError, BrokenCause, BuildError};
pub use seat::Seat;
pub use topology::Placement;
pub use wait::{WaitPolicy, WAIT_POLICY_ENV};

/// `Barrier` is shared across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Barrier>();
    const fn assert_send<T: Send>() {}
    assert_send::<Seat>();
};

/// A [`Seat`] belongs to one thread at a time: it cannot be shared,
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<barrier_core::Seat>();
/// ```
///
/// nor cloned.
///
/// ```compile_fail
/// let (_b, seats) = barrier_core::Barrier::builder(2).build_seated().unwrap();
/// let _copy = seats[0].clone();
/// ```
#[cfg(doctest)]
pub struct SeatIsNotSyncNorClone;
