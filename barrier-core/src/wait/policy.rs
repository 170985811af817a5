//! How long a waiter spins and yields before it parks.

use std::env;
use std::time::Duration;

use crate::error::BuildError;

/// How a thread waits for the others at a barrier.
///
/// Set it with [`BarrierBuilder::wait_policy`](crate::BarrierBuilder::wait_policy); without it the
/// environment variable `LOCKSTEP_WAIT` (`spin`, `park` or `adaptive`) decides, and without that,
/// [`WaitPolicy::Adaptive`].
///
/// # Examples
///
/// ```
/// use barrier_core::{Barrier, WaitPolicy};
///
/// // Threads that each own a core and meet every few microseconds: never park.
/// let barrier = Barrier::builder(2).wait_policy(WaitPolicy::Spin).build()?;
/// std::thread::scope(|s| {
///     s.spawn(|| barrier.wait().unwrap());
///     barrier.wait().unwrap();
/// });
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitPolicy {
    /// Spin, yielding to the scheduler after each millisecond of spinning (after every few
    /// spins when parties outnumber cores); never park. The lowest latency when every thread
    /// owns a core; burns a core per waiter while it waits.
    Spin,
    /// Park (futex wait) as soon as the barrier is not ready. The cheapest in CPU, the slowest to
    /// wake.
    Park,
    /// Spin for a bounded time, then park. The time is 100 us, or up to twice the length of the
    /// thread's recent waits (at most 1 ms), so that a team whose waits keep ending soon after
    /// the budget stops paying for wake-ups. It never yields while every party can have a core
    /// (a yield would hand this core to another process for a whole time slice); when the
    /// barrier has more parties than the process has usable cores, it spins a few times, then
    /// yields (to the parties that share this core), then parks.
    #[default]
    Adaptive,
}

/// The environment variable that chooses the wait policy when the builder does not.
pub const WAIT_POLICY_ENV: &str = "LOCKSTEP_WAIT";

impl WaitPolicy {
    /// Reads [`WAIT_POLICY_ENV`]: `Ok(None)` when unset or empty.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidWaitPolicyEnv`] when the variable holds anything other than `spin`,
    /// `park` or `adaptive` (case-insensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::{BuildError, WaitPolicy, WAIT_POLICY_ENV};
    ///
    /// // Environment changes belong before any thread starts.
    /// std::env::set_var(WAIT_POLICY_ENV, " Park ");
    /// assert_eq!(WaitPolicy::from_env()?, Some(WaitPolicy::Park));
    /// std::env::set_var(WAIT_POLICY_ENV, "fast");
    /// assert_eq!(
    ///     WaitPolicy::from_env(),
    ///     Err(BuildError::InvalidWaitPolicyEnv { value: "fast".into() })
    /// );
    /// std::env::remove_var(WAIT_POLICY_ENV);
    /// assert_eq!(WaitPolicy::from_env()?, None);
    /// // With neither builder nor environment choosing, barriers use the default.
    /// assert_eq!(WaitPolicy::from_env()?.unwrap_or_default(), WaitPolicy::Adaptive);
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn from_env() -> Result<Option<WaitPolicy>, BuildError> {
        match env::var(WAIT_POLICY_ENV) {
            Ok(value) => WaitPolicy::parse(&value),
            Err(env::VarError::NotPresent) => Ok(None),
            Err(env::VarError::NotUnicode(raw)) => Err(BuildError::InvalidWaitPolicyEnv {
                value: raw.to_string_lossy().into_owned(),
            }),
        }
    }

    fn parse(value: &str) -> Result<Option<WaitPolicy>, BuildError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "spin" => Ok(Some(WaitPolicy::Spin)),
            "park" => Ok(Some(WaitPolicy::Park)),
            "adaptive" => Ok(Some(WaitPolicy::Adaptive)),
            _ => Err(BuildError::InvalidWaitPolicyEnv {
                value: value.to_owned(),
            }),
        }
    }

    /// The builder's choice, else the environment's, else `Adaptive`.
    pub(crate) fn resolve(chosen: Option<WaitPolicy>) -> Result<WaitPolicy, BuildError> {
        match chosen {
            Some(policy) => Ok(policy),
            None => Ok(WaitPolicy::from_env()?.unwrap_or_default()),
        }
    }
}

