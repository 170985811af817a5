//! [`BarrierProfile`]: counts of a barrier's episodes and of how its waits went, kept when the
//! barrier is built with profiling on.

use std::env;
use std::fmt;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

// Plain std atomics, not the loom shim's: the counters order nothing, so the models need not
// explore them.
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{BrokenBarrierError, BuildError};
use crate::sync::current_thread_marker;
use crate::wait::{thread_wait_counts, WaitCounts, WaitStage};

/// The environment variable that switches profiling on (`1`, `true`, `on`, `yes`) or off (`0`,
/// `false`, `off`, `no`, or empty) where a builder does not choose: for barriers
/// ([`BarrierBuilder::profile`](crate::BarrierBuilder::profile)) and phase-pool's pools.
pub const PROFILE_ENV: &str = "LOCKSTEP_PROFILE";

/// Reads [`PROFILE_ENV`]: `Ok(None)` when unset or empty.
///
/// # Errors
///
/// [`BuildError::InvalidProfileEnv`] for a value that is not one of those listed on
/// [`PROFILE_ENV`] (case-insensitive).
pub fn profile_from_env() -> Result<Option<bool>, BuildError> {
    match env::var(PROFILE_ENV) {
        Ok(value) => parse(&value),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(raw)) => Err(BuildError::InvalidProfileEnv {
            value: raw.to_string_lossy().into_owned(),
        }),
    }
}

fn parse(value: &str) -> Result<Option<bool>, BuildError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "true" | "on" | "yes" => Ok(Some(true)),
        "0" | "false" | "off" | "no" => Ok(Some(false)),
        _ => Err(BuildError::InvalidProfileEnv {
            value: value.to_owned(),
        }),
    }
}

/// The builder's choice, else the environment's, else off.
pub(crate) fn resolve(chosen: Option<bool>) -> Result<bool, BuildError> {
    match chosen {
        Some(on) => Ok(on),
        None => Ok(profile_from_env()?.unwrap_or(false)),
    }
}

/// What a barrier's waits did since the last [`Barrier::profile`](crate::Barrier::profile):
/// how many generations were released, how many waits spun, yielded or slept, and how late
/// the sleepers woke. A team whose waits keep parking is paying for wake-ups (its threads do
/// not own their cores, or the spin budget is shorter than its imbalance); a spinning team is
/// not.
///
/// Kept only for a barrier built with [`profile(true)`](crate::BarrierBuilder::profile) (or
/// with [`PROFILE_ENV`] on); otherwise [`enabled`](Self::enabled) is false and every count is
/// zero. Counting costs two clock readings and a few atomic additions per wait, on the seat's
/// own cache line for a seated barrier (an anonymous barrier's threads spread over a few
/// lines): about 100 ns per episode of two pinned threads (`BENCHMARKS.md`).
///
/// # Examples
///
/// ```
/// use barrier_core::{Barrier, WaitPolicy};
///
/// let barrier = Barrier::builder(2).wait_policy(WaitPolicy::Park).profile(true).build()?;
/// std::thread::scope(|s| {
///     s.spawn(|| for _ in 0..100 { barrier.wait().unwrap(); });
///     for _ in 0..100 { barrier.wait().unwrap(); }
/// });
/// let profile = barrier.profile();
/// assert_eq!(profile.episodes, 100);
/// assert_eq!(profile.waits, 200);
/// assert_eq!(profile.spun + profile.yielded + profile.parked, 200);
/// println!("{profile}");
/// assert_eq!(barrier.profile().waits, 0, "taking the profile resets it");
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BarrierProfile {
    /// Whether the barrier keeps a profile.
    pub enabled: bool,
    /// Generations released (counted by their last arriver).
    pub episodes: u64,
    /// Calls of `wait` (and `wait_timeout`) that returned, `Ok` or not.
    pub waits: u64,
    /// Waits that failed ([`BrokenBarrierError`]).
    pub failed: u64,
    /// Waits that spun at most (including those that found the generation complete).
    pub spun: u64,
    /// Waits that yielded the core, without sleeping.
    pub yielded: u64,
    /// Waits that slept at least once.
    pub parked: u64,
    /// The waits' counts together: spins, yields, sleeps, wake-ups and their delay.
    pub counts: WaitCounts,
    /// Time spent inside the waits, all threads together.
    pub wait_time: Duration,
}

impl BarrierProfile {
    /// The mean time a wait took (zero without waits).
    #[must_use]
    pub fn mean_wait(&self) -> Duration {
        if self.waits == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.wait_time.as_secs_f64() / self.waits as f64)
    }
}

impl BarrierProfile {
    /// The counts of `self` and `other` together.
    pub(crate) fn merged(mut self, other: BarrierProfile) -> BarrierProfile {
        self.enabled |= other.enabled;
        self.episodes += other.episodes;
        self.waits += other.waits;
        self.failed += other.failed;
        self.spun += other.spun;
        self.yielded += other.yielded;
        self.parked += other.parked;
        self.counts.add(&other.counts);
        self.wait_time += other.wait_time;
        self
    }
}

