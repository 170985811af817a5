//! Dissemination, `RADIX`-way: in round `r` seat `s` signals the seats `s + j * RADIX^r` and
//! waits for the signals of the seats `s - j * RADIX^r` (mod `parties`), for `j` in
//! `1..RADIX`; after `ceil(log_RADIX parties)` rounds every seat knows that every seat has
//! arrived, with no shared counter at all. (After round `r` a seat has heard, directly or
//! through its partners, from the `RADIX^(r+1) - 1` seats behind it. In the last round the
//! distances that reach `parties` or beyond are skipped: the others already cover every seat.)
//!
//! `RADIX` 4 (Hensgen, Finkel and Manber's n-way dissemination, three partners a round) halves
//! the rounds of the classic pairwise barrier, and a round costs about one cache-line transfer
//! whatever its number of signals, since a seat makes its stores before it waits and the
//! transfers overlap: on 16 cores, 2 rounds instead of 4.
//!
//! Flags hold the generation they signal (not a sense bit), each on its own cache line, and each
//! flag has exactly one writer (the seat whose round-`r` partner owns it), so a flag's values
//! only ever move forward and a flag left set by a failed generation never satisfies a later
//! one.
//!
//! An action needs one completer: seat 0, chosen because it is fixed (no extra agreement is
//! needed) and finishes its rounds only once every seat has arrived.

use crossbeam_utils::CachePadded;

use crate::alloc::{out_of_memory, try_collect};
use crate::error::BuildError;
use crate::state::MAX_PARTIES;
use crate::sync::{AtomicU64, Ordering};

/// Partners per round, plus one: each round multiplies by this the seats a seat has heard from.
pub(crate) const RADIX: usize = 4;

/// Dissemination flags of `parties` seats.
pub(crate) struct Dissemination {
    parties: usize,
    rounds: usize,
    /// `flags[(seat * rounds + round) * (RADIX - 1) + j - 1]`: the last generation in which
    /// `seat` was signalled by its `j`-th partner of `round`, plus one (0: never). A flag can
    /// run one generation ahead of its reader: without a release hop, a partner that finished
    /// generation `g` may signal `g + 1` before the reader has looked, so readers wait for *at
    /// least* their value.
    flags: Box<[CachePadded<AtomicU64>]>,
}

/// `ceil(log_RADIX parties)`: the rounds after which a seat has heard from all `parties`. The
/// reach saturates instead of wrapping, so any `parties` ends the loop.
fn rounds(parties: usize) -> usize {
    let mut rounds = 0;
    let mut reach: usize = 1;
    while reach < parties {
        reach = reach.saturating_mul(RADIX);
        rounds += 1;
    }
    rounds
}

/// The seat that completes every generation.
pub(crate) const COMPLETER_SEAT: usize = 0;

impl Dissemination {
    /// Flags for `parties` seats (at least 1).
    ///
    /// # Errors
    ///
    /// [`BuildError::OutOfMemory`] when the flags cannot be allocated.
    pub(crate) fn new(parties: usize) -> Result<Dissemination, BuildError> {
        debug_assert!((1..=MAX_PARTIES).contains(&parties), "{parties} parties");
        let rounds = rounds(parties);
        let len = parties
            .checked_mul(rounds)
            .and_then(|len| len.checked_mul(RADIX - 1));
        let Some(len) = len else {
            return Err(out_of_memory::<CachePadded<AtomicU64>>(parties, None));
        };
        let flags = try_collect(
            parties,
            len,
            std::iter::repeat_with(|| CachePadded::new(AtomicU64::new(0))),
        )?;
        Ok(Dissemination {
            parties,
            rounds,
            flags,
        })
    }

    fn flag(&self, seat: usize, round: usize, j: usize) -> &AtomicU64 {
        &self.flags[(seat * self.rounds + round) * (RADIX - 1) + j - 1]
    }

    /// Seat `seat` runs its rounds for `generation`. `wait_for_flag(flag, value)` waits until
    /// the flag holds at least `value` and returns `true`, or returns `false` if the generation
    /// failed first; `after_signal(partner)` runs after each signal (to wake the partner if it
    /// parked). Returns whether every round finished: then every seat has arrived.
    #[cfg(test)]
    pub(crate) fn arrive(
        &self,
        seat: usize,
        generation: u64,
        mut wait_for_flag: impl FnMut(&AtomicU64, u64) -> bool,
        mut after_signal: impl FnMut(usize),
    ) -> bool {
        (0..self.rounds).all(|round| {
            self.signal(seat, generation, round, &mut after_signal);
            self.await_signals(seat, generation, round, &mut wait_for_flag)
        })
    }

    /// The rounds of a generation, each a [`signal`](Self::signal) and then an
    /// [`await_signals`](Self::await_signals); a split-phase arrival signals round 0 when it
    /// arrives and goes on from there when it waits.
    pub(crate) fn rounds(&self) -> usize {
        self.rounds
    }

