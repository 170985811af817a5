//! [`Arrival`]: a thread counted into a generation that has not waited for it yet
//! (split-phase waiting).

use std::fmt;
use std::mem::ManuallyDrop;
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
    on: On<'a>,
    /// The generation this thread arrived in, in full.
    generation: u64,
    /// [`On::Released`]: this thread's index. [`On::Barrier`], [`On::CentralSeat`]: the state
    /// word's generation field (26 bits) above the arrival index (32 bits), see [`pack`].
    data: u64,
}

/// What an arrival waits on. Three words with `generation` and `data`, so that `arrive` and
/// `wait` pass it in few stores and loads.
#[derive(Clone, Copy)]
enum On<'a> {
    /// Decided inside `arrive` (the last arriver): released.
    Released,
    /// A generation of an anonymous barrier.
    Barrier(&'a Barrier),
    /// A generation of a central barrier, joined through a seat whose arrival is open until
    /// this one ends.
    CentralSeat(&'a Seat),
    /// The release of `generation` of a seated barrier.
    Seat(&'a Seat),
}

const INDEX_BITS: u32 = 32;

/// `data` of a central arrival: the state word's generation `field`, arrival index `index`.
fn pack(field: u64, index: usize) -> u64 {
    debug_assert!(field < 1 << (64 - INDEX_BITS) && (index as u64) < 1 << INDEX_BITS);
    (field << INDEX_BITS) | index as u64
}

/// The `(field, index)` packed in `data`.
fn unpack(data: u64) -> (u64, usize) {
    (
        data >> INDEX_BITS,
        (data & ((1 << INDEX_BITS) - 1)) as usize,
    )
}

impl<'a> Arrival<'a> {
    /// An arrival at generation `full` (state field `field`) of an anonymous barrier, with
    /// arrival index `index`.
    pub(crate) fn central(
        barrier: &'a Barrier,
        full: u64,
        field: u64,
        index: usize,
    ) -> Arrival<'a> {
        Arrival {
            on: On::Barrier(barrier),
            generation: full,
            data: pack(field, index),
        }
    }

    /// This arrival, made through `seat` of a central barrier: the seat's arrival is open
    /// while this one is undecided. Whether it is.
    pub(crate) fn through(mut self, seat: &'a Seat) -> (Arrival<'a>, bool) {
        let open = matches!(self.on, On::Barrier(_));
        if open {
            self.on = On::CentralSeat(seat);
        }
        (self, open)
    }

    /// An arrival of `seat` (tree or dissemination) at generation `generation`.
    #[inline]
    pub(crate) fn seated(seat: &'a Seat, generation: u64) -> Arrival<'a> {
        Arrival {
            on: On::Seat(seat),
            generation,
            data: 0,
        }
    }

    /// An arrival whose generation `arrive` released (this thread arrived last), with index
    /// `index`.
    #[inline]
    pub(crate) fn released(generation: u64, index: usize) -> Arrival<'a> {
        Arrival {
            on: On::Released,
            generation,
            data: index as u64,
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
    pub fn wait(self) -> Result<usize, BrokenBarrierError> {
        let this = ManuallyDrop::new(self);
        match this.on {
            // The last arriver's: decided, no timeout to look up.
            On::Released => Ok(this.data as usize),
            _ => this.finish(this.default_timeout()),
        }
    }

    /// Like [`wait`](Arrival::wait), with `timeout` instead of the default, counted from this
    /// call.
    ///
    /// # Errors
    ///
    /// As [`wait`](Arrival::wait).
    pub fn wait_timeout(self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        ManuallyDrop::new(self).finish(Some(timeout))
    }

    /// Whether the generation has been released (so [`wait`](Arrival::wait) returns `Ok` at
    /// once). `false` while it fills, and if it failed.
    #[must_use]
    pub fn is_released(&self) -> bool {
        match self.on {
            On::Released => true,
            On::Barrier(barrier) => barrier.is_released(unpack(self.data).0),
            On::CentralSeat(seat) => seat.barrier().is_released(unpack(self.data).0),
            On::Seat(seat) => seat.is_released(self.generation),
        }
    }

    /// The generation this thread arrived in (see [`Barrier::generation`]).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The barrier of a pending arrival.
    fn barrier(&self) -> Option<&'a Barrier> {
        match self.on {
            On::Released => None,
            On::Barrier(barrier) => Some(barrier),
            On::CentralSeat(seat) | On::Seat(seat) => Some(seat.barrier()),
        }
    }

    #[inline]
    fn default_timeout(&self) -> Option<Duration> {
        self.barrier()
            .and_then(|barrier| barrier.core().default_timeout())
    }

    /// Waits for the outcome, with `timeout` from now. Called once: by `wait` (on an arrival
    /// that is not dropped after, even if this panics: an action's panic resumes here in a
    /// dissemination barrier's seat 0, and a drop would wait again), or by the drop.
    #[inline]
    fn finish(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        match self.on {
            On::Released => Ok(self.data as usize),
            On::Seat(seat) => seat.await_release(self.generation, deadline_after(timeout)),
            On::Barrier(barrier) => self.await_central(barrier, timeout),
            On::CentralSeat(seat) => {
                seat.close_arrival();
                self.await_central(seat.barrier(), timeout)
            }
        }
    }

    #[inline]
    fn await_central(
        &self,
        barrier: &Barrier,
        timeout: Option<Duration>,
    ) -> Result<usize, BrokenBarrierError> {
        let (field, index) = unpack(self.data);
        barrier
            .await_decision(field, deadline_after(timeout))
            .map(|()| index)
    }
}

impl Drop for Arrival<'_> {
    #[inline]
    fn drop(&mut self) {
        let Some(barrier) = self.barrier() else {
            return;
        };
        if std::thread::panicking() {
            // Unwinding: the others may never come, so do not wait for them. Break the barrier
            // (as a dropped seat does), which decides the generation at once unless it was
            // released first, and count this thread out of it.
            barrier.abort();
        }
        let _ = self.finish(self.default_timeout());
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
