//! The barrier's packed state word.

use std::fmt;

use crate::error::BrokenCause;

/// What a generation is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Threads are arriving; `count` of them have joined (`count == parties` while the action
    /// runs).
    Filling,
    /// `reset()` failed the generation; its `count` waiters are leaving, after which the next
    /// generation starts filling.
    Resetting,
    /// Broken until `reset()`; `count` waiters of the failed generation have not left yet.
    Broken,
}

/// The whole barrier state in one `u64`, so that joining, releasing, breaking and resetting are
/// each a single atomic decision.
///
/// Layout, low bits first:
///
/// | bits                          | field  | meaning                                        |
/// |-------------------------------|--------|------------------------------------------------|
/// | `0 .. STAGE_SHIFT`            | count  | threads inside the current generation          |
/// | `STAGE_SHIFT .. CAUSE_SHIFT`  | stage  | [`Stage`]                                      |
/// | `CAUSE_SHIFT .. MEMBERSHIP_BIT` | cause | why it is resetting or broken ([`BrokenCause`])|
/// | `MEMBERSHIP_BIT`              | membership | a change of parties waits for this generation's end |
/// | `GEN_SHIFT .. 64`             | gen    | generation number, wrapping                    |
///
/// The generation only advances when no thread of the old generation can still be waiting for
/// its outcome undecided: at a release (all of them succeed, whatever happens later) and when the
/// last waiter of a failed generation has left. A waiter therefore reads "generation moved" as
/// "released" without ambiguity; see `README.md` for the argument and for the wrap-around bound.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct State(u64);

const COUNT_BITS: u32 = 32;
const STAGE_SHIFT: u32 = COUNT_BITS;
const STAGE_BITS: u32 = 2;
const CAUSE_SHIFT: u32 = STAGE_SHIFT + STAGE_BITS;
const CAUSE_BITS: u32 = 3;
const MEMBERSHIP_BIT: u32 = CAUSE_SHIFT + CAUSE_BITS;
const GEN_SHIFT: u32 = MEMBERSHIP_BIT + 1;

const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const STAGE_MASK: u64 = ((1 << STAGE_BITS) - 1) << STAGE_SHIFT;
const CAUSE_MASK: u64 = ((1 << CAUSE_BITS) - 1) << CAUSE_SHIFT;
const MEMBERSHIP_MASK: u64 = 1 << MEMBERSHIP_BIT;
const GEN_ONE: u64 = 1 << GEN_SHIFT;

/// The most parties a barrier can have: the count field of its state word must hold `parties`
/// itself.
///
/// [`BarrierBuilder::build`](crate::BarrierBuilder::build) and
/// [`build_seated`](crate::BarrierBuilder::build_seated) refuse more with
/// [`BuildError::TooManyParties`](crate::BuildError::TooManyParties) before allocating anything.
/// A seated barrier also allocates a few cache lines per seat, so it may fail well below this
/// limit with [`BuildError::OutOfMemory`](crate::BuildError::OutOfMemory).
pub const MAX_PARTIES: usize = u32::MAX as usize;

// The generation keeps at least 24 bits so that wrap-around needs millions of generations
// while one waiter is descheduled (see README.md, "Generation wrap-around").
const _: () = assert!(64 - GEN_SHIFT >= 24);
const _: () = assert!(MAX_PARTIES as u64 <= COUNT_MASK);

/// How often (in generations) a barrier moves the base from which it widens the state's
/// generation field to a full `u64` (see [`widen_generation`]): rarely enough to cost
/// nothing, often enough that the base stays far within half the field's range.
pub(crate) const GENERATION_CHECKPOINT: u64 = 1 << 20;

const GEN_FIELD_MASK: u64 = u64::MAX >> GEN_SHIFT;

const _: () = assert!(GENERATION_CHECKPOINT * 8 <= GEN_FIELD_MASK / 2);

/// The full generation number of a state word's generation field `field`, rebuilt from
/// `base`: a full generation number within half the field's range of it (before or after),
/// which the field holds modulo its width.
pub(crate) fn widen_generation(field: u64, base: u64) -> u64 {
    let ahead = field.wrapping_sub(base) & GEN_FIELD_MASK;
    if ahead <= GEN_FIELD_MASK / 2 {
        base.wrapping_add(ahead)
    } else {
        base.wrapping_sub(GEN_FIELD_MASK + 1 - ahead)
    }
}

impl State {
    /// Generation 0, filling, nobody inside.
    pub(crate) const INITIAL: State = State(0);

    #[inline]
    pub(crate) const fn from_bits(bits: u64) -> State {
        State(bits)
    }

