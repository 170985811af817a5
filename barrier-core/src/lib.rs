//! # barrier-core
//!
//! Thread barriers with the complete semantics of Python's
//! [`threading.Barrier`](https://docs.python.org/3/library/threading.html#barrier-objects):
//! parties, an action run by the last arriver, timeouts, the arrival index returned by `wait`,
//! `reset`, `abort`, `n_waiting`, `broken`, and [`BrokenBarrierError`], with spin-then-park
//! waiting; and what Java's `Phaser` and C++20's `std::barrier` add: split-phase waits
//! ([`Barrier::arrive`]), generation numbers, parties that leave or join
//! ([`Barrier::arrive_and_drop`], [`Barrier::add_parties`], [`Seat::leave`]), and an action
//! that ends the run ([`Barrier::is_finished`]).
//!
//! | item | what it is |
//! |------|------------|
//! | [`Barrier`] | the barrier handle (`Clone + Send + Sync`) |
//! | [`BarrierBuilder`] | action, default timeout, [`Algorithm`], [`WaitPolicy`], [`Placement`] |
//! | [`ActionOutcome`] | what an action returns: `()`, or `ControlFlow<()>` to finish the barrier |
//! | [`Seat`] | one thread's fixed place at a seated (tree, dissemination) barrier |
//! | [`Arrival`] | a thread counted in that waits later (`arrive`, then `wait`): split-phase |
//! | [`BrokenBarrierError`], [`BrokenCause`] | why a `wait` failed |
//! | [`MembershipError`], [`LeaveError`] | why `add_parties` or [`Seat::leave`] was refused |
//! | [`BuildError`], [`MAX_PARTIES`] | why a barrier could not be built; the most parties it may have |
//! | [`Signal`] | the barriers' spin-yield-park waiting, for protocols that are not barriers |
//! | [`BarrierProfile`], [`WaitCounts`], [`thread_wait_counts`] | what waits did: episodes, spins, yields, sleeps, wake-up delays |
//!
//! ## Choosing a barrier
//!
//! | algorithm | use it when |
//! |-----------|-------------|
//! | [`Algorithm::Central`] | any thread may call `wait`; Python's exact arrival indices; few threads |
//! | [`Algorithm::Tree`] | fixed threads ([`Seat`]s), more threads than cores; `fan_in` threads share a line |
//! | [`Algorithm::Dissemination`] | fixed, pinned threads, one per core; no shared counter |
//! | [`Algorithm::Auto`] | let lockstep pick by team size and usable cores (see its docs) |
//!
//! Seated barriers come from [`BarrierBuilder::build_seated`], which hands out one [`Seat`] per
//! thread; [`Placement`] and [`Seat::pin`] pin each thread to a core of the process's affinity
//! mask ([`topology`]).
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
mod alloc;
mod arrival;
mod barrier;
mod builder;
mod central;
mod core;
mod error;
mod profile;
mod seat;
mod seated;
mod state;
mod sync;
pub mod topology;
mod wait;

pub use action::ActionOutcome;
pub use arrival::Arrival;
pub use barrier::Barrier;
pub use builder::{Algorithm, BarrierBuilder, DEFAULT_FAN_IN};
pub use error::{BrokenBarrierError, BrokenCause, BuildError, LeaveError, MembershipError};
pub use profile::{profile_from_env, BarrierProfile, PROFILE_ENV};
pub use seat::Seat;
pub use state::MAX_PARTIES;
pub use topology::Placement;
pub use wait::{thread_wait_counts, Signal, WaitCounts, WaitPolicy, WaitStage, WAIT_POLICY_ENV};

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
