//! The slots that SPMD collectives publish and read around a barrier.
//!
//! Round `k` of an [`Exchange`]: every worker writes its entry into `slots[k % 2][me]`, waits on
//! the exchange's private barrier, then reads everyone's round-`k` entries. Two parities are
//! enough: a worker writes `slots[k % 2][me]` again only in round `k + 2`, after its round
//! `k + 1` wait returned `Ok`, which needed every other worker to arrive at round `k + 1`, and a
//! worker arrives there only after it dropped its view of round `k` (the view borrows its
//! [`Port`] mutably). A broken barrier never releases anyone again, and a port whose wait failed
//! refuses further rounds, so no read can overlap a write.
//!
//! The pool keeps one exchange for all its SPMD runs: its barrier is a seated one (worker `i`
//! always waits through seat `i`, so `Algorithm::Auto` can pick a tree or dissemination for
//! larger teams), reset when a run broke it, and its slots keep the last entries of the previous
//! run, whose boxes the next run reuses. Runs never overlap ([`Exchange::port`]'s contract), so
//! a run's first round finds every slot read for the last time by the previous run.

use std::fmt;

use std::cell::Cell;

use barrier_core::{Arrival, Barrier, Seat};
use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering, UnsafeCell};

/// The barrier of an exchange broke (a worker panicked): the round did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Broken;

/// One worker's entry of one parity, on its own cache line.
type Slot<E> = CachePadded<UnsafeCell<Option<E>>>;

/// One seat of the exchange's barrier, kept between runs and lent to the port of its worker
/// during each run.
struct SeatCell(Seat);

// SAFETY: a `Seat` may move between threads (`Send`) but not be shared (`!Sync`); `get`'s
// contract keeps one thread at a time on it, each use ordered after the previous one.
unsafe impl Sync for SeatCell {}

impl SeatCell {
    /// The seat.
    ///
    /// # Safety
    ///
    /// While the reference lives no other thread uses this seat, and every earlier use by
    /// another thread happens before this call.
    unsafe fn get(&self) -> &Seat {
        &self.0
    }
}

impl fmt::Debug for SeatCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SeatCell").field(&self.0.index()).finish()
    }
}

/// Per-worker, double-buffered entries for `n` workers and the barrier that separates rounds.
pub(crate) struct Exchange<E> {
    /// The only handle of the barrier outside its seats.
    barrier: Barrier,
    /// The barrier's seats, `seats[i]` for worker `i`'s port.
    seats: Box<[SeatCell]>,
    /// `slots[parity][worker]`, each on its own cache line.
    slots: [Box<[Slot<E>]>; 2],
    /// The last run in which the port of each worker was handed out (at most once per run).
    claimed: Box<[AtomicU64]>,
}

// SAFETY: entries are written by their owner and read through shared references by every
// worker (`E: Sync`), and dropped by whichever thread overwrites or drops them (`E: Send`).
// Accesses never overlap, as the module docs show.
unsafe impl<E: Send + Sync> Sync for Exchange<E> {}

impl<E> Exchange<E> {
    /// An exchange for `barrier.parties()` workers, separating rounds with `barrier`, whose
    /// seats are `seats` (`seats[i].index() == i`).
    ///
    /// # Safety
    ///
    /// `barrier` is the barrier's only handle besides its seats (nobody else can wait on it or
    /// break it), and nobody waits on it now.
    pub(crate) unsafe fn new(barrier: Barrier, seats: Vec<Seat>) -> Exchange<E> {
        let n = barrier.parties();
        assert_eq!(seats.len(), n, "one seat per party");
        let slots = || {
            (0..n)
                .map(|_| CachePadded::new(UnsafeCell::new(None)))
                .collect()
        };
        Exchange {
            barrier,
            seats: seats.into_iter().map(SeatCell).collect(),
            slots: [slots(), slots()],
            claimed: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Prepares run `run` (numbered from 1, one up per run): repairs the barrier if the previous
    /// run broke it.
    ///
    /// # Safety
    ///
    /// As for [`port`](Self::port): every port of an earlier run is gone, and so is every use
    /// of it (they happen before this call).
    pub(crate) unsafe fn begin(&self) {
        // Nobody waits on the barrier between runs (this function's contract).
        if self.barrier.is_broken() {
            self.barrier.reset();
        }
    }

    /// The port of worker `index` for run `run` (numbered from 1, one up per run).
    ///
    /// # Safety
    ///
    /// Every port of an earlier run was dropped, and its uses (and those of the rounds it
    /// returned) happen before this call; [`begin`](Self::begin) was called for this run.
    ///
    /// # Panics
    ///
    /// If the port of `index` was already handed out in this run, or `index` is out of range.
    pub(crate) unsafe fn port(&self, index: usize, run: u64) -> Port<'_, E> {
        // Relaxed: only the uniqueness of the claim matters; the barrier orders the data.
        let previous = self.claimed[index].swap(run, Ordering::Relaxed);
        assert!(
            previous != run,
            "the exchange port of worker {index} was already handed out"
        );
        // SAFETY: only this port, handed out once in this run, uses seat `index` while it
        // lives, and the ports of earlier runs are done with it (this function's contract).
        let seat = unsafe { self.seats[index].get() };
        Port {
            exchange: self,
            seat,
            index,
            round: Cell::new(0),
            poisoned: Cell::new(false),
            arriving: Cell::new(false),
        }
    }

    /// Breaks the barrier: every current and later round fails with [`Broken`].
    pub(crate) fn abort(&self) {
        self.barrier.abort();
    }
}

/// Worker `index`'s access to an [`Exchange`].
pub(crate) struct Port<'a, E> {
    exchange: &'a Exchange<E>,
    /// Seat `index` of the exchange's barrier.
    seat: &'a Seat,
    index: usize,
    round: Cell<u64>,
    poisoned: Cell<bool>,
    /// Whether an [`Arriving`] round of this port is open.
    arriving: Cell<bool>,
}