    #[inline]
    pub(crate) const fn bits(self) -> u64 {
        self.0
    }

    /// Threads inside the current generation.
    #[inline]
    pub(crate) fn count(self) -> usize {
        (self.0 & COUNT_MASK) as usize
    }

    #[inline]
    pub(crate) fn stage(self) -> Stage {
        match (self.0 & STAGE_MASK) >> STAGE_SHIFT {
            0 => Stage::Filling,
            1 => Stage::Resetting,
            2 => Stage::Broken,
            other => unreachable!("invalid stage bits {other} in barrier state {:#x}", self.0),
        }
    }

    /// Why the barrier is resetting or broken; `None` while filling.
    pub(crate) fn cause(self) -> Option<BrokenCause> {
        BrokenCause::from_code(((self.0 & CAUSE_MASK) >> CAUSE_SHIFT) as u8)
    }

    /// Generation number (wrapping); only compared for equality.
    #[inline]
    pub(crate) fn generation(self) -> u64 {
        self.0 >> GEN_SHIFT
    }

    /// Whether this state starts a generation at which the widening base moves.
    #[inline]
    pub(crate) fn is_generation_checkpoint(self) -> bool {
        self.generation() % GENERATION_CHECKPOINT == 0
    }

    /// Whether `self` still belongs to generation `generation` (see [`State::generation`]).
    #[inline]
    pub(crate) fn is_generation(self, generation: u64) -> bool {
        self.generation() == generation
    }

    /// One more thread joined.
    #[inline]
    pub(crate) fn joined(self) -> State {
        debug_assert!(
            self.count() < MAX_PARTIES,
            "barrier count overflow in {self:?}"
        );
        State(self.0 + 1)
    }

    /// One thread of a failed generation left.
    pub(crate) fn left(self) -> State {
        debug_assert!(
            self.count() > 0,
            "leaving a barrier nobody is inside: {self:?}"
        );
        debug_assert!(
            self.stage() != Stage::Filling,
            "leaving a filling generation: {self:?}"
        );
        State(self.0 - 1)
    }

    /// The record of a seated barrier's failed generation `generation` (a seat's full
    /// generation number; kept modulo the field's width): `stage` because of `cause`, with
    /// `count` seats still to acknowledge it.
    pub(crate) fn seated_failure(
        generation: u64,
        stage: Stage,
        cause: BrokenCause,
        count: usize,
    ) -> State {
        State(generation << GEN_SHIFT)
            .failed(stage, cause)
            .with_count(count)
    }

    /// Whether this is the record of seated generation `generation` failing (see
    /// [`State::seated_failure`]).
    #[inline]
    pub(crate) fn is_seated_failure_of(self, generation: u64) -> bool {
        self.stage() != Stage::Filling && self.generation() == generation & (u64::MAX >> GEN_SHIFT)
    }

    /// Whether seated generation `generation` may still fail in this filling state: a seated
    /// barrier's filling state holds the first generation after its last failure (see
    /// [`State::next_generation`]), so a stale record of an older failure is refused. Compared
    /// modulo the field's width, within half of it.
    /// Any other state (a failure recorded) refuses.
    pub(crate) fn may_fail(self, generation: u64) -> bool {
        let mask = u64::MAX >> GEN_SHIFT;
        self.stage() == Stage::Filling
            && (generation.wrapping_sub(self.generation()) & mask) <= mask / 2
    }

    /// Same generation, stage and cause, with `count` set to `count`.
    pub(crate) fn with_count(self, count: usize) -> State {
        debug_assert!(count <= MAX_PARTIES, "barrier count overflow: {count}");
        State((self.0 & !COUNT_MASK) | count as u64)
    }

    /// The next generation, filling and empty (with no membership change pending: the thread
    /// that starts it applies them first).
    #[inline]
    pub(crate) fn next_generation(self) -> State {
        State(
            (self.0 & !(COUNT_MASK | STAGE_MASK | CAUSE_MASK | MEMBERSHIP_MASK))
                .wrapping_add(GEN_ONE),
        )
    }

    /// This state's generation, finished: broken with [`BrokenCause::Finished`].
    pub(crate) fn finished(self) -> State {
        self.failed(Stage::Broken, BrokenCause::Finished)
    }

    /// Whether a change of the parties (`arrive_and_drop`, `add_parties`) waits for the end of
    /// this generation: then no arrival releases it in its joining CAS, so that whoever starts
    /// the next generation applies the change first. Kept through failures.
    #[inline]
    pub(crate) fn membership_pending(self) -> bool {
        self.0 & MEMBERSHIP_MASK != 0
    }

    /// The same state with a membership change pending.
    pub(crate) fn with_membership_pending(self) -> State {
        State(self.0 | MEMBERSHIP_MASK)
    }

