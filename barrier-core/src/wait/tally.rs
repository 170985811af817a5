//! [`WaitCounts`]: what the calling thread's waits have done so far (spins, yields, sleeps and
//! how late its wake-ups came), for profiles.
//!
//! Every wait that does not end at its first polls passes through the general wait loop
//! (`wait_until`), which adds what it did to the thread's totals. The totals are per thread so
//! that counting needs no shared write (a counter shared by the waiters of one barrier would
//! cost a cache-line transfer per wait); a profile takes the difference of two readings around
//! the waits it attributes ([`WaitCounts::since`]). Counting costs a few additions at the end of
//! a wait that already spun, and a clock reading only on the notifier's side of a wake-up that
//! finds sleepers and on the sleeper's side after it wakes (both next to a system call).

use std::cell::Cell;
use std::time::Duration;

/// How a thread's waits went: the counts of the waiting stages (spin, yield, park) and the
/// delay of its wake-ups.
///
/// [`thread_wait_counts`] reads the calling thread's totals since it started; the difference of
/// two readings ([`since`](WaitCounts::since)) is what the waits between them did.
/// [`Barrier::profile`](crate::Barrier::profile) and phase-pool's profiles are built from these
/// counts.
///
/// Counted are the waits that reached the general wait loop: a wait that finds its condition
/// true within its first few polls (a partner at a busy barrier usually answers that fast)
/// counts nothing, and so looks like a wait that spun.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use barrier_core::{thread_wait_counts, Barrier, WaitPolicy, WaitStage};
///
/// let barrier = Barrier::builder(2).wait_policy(WaitPolicy::Park).build()?;
/// let before = thread_wait_counts();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         std::thread::sleep(Duration::from_millis(20));
///         barrier.wait().unwrap();
///     });
///     barrier.wait().unwrap();
/// });
/// let waited = thread_wait_counts().since(before);
/// // Arriving first, this thread slept until the other came (under `Park`, at once).
/// println!("{:?}: {} sleeps, woken {:?} after the call", waited.stage(), waited.parks,
///          waited.mean_wake_latency());
/// # let _: WaitStage = waited.stage();
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WaitCounts {
    /// Polls separated by `spin_loop` hints.
    pub spins: u64,
    /// `yield_now` calls.
    pub yields: u64,
    /// Times the thread went to sleep (a futex wait, or a condition variable off Linux).
    pub parks: u64,
    /// Sleeps that ended with a wake-up by another thread (not by a deadline or spuriously).
    pub wakeups: u64,
    /// Over those wake-ups: the time from the waking thread's call to this thread running
    /// again (the scheduler's delay, which grows when the core is busy with other work).
    pub wake_latency: Duration,
    /// The longest of those delays.
    pub max_wake_latency: Duration,
}

/// The furthest stage a wait (or a set of waits) reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WaitStage {
    /// Polled in a spin loop only (or found the condition true at once).
    Spin,
    /// Yielded the core at least once, never slept.
    Yield,
    /// Slept at least once.
    Park,
}

impl WaitCounts {
    /// What the waits between `earlier` (a reading of the same thread) and `self` did.
    /// [`max_wake_latency`](Self::max_wake_latency) is the later reading's when a wake-up
    /// happened in between (the longest of all the thread's wake-ups so far, not necessarily one
    /// of those), else zero.
    #[must_use]
    pub fn since(self, earlier: WaitCounts) -> WaitCounts {
        let wakeups = self.wakeups.saturating_sub(earlier.wakeups);
        WaitCounts {
            spins: self.spins.saturating_sub(earlier.spins),
            yields: self.yields.saturating_sub(earlier.yields),
            parks: self.parks.saturating_sub(earlier.parks),
            wakeups,
            wake_latency: self.wake_latency.saturating_sub(earlier.wake_latency),
            max_wake_latency: if wakeups > 0 {
                self.max_wake_latency
            } else {
                Duration::ZERO
            },
        }
    }

