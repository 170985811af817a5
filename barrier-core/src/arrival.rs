//! [`Arrival`]: a thread counted into a generation that has not waited for it yet
//! (split-phase waiting).

use std::fmt;
use std::time::Duration;

use crate::barrier::Barrier;
use crate::error::BrokenBarrierError;
use crate::seat::Seat;
use crate::wait::deadline_after;

/// A thread's arrival at a generation, returned by [`Barrier::arrive`] and [`Seat::arrive`]:
/// the thread is counted in (and, if it arrived last, has run the action); its
/// [`wait`](Arrival::wait) returns what [`Barrier::wait`] would have returned.
///
/// Abort, reset and timeouts treat an arrival as a waiting thread: if its generation fails,
/// `wait` returns the error. An arrival that is dropped without `wait` waits as `wait` does
/// (with the barrier's default timeout) and discards the outcome: a thread counted into a
/// generation must also count itself out if that generation fails, or `reset` could never
/// complete. Dropped while its thread panics, it aborts the barrier instead of waiting for
/// threads that may never come (as a dropped [`Seat`] does), then counts itself out.
/// Forgetting one (`std::mem::forget`) leaves its thread counted in for good: a reset of a
/// generation that fails then never drains, and a seat stays open (its next `arrive` or `wait`
/// panics), as a forgotten `MutexGuard` leaves its mutex locked.
///
/// # Examples
///
/// A seat arrives, works, then waits; the generation is released once every seat has arrived:
///
/// ```
/// use barrier_core::{Algorithm, Barrier};
///
/// let (barrier, seats) = Barrier::builder(3)
///     .algorithm(Algorithm::Tree { fan_in: 2 })
///     .build_seated()?;
/// std::thread::scope(|s| {
///     for seat in seats {
///         s.spawn(move || {
///             for step in 0..10 {
///                 let arrival = seat.arrive().unwrap();
///                 assert_eq!(arrival.generation(), step);
///                 // ... work that needs no other seat ...
///                 arrival.wait().unwrap();
///             }
///         });
///     }
/// });
/// assert_eq!(barrier.generation(), 10);
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[must_use = "an arrival is waited for by `wait`, or by its drop"]
pub struct Arrival<'a> {
    generation: u64,
    pending: Option<Pending<'a>>,
    /// The outcome when it was decided inside `arrive` (the last arriver).
    decided: Result<usize, BrokenBarrierError>,
}

/// What an undecided arrival waits for.
enum Pending<'a> {
    /// Generation `generation` (the state word's field) of an anonymous barrier, joined with
    /// arrival index `index`.
    Central {
        barrier: &'a Barrier,
        generation: u64,
        index: usize,
        /// The seat it arrived through, if any, whose arrival is open until this one ends.
        seat: Option<&'a Seat>,
    },
    /// The release of generation `generation` of `seat`'s barrier.
    Seat { seat: &'a Seat, generation: u64 },
}

impl<'a> Arrival<'a> {
    pub(crate) fn central(
        barrier: &'a Barrier,
        full: u64,
        generation: u64,
        index: usize,
    ) -> Arrival<'a> {
        Arrival::pending(
            full,
            Pending::Central {
                barrier,
                generation,
                index,
                seat: None,
            },
        )
    }

    /// This arrival, made through `seat` of a central barrier: the seat's arrival is open
    /// while this one is undecided. Whether it is.
    pub(crate) fn through(mut self, through: &'a Seat) -> (Arrival<'a>, bool) {
        let open = match &mut self.pending {
            Some(Pending::Central { seat, .. }) => {
                *seat = Some(through);
                true
            }
            _ => false,
        };
        (self, open)
    }

    #[inline]
    pub(crate) fn seated(seat: &'a Seat, generation: u64) -> Arrival<'a> {
        Arrival::pending(generation, Pending::Seat { seat, generation })
    }

    #[inline]
    fn pending(generation: u64, pending: Pending<'a>) -> Arrival<'a> {
        Arrival {
            generation,
            pending: Some(pending),
            decided: Ok(0),
        }
    }

    /// An arrival whose generation `arrive` decided (this thread arrived last).
    #[inline]
    pub(crate) fn decided(
        generation: u64,
        outcome: Result<usize, BrokenBarrierError>,
    ) -> Arrival<'a> {
        Arrival {
            generation,
            pending: None,
            decided: outcome,
        }
    }

    /// Waits until the generation is released, with the barrier's default timeout; returns
    /// this thread's index, as [`Barrier::wait`] (or [`Seat::wait`]) would have.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the generation fails (abort, reset, a timeout, a panicking
    /// action); if this wait's timeout expires first, it breaks the barrier for everyone.
    #[inline]
    pub fn wait(mut self) -> Result<usize, BrokenBarrierError> {
        let timeout = self.default_timeout();
        self.finish(timeout)
    }

    /// Like [`wait`](Arrival::wait), with `timeout` instead of the default, counted from this
    /// call.
    ///
    /// # Errors
    ///
    /// As [`wait`](Arrival::wait).
    pub fn wait_timeout(mut self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        self.finish(Some(timeout))
    }

    /// Whether the generation has been released (so [`wait`](Arrival::wait) returns `Ok` at
    /// once). `false` while it fills, and if it failed.
    #[must_use]
    pub fn is_released(&self) -> bool {
        match &self.pending {
            None => self.decided.is_ok(),
            Some(Pending::Central {
                barrier,
                generation,
                ..
            }) => barrier.is_released(*generation),
            Some(Pending::Seat { seat, generation }) => seat.is_released(*generation),
        }
    }

    /// The generation this thread arrived in (see [`Barrier::generation`]).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The barrier of a pending arrival.
    fn barrier(&self) -> &'a Barrier {
        match &self.pending {
            Some(Pending::Central { barrier, .. }) => barrier,
            Some(Pending::Seat { seat, .. }) => seat.barrier(),
            None => unreachable!("only a pending arrival has a barrier to wait on"),
        }
    }

    #[inline]
    fn default_timeout(&self) -> Option<Duration> {
        match &self.pending {
            None => None,
            Some(Pending::Central { barrier, .. }) => barrier.core().default_timeout(),
            Some(Pending::Seat { seat, .. }) => seat.barrier().core().default_timeout(),
        }
    }

    #[inline]
    fn finish(&mut self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        match self.pending.take() {
            None => self.decided,
            Some(Pending::Central {
                barrier,
                generation,
                index,
                seat,
            }) => {
                if let Some(seat) = seat {
                    seat.close_arrival();
                }
                barrier
                    .await_decision(generation, deadline_after(timeout))
                    .map(|()| index)
            }
            Some(Pending::Seat { seat, generation }) => {
                seat.await_release(generation, deadline_after(timeout))
            }
        }
    }
}

impl Drop for Arrival<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.pending.is_none() {
            return;
        }
        if std::thread::panicking() {
            // Unwinding: the others may never come, so do not wait for them. Break the barrier
            // (as a dropped seat does), which decides the generation at once unless it was
            // released first, and count this thread out of it.
            self.barrier().abort();
        }
        let timeout = self.default_timeout();
        let _ = self.finish(timeout);
    }
}

impl fmt::Debug for Arrival<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arrival")
            .field("generation", &self.generation)
            .field("released", &self.is_released())
            .finish()
    }
}
