//! The central algorithm of the anonymous barrier: any thread joins the filling generation
//! with one CAS on the core's state word; the last arriver runs the action and releases the
//! generation; timeouts, aborts and resets decide it once; membership changes wait for its
//! end. The protocol is written down in `README.md` beside this file.
//!
//! [`Central`] is written on the shared core, as the seated protocol is; the handle
//! (`barrier.rs`) owns one per anonymous barrier and makes the `Arrival` of each `arrive`.

use std::ops::ControlFlow;
use std::panic::resume_unwind;
use std::time::{Duration, Instant};

use crate::core::{broken, cause_of, is_decided, Core};
use crate::error::{BrokenBarrierError, BrokenCause, MembershipError};
use crate::state::{Stage, State};
use crate::sync::{Mutex, MutexGuard};
use crate::wait::{deadline_after, TimedOut};

/// The central algorithm's own state beside the core: the membership changes waiting for the
/// end of the open generation.
#[derive(Debug, Default)]
pub(crate) struct Central {
    membership: Mutex<Membership>,
}

/// Changes of the parties waiting for the end of the open generation.
#[derive(Debug, Default)]
struct Membership {
    added: usize,
    dropped: usize,
}

/// A change of the parties, recorded for the end of the open generation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Add(usize),
    Drop,
}

/// How an `arrive` ended: the handle makes its `Arrival` of it.
pub(crate) enum Arrived {
    /// Joined generation `generation` (the state word's field) with index `index`; its outcome
    /// is still to come.
    Waiting { generation: u64, index: usize },
    /// Arrived last in generation `generation`, which is released; its index.
    Released { generation: u64, index: usize },
}

/// How an arrival joined its generation.
enum Joined {
    /// Not last: wait for the generation's outcome.
    Waiting { generation: u64, index: usize },
    /// Last, and the barrier has no action: the joining CAS released the generation.
    Released { generation: u64 },
    /// Last, with an action to run before deciding the generation.
    Complete { generation: u64 },
}

impl Central {
    /// Records `change` for the end of the open generation (see README.md, "Membership");
    /// returns the parties the next generation will have.
    pub(crate) fn record_change(
        &self,
        core: &Core,
        change: Change,
    ) -> Result<usize, MembershipError> {
        // Inside the action its generation is full: the change would wait for it forever.
        core.assert_not_in_action("add_parties");
        loop {
            let current = core.load();
            if self.action_runs(core, current) {
                // Its completer applies the changes recorded so far: wait for the next one.
                self.wait_out_action(core, current);
                continue;
            }
            let mut membership = self.membership();
            let now = core.parties() + membership.added - membership.dropped;
            let future = match change {
                Change::Add(k) => now.checked_add(k).filter(|&p| p <= crate::MAX_PARTIES),
                Change::Drop => Some(now.saturating_sub(1)),
            };
            let Some(future) = future else {
                return Err(MembershipError::TooManyParties {
                    max: crate::MAX_PARTIES,
                });
            };
            if change == Change::Add(0) {
                return Ok(future);
            }
            if self.mark_membership(core, current) {
                match change {
                    Change::Add(k) => membership.added += k,
                    Change::Drop => membership.dropped += 1,
                }
                return Ok(future);
            }
        }
    }

    /// Sets the membership bit on `current` if the state still is `current` (the caller holds
    /// the membership lock and records its change if this succeeds).
    fn mark_membership(&self, core: &Core, current: State) -> bool {
        // The lock orders the recorded change with the completer's reading of it.
        core.compare_exchange_weak(current, current.with_membership_pending())
            .is_ok()
    }

    #[inline]
    pub(crate) fn wait(
        &self,
        core: &Core,
        timeout: Option<Duration>,
    ) -> Result<usize, BrokenBarrierError> {
        match self.join(core)? {
            Joined::Waiting { generation, index } => self
                .await_decision(core, generation, deadline_after(timeout))
                .map(|()| index),
            Joined::Released { .. } => {
                core.notify();
                Ok(core.parties() - 1)
            }
            Joined::Complete { generation } => self.complete(core, generation),
        }
    }