impl<'a, E> Port<'a, E> {
    /// Publishes `entry` for this round, waits for every worker, and returns a view of all
    /// workers' entries of this round.
    ///
    /// # Errors
    ///
    /// [`Broken`] if the barrier broke (now or in an earlier round of this port).
    #[cfg(all(test, not(lockstep_loom)))]
    pub(crate) fn exchange(&mut self, entry: E) -> Result<Round<'_, E>, Broken> {
        self.exchange_with(|_| entry)
    }

    /// Like `exchange`, with the entry made by `make` from this port's entry of two rounds ago
    /// (`None` at first), which no other worker reads any more: lets a collective reuse its
    /// allocation.
    pub(crate) fn exchange_with(
        &mut self,
        make: impl FnOnce(Option<E>) -> E,
    ) -> Result<Round<'_, E>, Broken> {
        let slots = self.publish(make)?;
        // The barrier's happens-before edge publishes the entry to every reader.
        let ok = self.seat.wait().is_ok();
        self.passed(ok)?;
        Ok(Round { slots })
    }

    /// Like `exchange_with`, split: publishes the entry and arrives now; the round completes
    /// when the returned [`Arriving`] is waited for (or dropped). It borrows the port, so no
    /// other round can start meanwhile.
    ///
    /// # Panics
    ///
    /// As `publish`.
    pub(crate) fn arrive_with(
        &self,
        make: impl FnOnce(Option<E>) -> E,
    ) -> Result<Arriving<'_, E>, Broken> {
        let slots = self.publish(make)?;
        match self.seat.arrive() {
            Ok(arrival) => {
                self.arriving.set(true);
                Ok(Arriving {
                    port: self,
                    arrival: Some(arrival),
                    slots,
                })
            }
            Err(_) => {
                self.poisoned.set(true);
                Err(Broken)
            }
        }
    }

    /// Writes this port's entry of the coming round, made by `make` from its entry of two
    /// rounds ago; the round's slots.
    ///
    /// # Panics
    ///
    /// If an `Arriving` of this port is open (a second `arrive`, or a collective after one was
    /// forgotten): its round's slot may still be read, so nothing is written.
    fn publish(&self, make: impl FnOnce(Option<E>) -> E) -> Result<&'a [Slot<E>], Broken> {
        assert!(
            !self.arriving.get(),
            "a collective on worker {} while its previous arrival is open: wait for it first",
            self.index
        );
        if self.poisoned.get() {
            return Err(Broken);
        }
        let slots = &self.exchange.slots[(self.round.get() % 2) as usize];
        // SAFETY: only this port writes this slot. Its last readers read it in round
        // `self.round - 2` and were done before they arrived at round `self.round - 1`, whose
        // wait this port passed with `Ok` (otherwise it would be poisoned).
        slots[self.index].with_mut(|slot| unsafe {
            let old = (*slot).take();
            *slot = Some(make(old));
        });
        Ok(slots)
    }

    /// Records the end of a round's wait: the next round, or poisoned for good.
    fn passed(&self, ok: bool) -> Result<(), Broken> {
        if ok {
            self.round.set(self.round.get() + 1);
            Ok(())
        } else {
            self.poisoned.set(true);
            Err(Broken)
        }
    }
}