/// How long a waiter spins when every party can have a core. Counted in time, not iterations:
/// a `spin_loop` (x86 `pause`) takes from a few ns (older AMD cores) to ~40 ns (recent Intel),
/// and an iteration budget tuned on one let the workers of a fine-grained stencil (phases of
/// 7-14 us) park between phases on the other, paying a futex wake-up per phase. 100 us covers
/// such phases and still parks a thread left alone well within a millisecond (libgomp spins
/// for a comparable ~0.1-0.3 ms by default).
const SPIN_TIME: Duration = Duration::from_micros(100);
/// Under [`WaitPolicy::Spin`] with a core per party: the spin between two yields. The parties
/// run on other cores, so a yield cannot help them; it helps only a party the scheduler placed
/// on this very core, and costs a whole time slice when another process is runnable here.
/// Rare yields bound both.
const SPIN_BURST: Duration = Duration::from_millis(1);
/// `spin_loop` iterations when parties outnumber cores: the thread we wait for may need this
/// very core, so spinning is mostly wasted; a few iterations catch an arrival already in flight.
const OVERSUBSCRIBED_SPIN_LIMIT: u32 = 4;
/// `yield_now` calls when parties outnumber cores: each one lets a not-yet-arrived thread run,
/// which is what completes the generation, while parking would add a futex wake-up per waiter.
/// With 8 threads on 2 cores, 4 spins + 512 yields took ~0.85x hurdles' time per episode
/// against ~1.07x for 16 + 64 (`barrier_compare`). A yield with nothing else runnable is a ~0.3 us syscall, so a lone waiter
/// still parks within ~0.2 ms.
const OVERSUBSCRIBED_YIELD_LIMIT: u32 = 512;

/// The length of a spin stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpinLimit {
    /// This many polls: for short stages, where reading the clock would dominate.
    Iterations(u32),
    /// Polls until this much time has passed.
    Time(Duration),
}

/// How long a waiter polls in each stage before moving to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The spin stage (under [`WaitPolicy::Spin`], each burst between two yields).
    pub(crate) spin: SpinLimit,
    /// Polls separated by `yield_now`, after the spin stage.
    pub(crate) yields: u32,
    /// Whether the waiter parks after its yields (otherwise it repeats both stages forever).
    pub(crate) parks: bool,
}

/// Polls a waiter that owns its core makes in line before the general wait loop (see
/// [`Budget::inline_polls`]).
const INLINE_POLLS: u32 = 64;

impl Budget {
    /// How many times a waiter may poll its flag in a tight loop before entering the general
    /// wait (`wait_until`, which also watches the state word and the clock, and yields and
    /// parks): a partner at a busy barrier usually answers within a few cache-line hand-offs,
    /// and a tight loop notices the answer sooner. Only for a spin stage measured in time (the
    /// thread owns a core); none when the waiter should yield or park soon (oversubscribed,
    /// `Park`, and under loom, which explores the general loop).
    pub(crate) fn inline_polls(self) -> u32 {
        match self.spin {
            SpinLimit::Time(_) => INLINE_POLLS,
            SpinLimit::Iterations(_) => 0,
        }
    }