    /// Joins the filling generation with one CAS, first waiting out a running action or reset.
    #[inline(always)]
    fn join(&self, core: &Core) -> Result<Joined, BrokenBarrierError> {
        // Acquire: the parties read below must be those of the generation this state belongs
        // to, published by the CAS that started it (a stale state only makes the CAS fail).
        let mut current = core.load();
        loop {
            let mut parties = core.parties();
            if current.stage() != Stage::Filling || current.count() >= parties {
                current = self.wait_until_joinable(core)?;
                parties = core.parties();
            }
            let index = current.count();
            let last = index + 1 == parties;
            // A pending membership change needs the generation completed, not released in this
            // CAS, so that the change is applied before the next generation starts.
            let releases = last && core.action().is_none() && !current.membership_pending();
            let next = if releases {
                current.next_generation()
            } else {
                current.joined()
            };
            // AcqRel. Release: this arrival's earlier writes travel in the release sequence
            // that the generation's releasing CAS ends, read by every waiter's Acquire poll.
            // Acquire: the last arriver reads that sequence, so it (and its action) sees every
            // earlier arrival's writes.
            // Failure Acquire: as the load above.
            match core.compare_exchange_weak(current, next) {
                Ok(()) if releases => {
                    core.started_generation(next);
                    return Ok(Joined::Released {
                        generation: current.generation(),
                    });
                }
                Ok(()) if last => {
                    return Ok(Joined::Complete {
                        generation: current.generation(),
                    })
                }
                Ok(()) => {
                    return Ok(Joined::Waiting {
                        generation: current.generation(),
                        index,
                    })
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Waits until a generation is filling with room for one more, or fails if the barrier is
    /// broken. Not counted toward the caller's timeout.
    #[cold]
    fn wait_until_joinable(&self, core: &Core) -> Result<State, BrokenBarrierError> {
        core.assert_not_in_action("wait");
        let joinable = core.wait_for_state(None, |state| match state.stage() {
            Stage::Broken => Some(Err(broken(state))),
            Stage::Filling if state.count() < core.parties() => Some(Ok(state)),
            // A reset draining its waiters, or a full generation running its action.
            _ => None,
        });
        joinable.unwrap_or_else(|TimedOut| unreachable!("waited without a deadline"))
    }

    /// Whether generation `generation` (the field), which this thread joined and has not
    /// left, was released: while it is inside, the generation only moves on by a release.
    pub(crate) fn is_released(core: &Core, generation: u64) -> bool {
        !core.load().is_generation(generation)
    }

    /// Waits until generation `generation`, which this thread joined, is released (`Ok`) or
    /// fails (this thread leaves it and gets the error).
    #[cold]
    pub(crate) fn await_decision(
        &self,
        core: &Core,
        generation: u64,
        mut deadline: Option<Instant>,
    ) -> Result<(), BrokenBarrierError> {
        loop {
            let decided = core.wait_for_state(deadline, |state| {
                is_decided(state, generation).then_some(state)
            });
            match decided {
                Ok(state) if !state.is_generation(generation) => return Ok(()),
                Ok(_) => return Err(self.leave(core, generation)),
                Err(TimedOut) => match self.break_on_timeout(core, generation) {
                    Some(true) => return Ok(()),
                    Some(false) => return Err(self.leave(core, generation)),
                    // Everyone has arrived and the action runs: the generation's outcome is
                    // the action's, so wait for it without a deadline (as CPython does).
                    None => deadline = None,
                },
            }
        }
    }

    /// This waiter's deadline passed: break the barrier unless the generation was decided or is
    /// complete. `Some(true)`: released meanwhile; `Some(false)`: failed (this thread's timeout
    /// or another reason), leave it; `None`: complete, the action decides.
    #[cold]
    fn break_on_timeout(&self, core: &Core, generation: u64) -> Option<bool> {
        let parties = core.parties();
        let mut outcome = None;
        let changed = core.transition(|state| {
            if !state.is_generation(generation) {
                outcome = Some(true);
                None
            } else if state.stage() != Stage::Filling {
                outcome = Some(false);
                None
            } else if state.count() == parties {
                outcome = None;
                None
            } else {
                outcome = Some(false);
                Some(state.failed(Stage::Broken, BrokenCause::TimedOut))
            }
        });
        if changed.is_some() {
            core.notify();
        }
        outcome
    }

    /// Leaves failed generation `generation` (see `Core::leave`).
    fn leave(&self, core: &Core, generation: u64) -> BrokenBarrierError {
        core.leave(generation, |drained| self.start_generation(core, drained))
    }

    /// The last arriver runs the action, then releases the generation or, if the action
    /// panicked, breaks it, and resumes the panic. Nothing else can decide a complete
    /// generation: timeouts are refused, abort and reset wait for the action.
    fn complete(&self, core: &Core, generation: u64) -> Result<usize, BrokenBarrierError> {
        let parties = core.parties();
        let outcome = match &core.action() {
            Some(action) => action.run(),
            None => Ok(ControlFlow::Continue(())),
        };
        let (_, after) = core
            .transition(|state| {
                debug_assert!(
                    state.is_generation(generation) && self.action_runs(core, state),
                    "{state:?} was decided during the action of generation {generation}"
                );
                Some(match outcome {
                    Ok(ControlFlow::Continue(())) => self.start_generation(core, state),
                    // Released (the generation moved on) and finished in the same word, so every
                    // waiter that sees its release also sees the end.
                    Ok(ControlFlow::Break(())) => self.start_generation(core, state).finished(),
                    Err(_) => state
                        .failed(Stage::Broken, BrokenCause::ActionPanicked)
                        .with_count(state.count() - 1),
                })
            })
            .expect("deciding a complete generation always changes the state");
        if outcome.is_ok() {
            core.started_generation(after);
        }
        core.notify();
        match outcome {
            Ok(_) => Ok(parties - 1),
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Whether `state` is a complete generation whose action runs (only then is a filling
    /// generation full: without an action the last arrival releases in the same CAS).
    fn action_runs(&self, core: &Core, state: State) -> bool {
        state.stage() == Stage::Filling && state.count() == core.parties()
    }

    /// Waits until the action seen running in `state` has decided its generation: `abort` and
    /// `reset` wait for it, as CPython's do (its action holds the lock they need), so a
    /// complete generation's outcome is always the action's.
    #[cold]
    fn wait_out_action(&self, core: &Core, state: State) {
        let decided = core.wait_for_state(None, |now| (now != state).then_some(()));
        decided.unwrap_or_else(|TimedOut| unreachable!("waited without a deadline"));
    }

    /// The first state of the generation after `state`, which is full or failed (so nobody
    /// can join it): applies the membership changes recorded for its end first. With no
    /// parties left, the barrier is finished instead (`state` itself if it already was).
    fn start_generation(&self, core: &Core, state: State) -> State {
        let parties = if state.membership_pending() {
            self.settle_membership(core)
        } else {
            core.parties()
        };
        if parties > 0 {
            state.next_generation()
        } else if !state.membership_pending()
            && state.stage() == Stage::Broken
            && state.cause() == Some(BrokenCause::Finished)
        {
            state
        } else {
            state.next_generation().finished()
        }
    }

    /// Applies the recorded membership changes to `parties`; the new count. Only while no
    /// generation can be joined (see `start_generation`), so it may run again if the CAS that
    /// follows fails: the changes are taken once.
    #[cold]
    fn settle_membership(&self, core: &Core) -> usize {
        let mut membership = self.membership();
        let parties = core.parties() + membership.added - membership.dropped;
        *membership = Membership::default();
        core.set_parties(parties);
        parties
    }

    fn membership(&self) -> MutexGuard<'_, Membership> {
        self.membership
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One party leaves without arriving (a seat leaving a broken or resetting barrier): from
    /// the generation after the reset on.
    pub(crate) fn drop_party(&self, core: &Core) {
        let recorded = self.record_change(core, Change::Drop);
        debug_assert!(recorded.is_ok(), "a drop never exceeds the limit");
    }

    #[inline]
    pub(crate) fn arrive(&self, core: &Core) -> Result<Arrived, BrokenBarrierError> {
        // The last arriver's outcome is decided here: released (an action's panic resumes).
        let (generation, index) = match self.join(core)? {
            Joined::Waiting { generation, index } => {
                return Ok(Arrived::Waiting { generation, index });
            }
            Joined::Released { generation } => {
                core.notify();
                (generation, core.parties() - 1)
            }
            Joined::Complete { generation } => (generation, self.complete(core, generation)?),
        };
        Ok(Arrived::Released { generation, index })
    }

    pub(crate) fn arrive_and_drop(&self, core: &Core) -> Result<Arrived, BrokenBarrierError> {
        loop {
            let current = core.load();
            let parties = core.parties();
            if current.stage() != Stage::Filling || current.count() >= parties {
                self.wait_until_joinable(core)?;
                continue;
            }
            let index = current.count();
            // Under the lock, so that the completer of this generation, which takes it to
            // apply the changes, sees this one.
            let mut membership = self.membership();
            let joined =
                core.compare_exchange_weak(current, current.joined().with_membership_pending());
            if joined.is_err() {
                continue;
            }
            membership.dropped += 1;
            drop(membership);
            let generation = current.generation();
            if index + 1 == parties {
                let index = self.complete(core, generation)?;
                return Ok(Arrived::Released { generation, index });
            }
            return Ok(Arrived::Waiting { generation, index });
        }
    }

    pub(crate) fn reset(&self, core: &Core) {
        loop {
            let state = core.load();
            let next = match state.stage() {
                Stage::Filling if self.action_runs(core, state) => {
                    self.wait_out_action(core, state);
                    continue;
                }
                Stage::Filling if state.count() == 0 => return,
                Stage::Filling => state.failed(Stage::Resetting, BrokenCause::Reset),
                Stage::Resetting => return,
                // With no parties left it stays finished (until `add_parties`).
                Stage::Broken if state.count() == 0 => match self.start_generation(core, state) {
                    next if next == state => return,
                    next => next,
                },
                Stage::Broken => state.failed(Stage::Resetting, cause_of(state)),
            };
            if core.replace(state, |_| next) {
                core.started_generation(next);
                return;
            }
        }
    }

    pub(crate) fn abort(&self, core: &Core) {
        loop {
            let state = core.load();
            let next = match state.stage() {
                Stage::Broken => return,
                Stage::Filling if self.action_runs(core, state) => {
                    self.wait_out_action(core, state);
                    continue;
                }
                Stage::Filling | Stage::Resetting => {
                    state.failed(Stage::Broken, BrokenCause::Aborted)
                }
            };
            if core.replace(state, |_| next) {
                return;
            }
        }
    }
}