impl fmt::Display for BarrierProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return write!(
                f,
                "barrier profile: off (build with .profile(true) or {PROFILE_ENV}=1)"
            );
        }
        let share = |n: u64| {
            if self.waits == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.waits as f64
            }
        };
        write!(
            f,
            "barrier profile: {} episodes, {} waits ({} failed), mean wait {:.2?}; \
             spun {:.0}%, yielded {:.0}%, parked {:.0}%; {} spins, {} yields, {} sleeps; \
             {} wake-ups, {:.2?} late on average, {:.2?} at most",
            self.episodes,
            self.waits,
            self.failed,
            self.mean_wait(),
            share(self.spun),
            share(self.yielded),
            share(self.parked),
            self.counts.spins,
            self.counts.yields,
            self.counts.parks,
            self.counts.wakeups,
            self.counts.mean_wake_latency(),
            self.counts.max_wake_latency,
        )
    }
}

/// Sets of counters of a profiled anonymous barrier: its threads spread over them by the
/// address of a thread-local, so that a few threads rarely share a set's line.
pub(crate) const ANONYMOUS_SETS: usize = 16;

/// The counters of a profiled barrier (or of one seat), on their own cache line.
#[derive(Default)]
pub(crate) struct Counters(CachePadded<[AtomicU64; COUNTERS]>);

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Counters")
    }
}

const EPISODES: usize = 0;
const WAITS: usize = 1;
const FAILED: usize = 2;
const SPUN: usize = 3;
const YIELDED: usize = 4;
const PARKED: usize = 5;
const SPINS: usize = 6;
const YIELDS: usize = 7;
const PARKS: usize = 8;
const WAKEUPS: usize = 9;
const WAKE_NS: usize = 10;
const MAX_WAKE_NS: usize = 11;
const WAIT_NS: usize = 12;
const COUNTERS: usize = 13;

impl Counters {
    /// The set of `sets` the calling thread counts in.
    pub(crate) fn for_this_thread(sets: &[Counters]) -> &Counters {
        // The marker is a thread-local's address; threads' addresses often differ only in high
        // bits (stacks a power of two apart), so hash (Fibonacci hashing) before reducing.
        let hash = (current_thread_marker() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        &sets[(hash >> 32) as usize % sets.len()]
    }

    /// Runs `wait` (one wait of a barrier with `parties` parties by this thread) and counts it.
    #[inline(never)]
    pub(crate) fn count(
        &self,
        parties: usize,
        wait: impl FnOnce() -> Result<usize, BrokenBarrierError>,
    ) -> Result<usize, BrokenBarrierError> {
        let before = thread_wait_counts();
        let started = Instant::now();
        let outcome = wait();
        let elapsed = started.elapsed();
        let waited = thread_wait_counts().since(before);
        let stage = match waited.stage() {
            WaitStage::Spin => SPUN,
            WaitStage::Yield => YIELDED,
            WaitStage::Park => PARKED,
        };
        let counters = &self.0;
        // Relaxed (all): counts, read by `take` with no ordering to other memory.
        let add = |counter: usize, n: u64| {
            if n > 0 {
                counters[counter].fetch_add(n, Ordering::Relaxed);
            }
        };
        add(WAITS, 1);
        add(stage, 1);
        add(EPISODES, u64::from(outcome == Ok(parties - 1)));
        add(FAILED, u64::from(outcome.is_err()));
        add(SPINS, waited.spins);
        add(YIELDS, waited.yields);
        add(PARKS, waited.parks);
        add(WAKEUPS, waited.wakeups);
        add(WAKE_NS, nanos(waited.wake_latency));
        add(WAIT_NS, nanos(elapsed));
        if waited.wakeups > 0 {
            counters[MAX_WAKE_NS].fetch_max(nanos(waited.max_wake_latency), Ordering::Relaxed);
        }
        outcome
    }

    /// The counts so far, and zeros in their place.
    pub(crate) fn take(&self) -> BarrierProfile {
        // Relaxed: see `count`. Waits in flight may land on either side of the reset.
        let take = |counter: usize| self.0[counter].swap(0, Ordering::Relaxed);
        BarrierProfile {
            enabled: true,
            episodes: take(EPISODES),
            waits: take(WAITS),
            failed: take(FAILED),
            spun: take(SPUN),
            yielded: take(YIELDED),
            parked: take(PARKED),
            counts: WaitCounts {
                spins: take(SPINS),
                yields: take(YIELDS),
                parks: take(PARKS),
                wakeups: take(WAKEUPS),
                wake_latency: Duration::from_nanos(take(WAKE_NS)),
                max_wake_latency: Duration::from_nanos(take(MAX_WAKE_NS)),
            },
            wait_time: Duration::from_nanos(take(WAIT_NS)),
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_switches_case_insensitively() {
        for on in ["1", "true", " ON ", "Yes"] {
            assert_eq!(parse(on), Ok(Some(true)), "{on:?}");
        }
        for off in ["0", "false", "Off", "no"] {
            assert_eq!(parse(off), Ok(Some(false)), "{off:?}");
        }
        assert_eq!(parse(" "), Ok(None));
        assert_eq!(
            parse("sometimes"),
            Err(BuildError::InvalidProfileEnv {
                value: "sometimes".into()
            })
        );
        assert_eq!(resolve(Some(true)), Ok(true));
    }
}