    /// Same generation and count, now in `stage` because of `cause`.
    pub(crate) fn failed(self, stage: Stage, cause: BrokenCause) -> State {
        debug_assert!(
            stage != Stage::Filling,
            "a failed generation cannot be filling"
        );
        let stage_bits = match stage {
            Stage::Filling => 0,
            Stage::Resetting => 1,
            Stage::Broken => 2,
        };
        State(
            (self.0 & !(STAGE_MASK | CAUSE_MASK))
                | (stage_bits << STAGE_SHIFT)
                | (u64::from(cause.code()) << CAUSE_SHIFT),
        )
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("generation", &self.generation())
            .field("stage", &self.stage())
            .field("cause", &self.cause())
            .field("count", &self.count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seated_failures_refuse_stale_generations() {
        let failed = State::seated_failure(7, Stage::Broken, BrokenCause::TimedOut, 3);
        assert!(failed.is_seated_failure_of(7));
        assert!(!failed.is_seated_failure_of(8));
        assert!(!failed.may_fail(7), "a recorded failure refuses another");
        // Recovered from generation 7: the filling state's floor is 8.
        let recovered = failed.with_count(0).next_generation();
        assert_eq!(recovered.stage(), Stage::Filling);
        assert!(!recovered.may_fail(7), "a stale record of 7 is refused");
        assert!(recovered.may_fail(8) && recovered.may_fail(9));
        // Full generation numbers wrap into the field: adjacent ones still compare right.
        let wide = (1u64 << 40) + 5;
        let floor =
            State::seated_failure(wide, Stage::Broken, BrokenCause::Aborted, 0).next_generation();
        assert!(floor.may_fail(wide + 1) && !floor.may_fail(wide));
        assert!(State::INITIAL.may_fail(0));
    }

    #[test]
    fn fields_round_trip() {
        let s = State::INITIAL.joined().joined();
        assert_eq!(
            (s.count(), s.stage(), s.cause(), s.generation()),
            (2, Stage::Filling, None, 0)
        );
        let broken = s.failed(Stage::Broken, BrokenCause::TimedOut);
        assert_eq!(broken.stage(), Stage::Broken);
        assert_eq!(broken.cause(), Some(BrokenCause::TimedOut));
        assert_eq!(broken.count(), 2);
        let left = broken.left();
        assert_eq!(
            (left.count(), left.cause()),
            (1, Some(BrokenCause::TimedOut))
        );
        let next = left.next_generation();
        assert_eq!(
            (next.count(), next.stage(), next.cause(), next.generation()),
            (0, Stage::Filling, None, 1)
        );
    }

    #[test]
    fn a_membership_change_survives_arrivals_and_failures_until_the_next_generation() {
        let s = State::INITIAL.joined().with_membership_pending().joined();
        assert!(s.membership_pending() && s.count() == 2);
        let failed = s.failed(Stage::Broken, BrokenCause::Aborted).left();
        assert!(failed.membership_pending());
        assert_eq!(failed.cause(), Some(BrokenCause::Aborted));
        let next = failed.next_generation();
        assert!(!next.membership_pending());
        assert_eq!(next.generation(), 1);
    }

    #[test]
    fn generation_wraps_without_touching_other_fields() {
        let last = State::from_bits(!(COUNT_MASK | STAGE_MASK | CAUSE_MASK | MEMBERSHIP_MASK));
        let wrapped = last.next_generation();
        assert_eq!(wrapped, State::INITIAL);
    }

    #[test]
    fn generations_widen_from_a_nearby_base() {
        let at = |full: u64| State((full & GEN_FIELD_MASK) << GEN_SHIFT);
        for full in [0, 5, GEN_FIELD_MASK, GEN_FIELD_MASK + 7, 3 << 40] {
            for base in [
                full.saturating_sub(GENERATION_CHECKPOINT * 3),
                full,
                full + GENERATION_CHECKPOINT,
            ] {
                assert_eq!(
                    widen_generation(at(full).generation(), base),
                    full,
                    "{full} from {base}"
                );
            }
        }
        assert!(at(GENERATION_CHECKPOINT * 2).is_generation_checkpoint());
        assert!(!at(GENERATION_CHECKPOINT + 1).is_generation_checkpoint());
    }

    #[test]
    fn debug_decodes_the_word() {
        let s = State::INITIAL
            .joined()
            .failed(Stage::Resetting, BrokenCause::Reset);
        assert_eq!(
            format!("{s:?}"),
            "State { generation: 0, stage: Resetting, cause: Some(Reset), count: 1 }"
        );
    }
}
