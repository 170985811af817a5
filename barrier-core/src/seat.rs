//! [`Seat`]: a fixed place at a seated barrier, for one thread.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use crate::algo::{Arrival, Gather};
use crate::barrier::{broken, is_decided, Barrier, Mode, Seated};
use crate::error::BrokenBarrierError;
use crate::state::{Phase, State};
use crate::sync::Ordering;
use crate::topology;
use crate::wait::deadline_after;

/// One thread's fixed place at a barrier built with
/// [`BarrierBuilder::build_seated`](crate::BarrierBuilder::build_seated).
///
/// Scalable barriers (combining tree, dissemination) need a fixed identity per thread: each
/// thread owns one `Seat` (it is `Send`, not `Clone`) and waits through it. Every semantic of
/// [`Barrier::wait`] holds through seats (the action, timeouts, `reset`, `abort`, one outcome per
/// generation), except that the index is not the arrival order: it is a permutation of
/// `0..parties` in which the seat that completed the generation, and ran the action, gets
/// `parties - 1`.
///
/// Dropping a seat aborts its barrier: with a party gone no generation can complete again, and
/// the other seats get an error instead of waiting forever.
///
/// # Examples
///
/// ```
/// use barrier_core::{Algorithm, Barrier};
///
/// let (barrier, seats) = Barrier::builder(4)
///     .algorithm(Algorithm::Dissemination)
///     .build_seated()?;
/// std::thread::scope(|s| {
///     for seat in seats {
///         s.spawn(move || {
///             seat.pin(); // optional: pin this thread to the seat's core
///             for _ in 0..100 {
///                 seat.wait().unwrap();
///             }
///         });
///     }
/// });
/// assert!(barrier.is_broken(), "dropped seats abort the barrier");
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
pub struct Seat {
    barrier: Barrier,
    index: usize,
    /// The last generation this seat joined or acknowledged as failed: each seat leaves each
    /// failed generation exactly once (see `README.md`, "Seats").
    acknowledged: Cell<Option<u64>>,
}

impl Seat {
    pub(crate) fn new(barrier: Barrier, index: usize) -> Seat {
        Seat {
            barrier,
            index,
            acknowledged: Cell::new(None),
        }
    }

    /// This seat's number, in `0..parties`.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The barrier this seat belongs to (for `reset`, `abort`, `n_waiting`, ...).
    #[must_use]
    pub fn barrier(&self) -> &Barrier {
        &self.barrier
    }

    /// The core the builder's [`Placement`](crate::Placement) assigned to this seat, if any.
    #[must_use]
    pub fn core(&self) -> Option<usize> {
        match self.barrier.mode() {
            Mode::Seated(seated) => seated.cores[self.index],
            Mode::Anonymous => None,
        }
    }

    /// Pins the calling thread to [`core`](Seat::core). Returns the core, or `None` when the
    /// placement assigned none or the operating system refused (pinning is a performance hint;
    /// the barrier works either way).
    pub fn pin(&self) -> Option<usize> {
        self.core()
            .filter(|&core| topology::pin_current_thread(core))
    }

    /// Waits for every seat, with the barrier's default timeout; see [`Barrier::wait`].
    ///
    /// # Errors
    ///
    /// As [`Barrier::wait`].
    ///
    /// # Panics
    ///
    /// As [`Barrier::wait`]: resumes the action's panic in the completing seat; panics if
    /// called from inside the barrier's own action.
    #[inline]
    pub fn wait(&self) -> Result<usize, BrokenBarrierError> {
        self.wait_with(self.barrier.default_timeout())
    }

    /// Like [`wait`](Seat::wait), with `timeout` instead of the default; see
    /// [`Barrier::wait_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Barrier::wait`].
    #[inline]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        self.wait_with(Some(timeout))
    }

    fn wait_with(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        match self.barrier.mode() {
            Mode::Anonymous => self.barrier.wait_with(timeout),
            Mode::Seated(seated) => self.wait_seated(seated, timeout),
        }
    }

    fn wait_seated(
        &self,
        seated: &Seated,
        timeout: Option<Duration>,
    ) -> Result<usize, BrokenBarrierError> {
        let generation = self.enter()?;
        self.acknowledged.set(Some(generation));
        // Relaxed: only `n_waiting` reads it.
        seated.arrived[self.index].store(generation.wrapping_add(1), Ordering::Relaxed);
        let deadline = deadline_after(timeout);
        let arrival = match &seated.gather {
            Gather::Tree(tree) => tree.arrive(self.index, generation),
            Gather::Dissemination(dissemination) => dissemination.arrive(
                self.index,
                generation,
                |flag, signal| {
                    // Acquire: pairs with the partner's Release store of the flag.
                    let polled = self.barrier.wait_for_state(deadline, |state| {
                        if flag.load(Ordering::Acquire) == signal {
                            Some(true)
                        } else {
                            is_decided(state, generation).then_some(false)
                        }
                    });
                    polled.unwrap_or(false)
                },
                || self.barrier.notify(),
            ),
        };
        if arrival == Arrival::Completer {
            return self.barrier.complete(generation, Some(self.index));
        }
        self.barrier.await_decision(generation, deadline)?;
        // Relaxed: written before the releasing CAS, which this thread's Acquire poll read.
        let completer = seated.completer.load(Ordering::Relaxed);
        Ok(if self.index < completer {
            self.index
        } else {
            self.index - 1
        })
    }

    /// Waits until a generation is filling, acknowledging failed generations on the way:
    /// returns the generation to join, or the error of a broken barrier.
    fn enter(&self) -> Result<u64, BrokenBarrierError> {
        let parties = self.barrier.parties();
        loop {
            let state = self.barrier.load();
            match state.phase() {
                Phase::Filling if state.count() < parties => return Ok(state.generation()),
                Phase::Broken => {
                    self.barrier.assert_not_in_action("wait");
                    self.acknowledge(state);
                    return Err(broken(state));
                }
                // The action is running, or a reset drains: wait for the next generation.
                Phase::Filling | Phase::Resetting => {
                    self.barrier.assert_not_in_action("wait");
                    self.acknowledge(state);
                    let changed = self
                        .barrier
                        .wait_for_state(None, |now| (now != state).then_some(()));
                    changed.unwrap_or_else(|_| unreachable!("waited without a deadline"));
                }
            }
        }
    }

    /// Leaves the failed generation of `state` unless this seat already did.
    fn acknowledge(&self, state: State) {
        if state.phase() != Phase::Filling && self.acknowledged.get() != Some(state.generation()) {
            self.acknowledged.set(Some(state.generation()));
            self.barrier.leave(state.generation());
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.barrier.abort();
        if let Mode::Seated(_) = self.barrier.mode() {
            // Count this seat out of the failed generation, so a reset can still complete.
            self.acknowledge(self.barrier.load());
        }
    }
}

impl fmt::Debug for Seat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seat")
            .field("index", &self.index)
            .field("barrier", &self.barrier)
            .finish()
    }
}
