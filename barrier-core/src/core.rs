//! The shared core of every barrier: the packed state word and the transitions on it, where
//! waiters sleep, the wait budget, the action, the parties, the widening of the generation
//! number, and the profile's counters. The central algorithm (`central.rs`) and the seated
//! protocol (`seated.rs`, `seat.rs`) are written on it; the core knows neither.

use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::action::Action;
use crate::error::{BrokenBarrierError, BrokenCause};
use crate::profile::{BarrierProfile, Counters};
use crate::state::{widen_generation, Stage, State};
use crate::sync::{spin_loop, AtomicU64, AtomicUsize, Ordering};
use crate::wait::{wait_until, Budget, Parker, TimedOut};

/// What every handle of one barrier shares, whatever its algorithm.
pub(crate) struct Core {
    /// The packed [`State`]. Only ever changed by read-modify-write operations, so every
    /// arrival's release heads a release sequence that the releasing CAS continues.
    state: CachePadded<AtomicU64>,
    /// Where waiters sleep; on its own cache line so arrivals do not bounce it.
    parker: CachePadded<Parker>,
    /// A full generation number near the state's (see `state::widen_generation`), moved
    /// forward every `GENERATION_CHECKPOINT` generations by the thread that starts one.
    generation_base: AtomicU64,
    /// The parties of the filling generation. Changes only while no generation can be joined
    /// (one is full or failed), before the CAS that starts the next one publishes it; see
    /// README.md, "Membership".
    parties: AtomicUsize,
    action: Option<Action>,
    default_timeout: Option<Duration>,
    budget: Budget,
    /// The profile's counters, when the barrier keeps one: one set per seat of a seated
    /// barrier (each written by its seat only), a few for an anonymous barrier (its threads
    /// spread over them).
    counters: Option<Box<[Counters]>>,
}

impl Core {
    pub(crate) fn new(
        parties: usize,
        action: Option<Action>,
        default_timeout: Option<Duration>,
        budget: Budget,
        counters: Option<Box<[Counters]>>,
    ) -> Core {
        Core {
            state: CachePadded::new(AtomicU64::new(State::INITIAL.bits())),
            parker: CachePadded::new(Parker::default()),
            generation_base: AtomicU64::new(0),
            parties: AtomicUsize::new(parties),
            action,
            default_timeout,
            budget,
            counters,
        }
    }

    /// The parties of the filling generation.
    #[inline]
    pub(crate) fn parties(&self) -> usize {
        // Relaxed: read after an Acquire of the state word where it matters (see the central
        // algorithm's `join`).
        self.parties.load(Ordering::Relaxed)
    }

    /// Sets the parties of the next generation, while no generation can be joined; published
    /// by the CAS that starts it.
    pub(crate) fn set_parties(&self, parties: usize) {
        // Relaxed: see above.
        self.parties.store(parties, Ordering::Relaxed);
    }

    /// Whether waiters may park (so state changes must wake them).
    #[inline]
    pub(crate) fn parks(&self) -> bool {
        self.budget.parks
    }

