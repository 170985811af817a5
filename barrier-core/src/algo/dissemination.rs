//! Dissemination: in round `r` seat `s` signals seat `(s + 2^r) mod parties` and waits for the
//! signal of seat `(s - 2^r) mod parties`; after `ceil(log2 parties)` rounds every seat knows
//! that every seat has arrived, with no shared counter at all.
//!
//! Flags hold the generation they signal (not a sense bit), each on its own cache line, and each
//! flag has exactly one writer (the seat whose round-`r` partner owns it), so a flag's values
//! only ever move forward and a flag left set by a failed generation never satisfies a later
//! one.
//!
//! An action needs one completer: seat 0, chosen because it is fixed (no extra agreement is
//! needed) and finishes its rounds only once every seat has arrived.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// Dissemination flags of `parties` seats.
pub(crate) struct Dissemination {
    parties: usize,
    rounds: usize,
    /// `flags[seat * rounds + round]`: the last generation in which `seat` was signalled in
    /// `round`, plus one (0: never). A flag can run one generation ahead of its reader: without
    /// a release hop, a partner that finished generation `g` may signal `g + 1` before the
    /// reader has looked, so readers wait for *at least* their value.
    flags: Box<[CachePadded<AtomicU64>]>,
}

/// The seat that completes every generation.
pub(crate) const COMPLETER_SEAT: usize = 0;

impl Dissemination {
    pub(crate) fn new(parties: usize) -> Dissemination {
        let rounds = parties.next_power_of_two().trailing_zeros() as usize;
        let flags = (0..parties * rounds)
            .map(|_| CachePadded::new(AtomicU64::new(0)))
            .collect();
        Dissemination {
            parties,
            rounds,
            flags,
        }
    }

    /// Seat `seat` runs its rounds for `generation`. `wait_for_flag(flag, value)` waits until
    /// the flag holds at least `value` and returns `true`, or returns `false` if the generation
    /// failed first; `after_signal(partner)` runs after each signal (to wake the partner if it
    /// parked). Returns
    /// whether every round finished: then every seat has arrived.
    pub(crate) fn arrive(
        &self,
        seat: usize,
        generation: u64,
        mut wait_for_flag: impl FnMut(&AtomicU64, u64) -> bool,
        mut after_signal: impl FnMut(usize),
    ) -> bool {
        let signal = generation + 1;
        for round in 0..self.rounds {
            let partner = (seat + (1 << round)) % self.parties;
            // Release: pairs with the partner's Acquire load in `wait_for_flag`, passing on
            // everything this seat knows (its writes and those of seats it heard from).
            self.flags[partner * self.rounds + round].store(signal, Ordering::Release);
            after_signal(partner);
            if !wait_for_flag(&self.flags[seat * self.rounds + round], signal) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_ceil_log2() {
        for (parties, rounds) in [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (16, 4), (33, 6)] {
            assert_eq!(Dissemination::new(parties).rounds, rounds);
        }
    }
}