    /// The distances of `round`'s partners: `j * stride` for `j` in `1..=partners`, those
    /// below `parties` (all of them but in the last round).
    fn partners(&self, round: usize) -> (usize, usize) {
        // Saturating: the stride of a round past the last is never used.
        let stride = RADIX.saturating_pow(round as u32);
        ((RADIX - 1).min((self.parties - 1) / stride), stride)
    }

    /// Seat `seat` signals its partners of `round` in `generation`, calling
    /// `after_signal(partner)` after each.
    pub(crate) fn signal(
        &self,
        seat: usize,
        generation: u64,
        round: usize,
        mut after_signal: impl FnMut(usize),
    ) {
        let (partners, stride) = self.partners(round);
        for j in 1..=partners {
            // `seat + j * stride` modulo `parties`, without overflow: `j * stride` is below
            // `parties`.
            let distance = j * stride;
            let partner = match self.parties - distance {
                wrap if seat >= wrap => seat - wrap,
                _ => seat + distance,
            };
            // Release: pairs with the partner's Acquire load in `wait_for_flag`, passing on
            // everything this seat knows (its writes and those of seats it heard from).
            self.flag(partner, round, j)
                .store(generation + 1, Ordering::Release);
            after_signal(partner);
        }
    }

    /// Seat `seat` waits for its signals of `round` in `generation` (see
    /// [`arrive`](Self::arrive) for `wait_for_flag`); `false` if the generation failed first.
    pub(crate) fn await_signals(
        &self,
        seat: usize,
        generation: u64,
        round: usize,
        mut wait_for_flag: impl FnMut(&AtomicU64, u64) -> bool,
    ) -> bool {
        let (partners, _) = self.partners(round);
        (1..=partners).all(|j| wait_for_flag(self.flag(seat, round, j), generation + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_ceil_log_radix() {
        for (parties, rounds) in [(1, 0), (2, 1), (4, 1), (5, 2), (16, 2), (17, 3), (64, 3)] {
            assert_eq!(Dissemination::new(parties).unwrap().rounds, rounds);
            assert_eq!(super::rounds(parties), rounds);
        }
    }

    #[test]
    fn rounds_of_huge_teams_end() {
        assert_eq!(rounds(MAX_PARTIES), 16);
        assert_eq!(rounds(usize::MAX), usize::BITS as usize / 2);
        assert_eq!(rounds((1 << 62) + 1), 32);
    }

    /// The signals each seat's `arrive` makes, round by round.
    fn signals_by_round(barrier: &Dissemination, seat: usize) -> Vec<Vec<usize>> {
        let rounds = std::cell::RefCell::new(vec![Vec::new()]);
        let waited = std::cell::Cell::new(false);
        let finished = barrier.arrive(
            seat,
            0,
            |flag, signal| {
                assert_eq!(flag.load(Ordering::Relaxed), 0, "a flag read twice");
                flag.store(signal, Ordering::Relaxed);
                waited.set(true);
                true
            },
            |partner| {
                if waited.replace(false) {
                    rounds.borrow_mut().push(Vec::new());
                }
                rounds.borrow_mut().last_mut().unwrap().push(partner);
            },
        );
        assert!(finished);
        rounds.into_inner()
    }

    /// Who hears from whom, followed through the rounds as the signals carry it: every seat
    /// must have heard (directly or through partners) from every seat by its last round, and
    /// no seat may signal itself or the same partner twice in a round.
    #[test]
    fn every_seat_hears_from_every_seat() {
        for parties in 2..=70 {
            let signals: Vec<Vec<Vec<usize>>> = (0..parties)
                .map(|seat| signals_by_round(&Dissemination::new(parties).unwrap(), seat))
                .collect();
            let mut heard: Vec<Vec<bool>> = (0..parties)
                .map(|seat| (0..parties).map(|other| other == seat).collect())
                .collect();
            for round in 0..Dissemination::new(parties).unwrap().rounds {
                let before = heard.clone();
                for (seat, rounds) in signals.iter().enumerate() {
                    let mut partners = rounds[round].clone();
                    assert!(!partners.contains(&seat), "{parties} parties: self-signal");
                    partners.sort_unstable();
                    partners.dedup();
                    assert_eq!(
                        partners.len(),
                        rounds[round].len(),
                        "{parties}: a partner twice"
                    );
                    for partner in partners {
                        for other in 0..parties {
                            heard[partner][other] |= before[seat][other];
                        }
                    }
                }
            }
            for (seat, row) in heard.iter().enumerate() {
                assert!(
                    row.iter().all(|&h| h),
                    "{parties} parties: seat {seat} has not heard from everyone"
                );
            }
        }
    }
}
