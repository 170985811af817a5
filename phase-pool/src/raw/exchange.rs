//! The slots that SPMD collectives publish and read around a barrier.
//!
//! Round `k` of an [`Exchange`]: every worker writes its entry into `slots[k % 2][me]`, waits on
//! the exchange's private barrier, then reads everyone's round-`k` entries. Two parities are
//! enough: a worker writes `slots[k % 2][me]` again only in round `k + 2`, after its round
//! `k + 1` wait returned `Ok`, which needed every other worker to arrive at round `k + 1`, and a
//! worker arrives there only after it dropped its view of round `k` (the view borrows its
//! [`Port`] mutably). A broken barrier never releases anyone again, and a port whose wait failed
//! refuses further rounds, so no read can overlap a write. The barrier is the pool's, a seated
//! one (worker `i` always waits through seat `i`, so `Algorithm::Auto` can pick a tree or
//! dissemination for larger teams), reused (and reset when a run broke it) from one run to the
//! next; [`Exchange::new`]'s contract keeps every other waiter away while an exchange uses it.

use std::fmt;

use barrier_core::{Barrier, Seat};
use crossbeam_utils::CachePadded;

use crate::sync::{AtomicBool, Ordering, UnsafeCell};

/// The barrier of an exchange broke (a worker panicked): the round did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Broken;

/// One worker's entry of one parity, on its own cache line.
type Slot<E> = CachePadded<UnsafeCell<Option<E>>>;

/// One seat of the collective barrier, kept by the pool between runs and lent to the port of
/// its worker during each run.
pub(crate) struct SeatCell(Seat);

// SAFETY: a `Seat` may move between threads (`Send`) but not be shared (`!Sync`); `get`'s
// contract keeps one thread at a time on it, each use ordered after the previous one.
unsafe impl Sync for SeatCell {}

impl SeatCell {
    pub(crate) fn new(seat: Seat) -> SeatCell {
        SeatCell(seat)
    }

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
pub(crate) struct Exchange<'s, E> {
    barrier: &'s Barrier,
    /// The barrier's seats, `seats[i]` for worker `i`'s port.
    seats: &'s [SeatCell],
    /// `slots[parity][worker]`, each on its own cache line.
    slots: [Box<[Slot<E>]>; 2],
    /// Whether the port of each worker was handed out (at most once per exchange).
    claimed: Box<[AtomicBool]>,
}

// SAFETY: entries are written by their owner and read through shared references by every
// worker (`E: Sync`), and dropped by whichever thread overwrites or drops them (`E: Send`).
// Accesses never overlap, as the module docs show.
unsafe impl<E: Send + Sync> Sync for Exchange<'_, E> {}

impl<'s, E> Exchange<'s, E> {
    /// An exchange for `barrier.parties()` workers, separating rounds with `barrier`, whose
    /// seats are `seats` (`seats[i].index() == i`).
    ///
    /// # Safety
    ///
    /// While the exchange lives, no thread waits on `barrier` other than through this
    /// exchange's ports, and when it is created nobody is waiting on it and nobody uses a seat
    /// (a previous exchange over the same barrier is over: all its waits returned and happened
    /// before this call).
    pub(crate) unsafe fn new(barrier: &'s Barrier, seats: &'s [SeatCell]) -> Exchange<'s, E> {
        let n = barrier.parties();
        assert_eq!(seats.len(), n, "one seat per party");
        let slots = || {
            (0..n)
                .map(|_| CachePadded::new(UnsafeCell::new(None)))
                .collect()
        };
        Exchange {
            barrier,
            seats,
            slots: [slots(), slots()],
            claimed: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// The port of worker `index`.
    ///
    /// # Panics
    ///
    /// If the port of `index` was already handed out, or `index` is out of range.
    pub(crate) fn port(&self, index: usize) -> Port<'_, E> {
        // Relaxed: only the uniqueness of the claim matters; the barrier orders the data.
        let taken = self.claimed[index].swap(true, Ordering::Relaxed);
        assert!(
            !taken,
            "the exchange port of worker {index} was already handed out"
        );
        // SAFETY: only this port, handed out once per exchange, uses seat `index` while the
        // exchange lives, and earlier users were done before the exchange was created
        // (`new`'s contract).
        let seat = unsafe { self.seats[index].get() };
        Port {
            exchange: self,
            seat,
            index,
            round: 0,
            poisoned: false,
        }
    }

    /// Breaks the barrier: every current and later round fails with [`Broken`].
    pub(crate) fn abort(&self) {
        self.barrier.abort();
    }
}

/// Worker `index`'s access to an [`Exchange`].
pub(crate) struct Port<'a, E> {
    exchange: &'a Exchange<'a, E>,
    /// Seat `index` of the exchange's barrier.
    seat: &'a Seat,
    index: usize,
    round: u64,
    poisoned: bool,
}

impl<E> Port<'_, E> {
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
        if self.poisoned {
            return Err(Broken);
        }
        let slots = &self.exchange.slots[(self.round % 2) as usize];
        // SAFETY: only this port writes this slot. Its last readers read it in round
        // `self.round - 2` and were done before they arrived at round `self.round - 1`, whose
        // wait this port passed with `Ok` (otherwise it would be poisoned).
        slots[self.index].with_mut(|slot| unsafe {
            let old = (*slot).take();
            *slot = Some(make(old));
        });
        // The barrier's happens-before edge publishes the write above to every reader.
        match self.seat.wait() {
            Ok(_) => {
                self.round += 1;
                Ok(Round { slots })
            }
            Err(_) => {
                self.poisoned = true;
                Err(Broken)
            }
        }
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

impl<E> fmt::Debug for Exchange<'_, E> {
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

    fn seated(n: usize) -> (Barrier, Vec<SeatCell>) {
        let (barrier, seats) = Barrier::builder(n).build_seated().unwrap();
        (barrier, seats.into_iter().map(SeatCell::new).collect())
    }

    #[test]
    #[should_panic(expected = "already handed out")]
    fn a_port_is_handed_out_once() {
        let (barrier, seats) = seated(2);
        // SAFETY: a fresh barrier that only this exchange uses.
        let exchange = unsafe { Exchange::<usize>::new(&barrier, &seats) };
        let _first = exchange.port(0);
        let _second = exchange.port(0);
    }

    #[test]
    fn rounds_see_every_entry_and_a_broken_port_stays_broken() {
        let (barrier, seats) = seated(2);
        // SAFETY: a fresh barrier that only this exchange uses.
        let exchange = unsafe { Exchange::new(&barrier, &seats) };
        std::thread::scope(|s| {
            for me in 0..2 {
                let exchange = &exchange;
                s.spawn(move || {
                    let mut port = exchange.port(me);
                    for round in 0..10 {
                        let view = port.exchange(round * 10 + me).unwrap();
                        assert_eq!(
                            (0..view.len()).map(|j| *view.get(j)).collect::<Vec<_>>(),
                            [round * 10, round * 10 + 1]
                        );
                    }
                });
            }
        });
        let (barrier, seats) = seated(1);
        // SAFETY: as above.
        let single = unsafe { Exchange::new(&barrier, &seats) };
        let mut port = single.port(0);
        assert_eq!(*port.exchange(7).unwrap().get(0), 7);
        single.abort();
        assert!(port.exchange(8).is_err());
        assert!(port.exchange(9).is_err());
    }
}
