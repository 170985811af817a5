//! Waiting: spin, then yield, then park, with an optional deadline. The only module of
//! barrier-core that makes system calls (through `yield_now`, the clock and the parker).

mod fence;
mod futex;
mod history;
mod parker;
mod policy;
mod signal;
mod tally;

use std::time::{Duration, Instant};

pub(crate) use fence::prepare as prepare_fences;
pub(crate) use parker::{Parker, TimedOut};
pub(crate) use policy::{Budget, SpinLimit};
pub use policy::{WaitPolicy, WAIT_POLICY_ENV};
pub use signal::Signal;
pub use tally::{thread_wait_counts, WaitCounts, WaitStage};

use crate::sync::{spin_loop, yield_now};

/// Spin iterations between two readings of the clock (for a deadline or a timed spin stage):
/// reading it costs about as much as a few `spin_loop`s, so this keeps the clock at a few
/// percent of the spin.
const CLOCK_CHECK_INTERVAL: u32 = 32;

/// The deadline `timeout` from now; `None` ("wait forever") when it does not fit in an
/// `Instant`, as with `Duration::MAX`.
#[inline]
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|timeout| Instant::now().checked_add(timeout))
}

fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// Polls until `poll` returns `Some`: first between `spin_loop`s, then between yields, then
/// parked in `parker`, as `budget` says (a budget that never parks repeats its stages). Fails with [`TimedOut`] once `deadline` has passed.
/// A parking budget's spin stage follows this thread's recent waits (`history.rs`).
///
/// `poll` must be cheap and must load the state it watches with (at least) `Acquire` ordering.
#[cold]
pub(crate) fn wait_until<T>(
    parker: &Parker,
    budget: Budget,
    deadline: Option<Instant>,
    poll: impl FnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let adapts = budget.parks && matches!(budget.spin, SpinLimit::Time(_));
    // The first clock reading, a few dozen polls in: the start of a wait long enough to count.
    let mut started = None;
    let outcome = wait_in_stages(parker, budget, deadline, poll, adapts, &mut started);
    if adapts {
        history::record(started.map(|started: Instant| started.elapsed()));
    }
    outcome
}

fn wait_in_stages<T>(
    parker: &Parker,
    budget: Budget,
    deadline: Option<Instant>,
    poll: impl FnMut() -> Option<T>,
    adapts: bool,
    started: &mut Option<Instant>,
) -> Result<T, TimedOut> {
    let mut stages = Stages::default();
    let outcome = run_stages(parker, budget, deadline, poll, adapts, started, &mut stages);
    tally::record_stages(stages.spins, stages.yields, stages.parks);
    outcome
}

/// What one wait did, counted for [`tally`].
#[derive(Default)]
struct Stages {
    spins: u64,
    yields: u64,
    parks: u64,
}

fn run_stages<T>(
    parker: &Parker,
    budget: Budget,
    deadline: Option<Instant>,
    mut poll: impl FnMut() -> Option<T>,
    adapts: bool,
    started: &mut Option<Instant>,
    stages: &mut Stages,
) -> Result<T, TimedOut> {
    loop {
        let (max_spins, spin_time) = match budget.spin {
            SpinLimit::Iterations(spins) => (spins, None),
            SpinLimit::Time(time) if adapts => (u32::MAX, Some(history::spin_time(time))),
            SpinLimit::Time(time) => (u32::MAX, Some(time)),
        };
        // Set at the first clock reading. That comes after `CLOCK_CHECK_INTERVAL` polls, not at
        // the first: most waits at a busy barrier end within a few polls and never pay for it.
        let mut spin_end = None;
        for spin in 0..max_spins {
            if let Some(ready) = poll() {
                stages.spins += u64::from(spin);
                return Ok(ready);
            }
            if spin % CLOCK_CHECK_INTERVAL == CLOCK_CHECK_INTERVAL - 1
                && (deadline.is_some() || spin_time.is_some())
            {
                let now = Instant::now();
                started.get_or_insert(now);
                if deadline.is_some_and(|deadline| now >= deadline) {
                    stages.spins += u64::from(spin);
                    return Err(TimedOut);
                }
                let end =
                    spin_end.get_or_insert_with(|| spin_time.and_then(|t| now.checked_add(t)));
                if end.is_some_and(|end| now >= end) {
                    stages.spins += u64::from(spin);
                    break;
                }
            }
            // No yield in here: with another process runnable on this core, a yield hands it
            // a whole time slice (milliseconds), while the thread we wait for runs elsewhere.
            spin_loop();
        }
        // A timed stage ends by the break (counted there); a counted one runs to its end.
        if spin_time.is_none() {
            stages.spins += u64::from(max_spins);
        }
        for _ in 0..budget.yields {
            if let Some(ready) = poll() {
                return Ok(ready);
            }
            if expired(deadline) {
                return Err(TimedOut);
            }
            yield_now();
            stages.yields += 1;
        }
        if budget.parks {
            let (outcome, sleeps) = parker.park(deadline, poll);
            stages.parks += sleeps;
            return outcome;
        }
    }
}