    /// The budget of `policy` for a barrier of `parties` threads in a process that may use
    /// `cores` cores.
    pub(crate) fn new(policy: WaitPolicy, parties: usize, cores: usize) -> Budget {
        use SpinLimit::{Iterations, Time};
        if cfg!(lockstep_loom) && policy != WaitPolicy::Park {
            // Shrunk so loom explores the park path instead of long spin sequences. (`Park`
            // keeps its own budget: loom runs a yielding thread only after the others made
            // progress, so a yield before parking would hide the lost-wake-up race.)
            return Budget {
                spin: Iterations(1),
                yields: 1,
                parks: policy == WaitPolicy::Adaptive,
            };
        }
        let oversubscribed = parties > cores;
        let (spin, yields, parks) = match policy {
            WaitPolicy::Spin if oversubscribed => (Iterations(OVERSUBSCRIBED_SPIN_LIMIT), 1, false),
            WaitPolicy::Spin => (Time(SPIN_BURST), 1, false),
            WaitPolicy::Park => (Iterations(0), 0, true),
            WaitPolicy::Adaptive if oversubscribed => (
                Iterations(OVERSUBSCRIBED_SPIN_LIMIT),
                OVERSUBSCRIBED_YIELD_LIMIT,
                true,
            ),
            // No yields: the parties run on other cores, so a yield only hands this core to
            // whatever else is runnable on it, for a whole time slice; parking costs the
            // notifier a wake-up, but lets the late party's core be shared fairly.
            WaitPolicy::Adaptive => (Time(SPIN_TIME), 0, true),
        };
        Budget {
            spin,
            yields,
            parks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies_case_insensitively() {
        assert_eq!(WaitPolicy::parse("Spin"), Ok(Some(WaitPolicy::Spin)));
        assert_eq!(WaitPolicy::parse(" park "), Ok(Some(WaitPolicy::Park)));
        assert_eq!(
            WaitPolicy::parse("ADAPTIVE"),
            Ok(Some(WaitPolicy::Adaptive))
        );
        assert_eq!(WaitPolicy::parse(""), Ok(None));
        assert_eq!(
            WaitPolicy::parse("fast"),
            Err(BuildError::InvalidWaitPolicyEnv {
                value: "fast".into()
            })
        );
    }

    #[test]
    fn builder_choice_wins() {
        assert_eq!(
            WaitPolicy::resolve(Some(WaitPolicy::Park)),
            Ok(WaitPolicy::Park)
        );
    }

    #[test]
    #[cfg(not(lockstep_loom))]
    fn oversubscription_shrinks_the_spin_budget() {
        let fits = Budget::new(WaitPolicy::Adaptive, 2, 2);
        let over = Budget::new(WaitPolicy::Adaptive, 16, 2);
        assert_eq!(fits.spin, SpinLimit::Time(SPIN_TIME));
        assert_eq!(fits.yields, 0, "a team that fits its cores never yields");
        assert_eq!(over.yields, OVERSUBSCRIBED_YIELD_LIMIT);
        assert_eq!(
            Budget::new(WaitPolicy::Spin, 2, 2).spin,
            SpinLimit::Time(SPIN_BURST)
        );
        assert_eq!(over.spin, SpinLimit::Iterations(OVERSUBSCRIBED_SPIN_LIMIT));
        assert!(fits.parks && over.parks);
        let spin_over = Budget::new(WaitPolicy::Spin, 16, 2);
        assert_eq!(
            spin_over.spin,
            SpinLimit::Iterations(OVERSUBSCRIBED_SPIN_LIMIT)
        );
        assert!(!spin_over.parks);
        assert_eq!(
            Budget::new(WaitPolicy::Park, 2, 2).spin,
            SpinLimit::Iterations(0)
        );
    }

    #[test]
    fn only_waiters_that_own_a_core_poll_in_line() {
        assert_eq!(
            Budget::new(WaitPolicy::Adaptive, 2, 2).inline_polls(),
            INLINE_POLLS
        );
        assert_eq!(
            Budget::new(WaitPolicy::Spin, 2, 2).inline_polls(),
            INLINE_POLLS
        );
        assert_eq!(Budget::new(WaitPolicy::Adaptive, 16, 2).inline_polls(), 0);
        assert_eq!(Budget::new(WaitPolicy::Spin, 16, 2).inline_polls(), 0);
        assert_eq!(Budget::new(WaitPolicy::Park, 2, 2).inline_polls(), 0);
    }
}
