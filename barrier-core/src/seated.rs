//! The seated protocol: how seats arrive, how a generation completes or fails, and how abort,
//! reset and timeouts decide, for the tree and dissemination algorithms. The rules and the
//! races are written down in `README.md`, "Seats".
//!
//! The state word of a seated barrier changes only when something fails (and when seats
//! acknowledge it): the episodes themselves never write it, so it stays in every seat's cache
//! and the fast path pays one load for Python's abort/reset/timeout semantics. Each seat
//! counts generations itself (they all see the same sequence), registers its arrival with one
//! compare-and-swap on its own slot, and a failure *claims* the slots of the seats that have not
//! arrived yet. A generation fails if and only if a claim succeeds; then some seat can never
//! arrive, so it can never complete. Conversely, once every seat has arrived no claim can
//! succeed, so the generation completes, and a dissemination seat that has finished its rounds
//! returns at once, with no release hop.
//!
//! A tree seat may leave for good: its departure is recorded, and whoever starts the next
//! generation (the completer, or the end of a failure) applies it while nobody can join: the
//! seat's slot reads departed (never waited for, never claimed), the tree counts it as always
//! arrived, and the parties and the other seats' ranks (their indices) shrink.

use std::fmt;

use crossbeam_utils::CachePadded;

use crate::algo::Gather;
use crate::alloc::{out_of_memory, try_collect};
use crate::core::Core;
use crate::error::{BrokenCause, BuildError};
use crate::state::{Stage, State};
use crate::sync::{AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::Parker;

/// The per-seat part of a seated barrier.
pub(crate) struct SeatTable {
    pub(crate) gather: Gather,
    /// Per seat: [`arrived_in(g)`](arrived_in) once the seat arrived in generation `g`,
    /// [`claimed_in(g)`](claimed_in) once a failure claimed its place in `g` first. Written by
    /// the seat (arrivals) and by failures (claims), always by compare-and-swap.
    slots: Box<[CachePadded<AtomicU64>]>,
    /// Where a completer releases its generation, when the others must wait for it: a tree
    /// (only the root's last arriver knows that all have arrived) or an action (which runs
    /// before anyone returns). A dissemination barrier without an action never uses it.
    release: CachePadded<Release>,
    releases: bool,
    /// Per seat of a dissemination barrier (empty for a tree): where the seat parks while it
    /// waits at a flag, so that a signal wakes only the seat it is for. With one parker for
    /// all, each of a generation's `parties * rounds` signals woke every parked seat.
    flag_parkers: Box<[CachePadded<Parker>]>,
    /// Seats whose departure waits for the start of the next generation (tree only). Locked by
    /// a seat recording its departure and by whoever starts a generation after a failure,
    /// across the CAS that starts it, so a departure recorded while none can be joined is
    /// applied by the next start, never lost between two. Never held while waiting.
    departures: Mutex<Vec<usize>>,
    /// Per seat of a tree: its rank among the seats that have not left, which orders the
    /// indices of a generation. Changed with the departures, published like them.
    ranks: Box<[AtomicUsize]>,
    /// Cores assigned to the seats by the builder's placement.
    pub(crate) cores: Box<[Option<usize>]>,
}

struct Release {
    /// `g + 1` once generation `g` was released (0: none yet).
    generation: AtomicU64,
    /// The rank of the seat that completed it (for the indices).
    completer: AtomicUsize,
    /// 1 while departures are recorded: the completer applies them before its release.
    departing: AtomicUsize,
}

/// Slot value of a seat that has left: it never joins a generation again, and no failure
/// claims it.
const DEPARTED: u64 = u64::MAX;

/// Slot value of a seat that arrived in generation `g`.
fn arrived_in(generation: u64) -> u64 {
    (generation + 1) << 1
}

/// Slot value of a seat whose place in generation `g` a failure claimed.
fn claimed_in(generation: u64) -> u64 {
    arrived_in(generation) | 1
}

/// The generation a seat with slot value `slot` joins next.
fn next_of(slot: u64) -> u64 {
    slot >> 1
}

impl SeatTable {
    /// The seated part of a barrier of `cores.len()` seats.
    ///
    /// # Errors
    ///
    /// [`BuildError::OutOfMemory`] when the per-seat storage cannot be allocated.
    pub(crate) fn new(
        gather: Gather,
        has_action: bool,
        cores: Box<[Option<usize>]>,
    ) -> Result<SeatTable, BuildError> {
        let parties = cores.len();
        let releases = has_action || matches!(gather, Gather::Tree(_));
        let flag_parkers = match gather {
            Gather::Dissemination(_) => try_collect(
                parties,
                parties,
                std::iter::repeat_with(|| CachePadded::new(Parker::default())),
            )?,
            Gather::Tree(_) => Box::default(),
        };
        let slots = try_collect(
            parties,
            parties,
            std::iter::repeat_with(|| CachePadded::new(AtomicU64::new(0))),
        )?;
        let (departures, ranks) = match gather {
            Gather::Tree(_) => {
                // Room for every seat up front, so that recording a departure never allocates.
                let mut departures = Vec::new();
                departures
                    .try_reserve_exact(parties)
                    .map_err(|_| out_of_memory::<usize>(parties, Some(parties)))?;
                let ranks = try_collect(parties, parties, (0..parties).map(AtomicUsize::new))?;
                (departures, ranks)
            }
            Gather::Dissemination(_) => (Vec::new(), Box::default()),
        };
        Ok(SeatTable {
            gather,
            slots,
            release: CachePadded::new(Release {
                generation: AtomicU64::new(0),
                completer: AtomicUsize::new(0),
                departing: AtomicUsize::new(0),
            }),
            releases,
            flag_parkers,
            departures: Mutex::new(departures),
            ranks,
            cores,
        })
    }

    /// The algorithm's name, for errors.
    pub(crate) fn algorithm_name(&self) -> &'static str {
        match self.gather {
            Gather::Tree(_) => "tree",
            Gather::Dissemination(_) => "dissemination",
        }
    }

    /// Where seat `seat` parks while it waits at a dissemination flag.
    #[inline]
    pub(crate) fn flag_parker(&self, seat: usize) -> &Parker {
        &self.flag_parkers[seat]
    }

    /// Wakes every thread that may wait for a failure: those parked on the core's parker and
    /// the seats parked at their dissemination flags (a failure ends their rounds too).
    fn notify_failure(&self, core: &Core) {
        if core.parks() {
            core.notify();
            for parker in self.flag_parkers.iter() {
                parker.notify_all();
            }
        }
    }

    /// [`Core::replace`], waking the dissemination flags' waiters too.
    fn replace(&self, core: &Core, expected: State, step: impl FnOnce(State) -> State) -> bool {
        let replaced = core.replace(expected, step);
        if replaced {
            self.notify_failure(core);
        }
        replaced
    }

    /// Records that `generation` failed, with `count` seats still to acknowledge it. Installs
    /// only on a filling barrier whose failures so far are older than `generation` (a failure
    /// that claimed a seat and was slow to record may find its generation already failed,
    /// acknowledged and reset). Returns whether this call installed the record.
    pub(crate) fn record_failure(
        &self,
        core: &Core,
        generation: u64,
        stage: Stage,
        cause: BrokenCause,
        count: usize,
    ) -> bool {
        let installed = core
            .transition(|state| {
                state
                    .may_fail(generation)
                    .then(|| State::seated_failure(generation, stage, cause, count))
            })
            .is_some();
        if installed {
            self.notify_failure(core);
        }
        installed
    }

    /// Whether the non-completing seats wait for the completer's release.
    #[inline]
    pub(crate) fn releases(&self) -> bool {
        self.releases
    }

    /// Seat `seat` arrives in generation `generation`: `false` if a failure claimed its place
    /// first (the generation failed).
    #[inline]
    pub(crate) fn arrive(&self, seat: usize, generation: u64) -> bool {
        let slot = &self.slots[seat];
        // Relaxed: a stale value only makes the CAS fail, and only a claim can change it.
        let current = slot.load(Ordering::Relaxed);
        if next_of(current) != generation {
            debug_assert_eq!(current, claimed_in(generation), "seat {seat} out of step");
            return false;
        }
        // AcqRel: pairs with a failure's claim attempt (its Acquire read of the arrival, its
        // Release of the claim), so exactly one of the two wins and each sees the other.
        slot.compare_exchange(
            current,
            arrived_in(generation),
            Ordering::AcqRel,
            Ordering::Relaxed,
        )
        .is_ok()
    }

    /// Claims the place of every seat that has not arrived in `generation`. Returns whether the
    /// generation failed (some place is claimed, by this call or an earlier one); `false` means
    /// every seat arrived, so it completes.
    fn claim(&self, generation: u64) -> bool {
        let mut failed = false;
        for slot in self.slots.iter() {
            // Acquire: a seat's arrival read here (or below) passes on what it wrote before.
            let mut current = slot.load(Ordering::Acquire);
            while current != DEPARTED && next_of(current) == generation {
                // AcqRel: see `arrive`.
                match slot.compare_exchange(
                    current,
                    claimed_in(generation),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => current = claimed_in(generation),
                    Err(actual) => current = actual,
                }
            }
            failed |= current == claimed_in(generation);
        }
        failed
    }

    /// The first generation that not every seat has arrived in (or been claimed in); once
    /// every seat has left, the one after the last released.
    fn open_generation(&self) -> u64 {
        self.slots
            .iter()
            // Relaxed: a hint for `claim`, which re-reads and decides.
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|&slot| slot != DEPARTED)
            .map(next_of)
            .min()
            // Relaxed: as above.
            .unwrap_or_else(|| self.release.generation.load(Ordering::Relaxed))
    }

    /// Whether generation `generation`, which every seat arrived in, has been released (always
    /// true when nobody waits for a release).
    #[inline]
    fn released(&self, generation: u64) -> bool {
        // Acquire: pairs with `publish_release`.
        !self.releases || self.release.generation.load(Ordering::Acquire) > generation
    }

    /// Whether generation `generation`, which every seat has passed, may still change the
    /// state word: it is neither released (where a release is awaited) nor free of claims (a
    /// claimed generation failed, and its failure is recorded once, by whoever claimed it).
    fn undecided(&self, generation: u64) -> bool {
        !self.released(generation)
            || self
                .slots
                .iter()
                // Acquire: as in `claim`.
                .any(|slot| slot.load(Ordering::Acquire) == claimed_in(generation))
    }

    /// The completer of `generation`, of rank `completer`, releases it (tree, or after the
    /// action).
    #[inline]
    pub(crate) fn publish_release(&self, generation: u64, completer: usize) {
        // Relaxed: published by the Release store below. Stored only when it changes, since the
        // waiters read this line every episode.
        if self.release.completer.load(Ordering::Relaxed) != completer {
            self.release.completer.store(completer, Ordering::Relaxed);
        }
        // Release: everything the completer acquired (every arrival) and did (the action)
        // passes to the seats whose Acquire poll reads it.
        self.release
            .generation
            .store(generation + 1, Ordering::Release);
    }

    /// Polls for the release of `generation`: `Some(completer's rank)` once released.
    #[inline]
    pub(crate) fn poll_release(&self, generation: u64) -> Option<usize> {
        // Relaxed completer: read after the Acquire that synchronised with its publication.
        self.released(generation)
            .then(|| self.release.completer.load(Ordering::Relaxed))
    }

    /// The index of the seat of rank `rank` in a released generation of `parties` seats
    /// completed by the seat of rank `completer`: a permutation of `0..parties` with the
    /// completer last.
    #[inline]
    pub(crate) fn index(rank: usize, completer: usize, parties: usize) -> usize {
        match rank {
            _ if rank == completer => parties - 1,
            _ if rank < completer => rank,
            _ => rank - 1,
        }
    }

    /// Seat `seat`'s rank among the seats that have not left (its number, until one leaves).
    pub(crate) fn rank(&self, seat: usize) -> usize {
        // Relaxed: read after the start of a generation, which publishes the ranks with the
        // parties (see `apply_departures`).
        self.ranks
            .get(seat)
            .map_or(seat, |rank| rank.load(Ordering::Relaxed))
    }

    /// Whether seats can leave: a tree's can; dissemination's rounds are laid out for a fixed
    /// team.
    pub(crate) fn can_depart(&self) -> bool {
        matches!(self.gather, Gather::Tree(_))
    }

    /// The recorded departures, locked (see `SeatTable::departures`).
    pub(crate) fn departures(&self) -> MutexGuard<'_, Vec<usize>> {
        self.departures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that seat `seat` leaves: from the start of the generation after the one it is
    /// in, or, on a failed barrier, after the reset. The caller then arrives (its generation
    /// completes or fails only after that), or holds `departures` while it checks that no
    /// generation was started since it saw the failure.
    pub(crate) fn record_departure(&self, departures: &mut Vec<usize>, seat: usize) {
        debug_assert!(self.can_depart() && !departures.contains(&seat));
        departures.push(seat);
        // Relaxed: the completer reads it after acquiring this seat's arrival (through the
        // tree's nodes); every other start reads the departures under the lock.
        self.release.departing.store(1, Ordering::Relaxed);
    }

    /// Whether departures are recorded, for the completer of a generation (see
    /// `record_departure`).
    #[inline]
    pub(crate) fn departing(&self) -> bool {
        // Relaxed: see `record_departure`.
        self.release.departing.load(Ordering::Relaxed) != 0
    }

    /// Applies the recorded departures, while no generation can be joined, before the start
    /// of the next one (which publishes all of this): their slots read departed, the tree
    /// counts them as arrived, the others' ranks close up and the parties shrink. Returns the
    /// parties of the next generation.
    pub(crate) fn apply_departures(&self, core: &Core, departures: &mut Vec<usize>) -> usize {
        let parties = core.parties();
        if departures.is_empty() {
            return parties;
        }
        let Gather::Tree(tree) = &self.gather else {
            unreachable!("only a tree's seats leave")
        };
        for &seat in departures.iter() {
            // Relaxed: published by the start, before which no failure claims this slot and the
            // seat never writes it again.
            self.slots[seat].store(DEPARTED, Ordering::Relaxed);
            tree.depart(seat);
        }
        let left = parties - departures.len();
        departures.clear();
        self.release.departing.store(0, Ordering::Relaxed);
        let present = self
            .slots
            .iter()
            .zip(self.ranks.iter())
            .filter(|(slot, _)| slot.load(Ordering::Relaxed) != DEPARTED);
        for (rank, (_, slot_rank)) in present.enumerate() {
            // Relaxed: as the slots.
            slot_rank.store(rank, Ordering::Relaxed);
        }
        core.set_parties(left);
        left
    }

    /// The first state after `failed`, a failure that every seat has acknowledged (drained),
    /// holding `departures`: applies them first, and with no seat left the barrier stays
    /// finished.
    pub(crate) fn start_generation(
        &self,
        core: &Core,
        failed: State,
        departures: &mut Vec<usize>,
    ) -> State {
        if self.apply_departures(core, departures) > 0 {
            failed.next_generation()
        } else if failed.stage() == Stage::Broken && failed.cause() == Some(BrokenCause::Finished) {
            failed
        } else {
            failed.next_generation().finished()
        }
    }

    /// Fails `generation` because of `cause` (a seat's timeout): `true` if it failed (now, or
    /// already), `false` if every seat had arrived, so that it completes instead.
    pub(crate) fn fail(&self, core: &Core, generation: u64, cause: BrokenCause) -> bool {
        if !self.claim(generation) {
            return false;
        }
        self.record_failure(core, generation, Stage::Broken, cause, core.parties());
        true
    }

    /// The action of `generation - 1` ended the run, or its last seat left: fails
    /// `generation`, which no seat can have joined (they wait for the release of the one
    /// before), as finished.
    pub(crate) fn finish(&self, core: &Core, generation: u64) {
        let failed = self.claim(generation);
        debug_assert!(
            failed || core.parties() == 0,
            "a seat joined generation {generation} before its release"
        );
        let recorded = self.record_failure(
            core,
            generation,
            Stage::Broken,
            BrokenCause::Finished,
            core.parties(),
        );
        debug_assert!(recorded, "generation {generation} failed before it opened");
    }

    /// Fails the open generation (abort, reset, a dropped seat): the first one that not every
    /// seat has arrived in. If the one before it is still undecided, first waits for it: for its
    /// action (as CPython's abort waits for the lock the action holds), or for the record of a
    /// failure that claimed it. Returns whether this call recorded the failure; if not, the
    /// state changed meanwhile and the caller re-reads it.
    pub(crate) fn fail_open(&self, core: &Core, stage: Stage, cause: BrokenCause) -> bool {
        loop {
            let state = core.load();
            if state.stage() != Stage::Filling {
                return false;
            }
            let generation = self.open_generation();
            let previous = generation.wrapping_sub(1);
            if generation > 0 && state.may_fail(previous) && self.undecided(previous) {
                // Every seat passed the previous generation, but its outcome is still to come:
                // its action runs, or a failure claimed it and has yet to record that. Claiming
                // the open generation now could have this failure recorded first and that one
                // refused, leaving its claimed seats waiting for a record that never comes:
                // wait for the state to change (or the release), then look again.
                let decided = core.wait_for_state(None, |now| {
                    (now != state || !self.undecided(previous)).then_some(())
                });
                decided.unwrap_or_else(|_| unreachable!("waited without a deadline"));
                continue;
            }
            if self.claim(generation) {
                return self.record_failure(core, generation, stage, cause, core.parties());
            }
            // Every seat arrived meanwhile: that generation completes; fail the next one.
        }
    }

    /// [`Barrier::abort`] on a seated barrier: fails the open generation (a resetting barrier
    /// becomes broken, keeping its count), so the seats inside fail and later waits fail too.
    pub(crate) fn abort(&self, core: &Core) {
        loop {
            let state = core.load();
            let done = match state.stage() {
                Stage::Broken => true,
                Stage::Filling => self.fail_open(core, Stage::Broken, BrokenCause::Aborted),
                Stage::Resetting => self.replace(core, state, |state| {
                    state.failed(Stage::Broken, BrokenCause::Aborted)
                }),
            };
            if done {
                return;
            }
        }
    }

    /// [`Barrier::reset`] on a seated barrier. A filling barrier fails its open generation as
    /// `Resetting`: the seats inside get the error, every other seat acknowledges on its next
    /// wait without one, and the last acknowledgement makes the barrier filling again. A broken
    /// one resets at once if every seat has acknowledged, else once they have.
    pub(crate) fn reset(&self, core: &Core) {
        loop {
            let state = core.load();
            let done = match state.stage() {
                Stage::Resetting => true,
                Stage::Filling => self.fail_open(core, Stage::Resetting, BrokenCause::Reset),
                Stage::Broken if state.count() == 0 => {
                    let mut departures = self.departures();
                    match self.start_generation(core, state, &mut departures) {
                        next if next == state => true,
                        next => self.replace(core, state, |_| next),
                    }
                }
                Stage::Broken => self.replace(core, state, |state| {
                    let cause = state.cause().unwrap_or(BrokenCause::Reset);
                    state.failed(Stage::Resetting, cause)
                }),
            };
            if done {
                return;
            }
        }
    }

    /// [`Barrier::generation`] of a seated barrier whose state word is `state`: the
    /// generations every seat has passed, less the last one while it waits for its release or,
    /// when it failed, while the failure is recorded (not reset).
    pub(crate) fn generation(&self, state: State) -> u64 {
        let open = self.open_generation();
        let Some(previous) = open.checked_sub(1) else {
            return 0;
        };
        let claimed = self
            .slots
            .iter()
            // Relaxed: advisory, like any snapshot of a moving barrier.
            .any(|slot| slot.load(Ordering::Relaxed) == claimed_in(previous));
        let ended = if claimed {
            state.stage() == Stage::Filling
        } else {
            self.released(previous)
        };
        if ended {
            open
        } else {
            previous
        }
    }

    /// Seats that arrived in the open generation: `parties` while a complete generation waits
    /// for its release (the action runs).
    pub(crate) fn n_waiting(&self, parties: usize) -> usize {
        let generation = self.open_generation();
        // Relaxed: advisory, like any snapshot of a moving barrier.
        let arrived = self
            .slots
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed) == arrived_in(generation))
            .count();
        if arrived == 0 && generation > 0 && !self.released(generation - 1) {
            parties
        } else {
            arrived
        }
    }
}

impl fmt::Debug for SeatTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeatTable")
            .field("gather", &self.gather)
            .field("parties", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_values_order_arrivals_and_claims() {
        assert_eq!(next_of(0), 0, "a new seat joins generation 0");
        for g in [0, 1, 7, 1 << 40] {
            assert_eq!(next_of(arrived_in(g)), g + 1);
            assert_eq!(next_of(claimed_in(g)), g + 1);
            assert_ne!(arrived_in(g), claimed_in(g));
        }
    }

    #[test]
    fn a_departed_slot_is_never_joined() {
        for g in [0, 1, 7, 1 << 40] {
            assert_ne!(next_of(DEPARTED), g);
            assert_ne!(DEPARTED, arrived_in(g));
            assert_ne!(DEPARTED, claimed_in(g));
        }
    }

    #[test]
    fn indices_are_a_permutation_with_the_completer_last() {
        for parties in 1..6 {
            for completer in 0..parties {
                let mut indices: Vec<usize> = (0..parties)
                    .map(|seat| SeatTable::index(seat, completer, parties))
                    .collect();
                assert_eq!(indices[completer], parties - 1);
                indices.sort_unstable();
                assert_eq!(indices, (0..parties).collect::<Vec<_>>());
            }
        }
    }
}