    /// Compares and swaps the state word once (weakly: it may fail spuriously), with the
    /// orderings of every transition; the state found on failure.
    #[inline]
    pub(crate) fn compare_exchange_weak(&self, current: State, next: State) -> Result<(), State> {
        // AcqRel, failure Acquire: see `transition`.
        self.state
            .compare_exchange_weak(
                current.bits(),
                next.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(State::from_bits)
    }

    /// Runs `wait` (one wait, of a thread of counter set `set`: a seat, or `None` for an
    /// anonymous thread), counted in the profile if the barrier keeps one.
    #[inline]
    pub(crate) fn profiled(
        &self,
        set: Option<usize>,
        wait: impl FnOnce() -> Result<usize, BrokenBarrierError>,
    ) -> Result<usize, BrokenBarrierError> {
        match (&self.counters, set) {
            (None, _) => wait(),
            (Some(counters), Some(seat)) => counters[seat].count(self.parties(), wait),
            (Some(counters), None) => {
                Counters::for_this_thread(counters).count(self.parties(), wait)
            }
        }
    }

    /// The profile's counters taken (see `Barrier::profile`).
    pub(crate) fn take_profile(&self) -> BarrierProfile {
        self.counters
            .as_ref()
            .map_or_else(BarrierProfile::default, |counters| {
                counters.iter().map(Counters::take).fold(
                    BarrierProfile {
                        enabled: true,
                        ..BarrierProfile::default()
                    },
                    BarrierProfile::merged,
                )
            })
    }

    /// Leaves failed generation `generation`; the last to leave a reset starts the next
    /// generation, made from the drained state by `start`. Returns the error this waiter
    /// reports.
    pub(crate) fn leave(
        &self,
        generation: u64,
        mut start: impl FnMut(State) -> State,
    ) -> BrokenBarrierError {
        let (before, after) = self
            .transition(|state| {
                debug_assert!(
                    state.is_generation(generation) && state.stage() != Stage::Filling,
                    "leaving generation {generation}, but the barrier is at {state:?}"
                );
                let left = state.left();
                Some(if left.stage() == Stage::Resetting && left.count() == 0 {
                    start(left)
                } else {
                    left
                })
            })
            .expect("leaving always changes the state");
        if after.stage() == Stage::Filling {
            // Arrivals wait for the reset to drain.
            self.started_generation(after);
            self.notify();
        }
        broken(before)
    }

    /// Polls `poll` once, then, if this barrier's waiters own their cores, up to
    /// `Budget::inline_polls` more times in a tight loop: the cheap first stage of a wait, before
    /// [`wait_for_state`](Self::wait_for_state) (which also watches the state word and the
    /// clock, and yields and parks).
    #[inline]
    pub(crate) fn poll_briefly<T>(&self, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
        if let Some(ready) = poll() {
            return Some(ready);
        }
        for _ in 0..self.budget.inline_polls() {
            spin_loop();
            if let Some(ready) = poll() {
                return Some(ready);
            }
        }
        None
    }

    /// Waits (spin, yield, park) until `ready` maps the state to `Some`, or `deadline` passes.
    pub(crate) fn wait_for_state<T>(
        &self,
        deadline: Option<Instant>,
        ready: impl FnMut(State) -> Option<T>,
    ) -> Result<T, TimedOut> {
        self.wait_for_state_on(&self.parker, deadline, ready)
    }

    /// [`wait_for_state`](Self::wait_for_state), parked (if it parks) on `parker`: one that
    /// every change `ready` waits for notifies.
    pub(crate) fn wait_for_state_on<T>(
        &self,
        parker: &Parker,
        deadline: Option<Instant>,
        mut ready: impl FnMut(State) -> Option<T>,
    ) -> Result<T, TimedOut> {
        wait_until(parker, self.budget, deadline, || ready(self.load()))
    }

    /// Where threads wait for the state word or a seated release.
    #[inline]
    pub(crate) fn parker(&self) -> &Parker {
        &self.parker
    }

    /// The full generation number of `state`, the state word of an anonymous barrier.
    #[inline]
    pub(crate) fn full_generation(&self, state: State) -> u64 {
        self.widen(state.generation())
    }

    /// The full generation number of a recent generation field (see `state::widen_generation`).
    #[inline]
    pub(crate) fn widen(&self, field: u64) -> u64 {
        // Relaxed: the base only needs to be within half the field's range of the truth, which
        // any value it held in the last few checkpoints is.
        widen_generation(field, self.generation_base.load(Ordering::Relaxed))
    }

    /// Called with every state word that starts a generation (a release, the end of a reset's
    /// drain, the reset of an empty broken barrier): moves the generation base at checkpoints.
    #[inline]
    pub(crate) fn started_generation(&self, state: State) {
        if state.is_generation_checkpoint() {
            self.move_generation_base(state);
        }
    }

    #[cold]
    fn move_generation_base(&self, state: State) {
        let full = self.full_generation(state);
        // Relaxed, and a maximum, so that a thread delayed here never moves it back.
        self.generation_base.fetch_max(full, Ordering::Relaxed);
    }

    /// Wakes the threads parked on the barrier's parker (not those at dissemination flags,
    /// which the seated protocol wakes itself). Skipped when the policy never parks: then
    /// nobody sleeps, and the fences it would cost are saved.
    #[inline]
    pub(crate) fn notify(&self) {
        if self.budget.parks {
            self.parker.notify_all();
        }
    }

    /// Wakes a seat parked at `parker`, one of its dissemination flags' (see
    /// `SeatTable::flag_parker`): after a signal to it, which no other seat waits for.
    #[inline]
    pub(crate) fn notify_flag(&self, parker: &Parker) {
        if self.budget.parks {
            parker.notify_all();
        }
    }

    #[inline]
    pub(crate) fn default_timeout(&self) -> Option<Duration> {
        self.default_timeout
    }

    /// Acquire: pairs with the AcqRel transitions, so a thread that sees a decision sees what
    /// happened before it.
    #[inline]
    pub(crate) fn load(&self) -> State {
        State::from_bits(self.state.load(Ordering::Acquire))
    }

    /// Replaces `expected` with `step(expected)` if the state is still `expected`, and notifies
    /// the waiters; returns whether it did.
    pub(crate) fn replace(&self, expected: State, step: impl FnOnce(State) -> State) -> bool {
        // AcqRel: as in `transition`.
        let replaced = self
            .state
            .compare_exchange(
                expected.bits(),
                step(expected).bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if replaced {
            self.notify();
        }
        replaced
    }

    /// The action, if the barrier has one.
    pub(crate) fn action(&self) -> Option<&Action> {
        self.action.as_ref()
    }

    /// Applies `step` until a CAS installs its result; `None` from `step` leaves the state
    /// alone. Returns the `(before, after)` pair installed.
    pub(crate) fn transition(
        &self,
        mut step: impl FnMut(State) -> Option<State>,
    ) -> Option<(State, State)> {
        let mut current = self.load();
        loop {
            let next = step(current)?;
            // AcqRel: every decision publishes what its thread saw (Release) and sees what
            // the arrivals published (Acquire); see README.md, "Orderings".
            match self.state.compare_exchange_weak(
                current.bits(),
                next.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((current, next)),
                Err(actual) => current = State::from_bits(actual),
            }
        }
    }

    pub(crate) fn assert_not_in_action(&self, operation: &str) {
        if self.action.as_ref().is_some_and(Action::is_running_here) {
            panic!(
                "Barrier::{operation} called from inside the barrier's own action: the action \
                 runs while every party is inside the barrier, so this could never complete"
            );
        }
    }
}

/// Whether generation `generation` has been decided in `state`: released (the generation
/// moved on) or failed (no longer filling).
pub(crate) fn is_decided(state: State, generation: u64) -> bool {
    !state.is_generation(generation) || state.stage() != Stage::Filling
}

pub(crate) fn cause_of(state: State) -> BrokenCause {
    state
        .cause()
        .unwrap_or_else(|| unreachable!("a failed generation has a cause: {state:?}"))
}

pub(crate) fn broken(state: State) -> BrokenBarrierError {
    BrokenBarrierError::new(cause_of(state))
}