/// A round that a port has published its entry in and arrived at, not waited for yet
/// ([`Port::arrive_with`]). Dropping it waits for the round, as the barrier's `Arrival` does.
pub(crate) struct Arriving<'p, E> {
    port: &'p Port<'p, E>,
    arrival: Option<Arrival<'p>>,
    slots: &'p [Slot<E>],
}

impl<'p, E> Arriving<'p, E> {
    /// Whether every worker has arrived, so `wait` returns at once.
    pub(crate) fn is_released(&self) -> bool {
        self.arrival.as_ref().is_some_and(Arrival::is_released)
    }

    /// Waits for every worker; then a view of the round's entries.
    pub(crate) fn wait(mut self) -> Result<Round<'p, E>, Broken> {
        self.finish()?;
        Ok(Round { slots: self.slots })
    }

    fn finish(&mut self) -> Result<(), Broken> {
        let Some(arrival) = self.arrival.take() else {
            return Ok(());
        };
        let ok = arrival.wait().is_ok();
        self.port.arriving.set(false);
        self.port.passed(ok)
    }
}

impl<E> Drop for Arriving<'_, E> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Every worker's entry of one completed round; borrows the port, so the port cannot start the
/// next round while it lives.
pub(crate) struct Round<'p, E> {
    slots: &'p [Slot<E>],
}

impl<'p, E> Round<'p, E> {
    /// Worker `worker`'s entry of this round.
    pub(crate) fn get(&self, worker: usize) -> &'p E {
        // SAFETY: every worker wrote its entry before the barrier wait this round passed, and
        // none writes it again before this view is dropped (module docs).
        let entry = self.slots[worker].with(|slot| unsafe { (*slot).as_ref() });
        entry.expect("every worker publishes an entry before the round completes")
    }

    /// The number of workers.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

impl<E> fmt::Debug for Exchange<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("barrier", &self.barrier)
            .finish_non_exhaustive()
    }
}

impl<E> fmt::Debug for Port<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("index", &self.index)
            .field("round", &self.round)
            .finish()
    }
}

#[cfg(all(test, not(lockstep_loom)))]
mod tests {
    use super::*;

    fn new_exchange<E>(n: usize) -> Exchange<E> {
        let (barrier, seats) = Barrier::builder(n).build_seated().unwrap();
        // SAFETY: a fresh barrier; the exchange holds its only handle.
        unsafe { Exchange::new(barrier, seats) }
    }

    #[test]
    #[should_panic(expected = "already handed out")]
    fn a_port_is_handed_out_once_per_run() {
        let exchange = new_exchange::<usize>(2);
        // SAFETY: one thread, one run.
        let _first = unsafe { exchange.port(0, 1) };
        // SAFETY: as above (the claim panics before the seat is lent).
        let _second = unsafe { exchange.port(0, 1) };
    }

    #[test]
    fn rounds_see_every_entry_over_runs_and_a_broken_port_stays_broken() {
        let exchange = new_exchange::<u64>(2);
        for run in 1..=3u64 {
            // SAFETY: the previous run's threads were joined.
            unsafe { exchange.begin() };
            std::thread::scope(|s| {
                for me in 0..2u64 {
                    let exchange = &exchange;
                    s.spawn(move || {
                        // SAFETY: as above.
                        let mut port = unsafe { exchange.port(me as usize, run) };
                        for round in 0..10 {
                            let view = port.exchange(run * 100 + round * 10 + me).unwrap();
                            assert_eq!(
                                (0..view.len()).map(|j| *view.get(j)).collect::<Vec<_>>(),
                                [run * 100 + round * 10, run * 100 + round * 10 + 1]
                            );
                        }
                    });
                }
            });
        }
        let single = new_exchange::<u64>(1);
        {
            // SAFETY: one thread.
            let mut port = unsafe { single.port(0, 1) };
            assert_eq!(*port.exchange(7).unwrap().get(0), 7);
            single.abort();
            assert!(port.exchange(8).is_err());
            assert!(port.exchange(9).is_err());
        }
        // The next run repairs the barrier.
        // SAFETY: the port of run 1 is gone.
        unsafe { single.begin() };
        // SAFETY: as above.
        let mut port = unsafe { single.port(0, 2) };
        assert_eq!(*port.exchange(10).unwrap().get(0), 10);
    }
}