    /// The furthest stage these waits reached.
    #[must_use]
    pub fn stage(&self) -> WaitStage {
        if self.parks > 0 {
            WaitStage::Park
        } else if self.yields > 0 {
            WaitStage::Yield
        } else {
            WaitStage::Spin
        }
    }

    /// The mean delay of a wake-up (zero without wake-ups).
    #[must_use]
    pub fn mean_wake_latency(&self) -> Duration {
        match u32::try_from(self.wakeups) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.wake_latency / n,
            Err(_) => {
                Duration::from_secs_f64(self.wake_latency.as_secs_f64() / self.wakeups as f64)
            }
        }
    }

    /// Adds `other`'s counts to these (the longest wake-up of both).
    pub fn add(&mut self, other: &WaitCounts) {
        self.spins += other.spins;
        self.yields += other.yields;
        self.parks += other.parks;
        self.wakeups += other.wakeups;
        self.wake_latency += other.wake_latency;
        self.max_wake_latency = self.max_wake_latency.max(other.max_wake_latency);
    }
}

/// The calling thread's [`WaitCounts`] since it started: every wait on a barrier of this crate
/// or a [`Signal`](crate::Signal) that reached the general wait loop.
#[must_use]
pub fn thread_wait_counts() -> WaitCounts {
    TOTALS.with(Cell::get)
}

std::thread_local! {
    static TOTALS: Cell<WaitCounts> = const {
        Cell::new(WaitCounts {
            spins: 0,
            yields: 0,
            parks: 0,
            wakeups: 0,
            wake_latency: Duration::ZERO,
            max_wake_latency: Duration::ZERO,
        })
    };
}

/// Adds one wait's stages to the calling thread's totals.
pub(crate) fn record_stages(spins: u64, yields: u64, parks: u64) {
    if spins | yields | parks == 0 {
        return;
    }
    TOTALS.with(|totals| {
        let mut now = totals.get();
        now.spins += spins;
        now.yields += yields;
        now.parks += parks;
        totals.set(now);
    });
}

/// Adds a wake-up that came `latency` after the waking call to the calling thread's totals.
pub(crate) fn record_wakeup(latency: Duration) {
    TOTALS.with(|totals| {
        let mut now = totals.get();
        now.wakeups += 1;
        now.wake_latency += latency;
        now.max_wake_latency = now.max_wake_latency.max(latency);
        totals.set(now);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_and_stages() {
        let earlier = WaitCounts {
            spins: 10,
            parks: 1,
            wakeups: 1,
            wake_latency: Duration::from_micros(5),
            max_wake_latency: Duration::from_micros(5),
            ..WaitCounts::default()
        };
        let mut later = earlier;
        later.spins += 7;
        assert_eq!(later.since(earlier).stage(), WaitStage::Spin);
        assert_eq!(later.since(earlier).spins, 7);
        assert_eq!(later.since(earlier).max_wake_latency, Duration::ZERO);
        later.yields += 1;
        assert_eq!(later.since(earlier).stage(), WaitStage::Yield);
        later.parks += 2;
        later.wakeups += 2;
        later.wake_latency += Duration::from_micros(30);
        let waited = later.since(earlier);
        assert_eq!(waited.stage(), WaitStage::Park);
        assert_eq!(waited.mean_wake_latency(), Duration::from_micros(15));
        assert_eq!(WaitCounts::default().mean_wake_latency(), Duration::ZERO);
    }

    #[test]
    fn recording_adds_to_this_thread_only() {
        let before = thread_wait_counts();
        record_stages(3, 2, 1);
        record_wakeup(Duration::from_micros(40));
        let waited = thread_wait_counts().since(before);
        assert_eq!((waited.spins, waited.yields, waited.parks), (3, 2, 1));
        assert_eq!(waited.wakeups, 1);
        assert_eq!(waited.max_wake_latency, Duration::from_micros(40));
        let other = std::thread::spawn(thread_wait_counts).join().unwrap();
        assert_eq!(other.spins, 0, "another thread's totals are its own");
    }
}
