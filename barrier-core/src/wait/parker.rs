//! Parking: where waiters sleep when spinning and yielding did not see the barrier move.
//!
//! Waiters sleep on a futex (`futex.rs`, so a parked waiter costs no CPU) whose word is an
//! epoch that every notify with sleepers bumps: a waiter reads the epoch, polls, and sleeps only
//! while the epoch is unchanged, so a notify between its poll and its sleep ends the sleep at
//! once. Waking needs no lock: the woken threads return in parallel and poll.
//!
//! The notifier must not make a system call on every barrier episode, so it only bumps and
//! wakes when `sleepers` is non-zero. That is a store-buffering (Dekker) pattern, closed by a
//! pair of fences that order like two `SeqCst` fences: a heavy one on the waiter's side, which
//! is about to sleep anyway, and a light one on the notifier's, which runs every episode
//! (`fence.rs`):
//!
//! ```text
//! waiter (park)                          notifier (notify_all)
//! sleepers += 1                          state changes (the caller's store or RMW)
//! heavy fence    ---- F1                 light fence   ---- F2
//! read the epoch, poll the state         read sleepers; if > 0: bump the epoch, wake
//! ```
//!
//! Whichever fence comes first, the thread after it sees the other's write: either the waiter's
//! first poll sees the new state and does not sleep, or the notifier sees `sleepers > 0` and
//! bumps the epoch after the state change. In the second case the waiter's sleep, at this poll
//! or a later one (it stays counted in `sleepers` until it leaves), either reads the bumped
//! epoch (and, through it, the new state) or compares its older epoch against the bumped one
//! in the kernel and does not sleep, or sleeps before the bump and is woken by it. No wake-up
//! is lost.

use std::time::Instant;

use super::fence;
use super::futex::Futex;
use super::tally;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// A waiter's deadline passed before its condition held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// The sleeping place of one barrier.
#[derive(Debug, Default)]
pub(crate) struct Parker {
    /// Threads inside [`Parker::park`].
    sleepers: AtomicUsize,
    /// Its word is the epoch: bumped by every notify that finds sleepers.
    epoch: Futex,
    /// When the last notify that found sleepers was made ([`clock::now_ns`]), so that a woken
    /// thread can count how late it runs ([`tally`]).
    woken_at: AtomicU64,
}

impl Parker {
    /// Sleeps until `poll` returns `Some`, or until `deadline`. Returns how many times it slept
    /// with the outcome.
    #[cold]
    pub(crate) fn park<T>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut() -> Option<T>,
    ) -> (Result<T, TimedOut>, u64) {
        let mut sleeps = 0;
        // Relaxed: ordered against the notifier's `sleepers` read by fence F1 below.
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // F1: pairs with F2 in `notify_all` (see the module docs).
        fence::heavy();
        let outcome = loop {
            // Acquire, and before the poll: an epoch bumped after the poll makes the sleep
            // below return at once; one read here carries the state change made before it.
            let epoch = self.epoch.word().load(Ordering::Acquire);
            if let Some(ready) = poll() {
                break Ok(ready);
            }
            let timeout = match deadline {
                None => None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline || cfg!(lockstep_loom) {
                        // Under loom a timed wait times out at once: the model explores the
                        // timeout firing at the earliest moment the thread would block.
                        break Err(TimedOut);
                    }
                    Some(deadline - now)
                }
            };
            self.epoch.wait(epoch, timeout);
            sleeps += 1;
            // Relaxed (both): the epoch is only compared; a wake-up is counted when the epoch
            // moved during the sleep, with the time of the notify that moved it (written
            // before the bump; a later notify's time at worst, which makes the delay shorter).
            if self.epoch.word().load(Ordering::Relaxed) != epoch {
                clock::record_wakeup_since(self.woken_at.load(Ordering::Relaxed));
            }
        };
        // Relaxed: only read to decide whether to notify; a stale non-zero costs one wake call.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        (outcome, sleeps)
    }

    /// Wakes every parked thread so it re-polls. Call after every state change a waiter may be
    /// waiting for.
    #[inline]
    pub(crate) fn notify_all(&self) {
        // F2: pairs with F1 in `park` (see the module docs).
        fence::light();
        // Relaxed: ordered by F2.
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            self.wake_sleepers();
        }
    }

    #[cold]
    fn wake_sleepers(&self) {
        // Relaxed: read by the woken threads after the epoch moved, for their profile only.
        self.woken_at.store(clock::now_ns(), Ordering::Relaxed);
        // Release: a waiter that reads the bumped epoch sees the state change made before
        // this notify.
        self.epoch.word().fetch_add(1, Ordering::Release);
        self.epoch.wake_all();
    }
}

/// Nanoseconds on a process-wide monotonic clock, for wake-up delays measured across threads.
mod clock {
    use std::time::Duration;

    use super::tally;

    /// Nanoseconds since the first call in this process (at least 1, so 0 means "never").
    #[cfg(not(lockstep_loom))]
    pub(super) fn now_ns() -> u64 {
        use std::sync::OnceLock;
        use std::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        u64::try_from(origin.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Under loom, whose models have no clock: never.
    #[cfg(lockstep_loom)]
    pub(super) fn now_ns() -> u64 {
        0
    }

    /// Counts a wake-up whose notify was made at `notified_ns` (0: unknown, not counted).
    pub(super) fn record_wakeup_since(notified_ns: u64) {
        if notified_ns != 0 {
            let latency = now_ns().saturating_sub(notified_ns);
            tally::record_wakeup(Duration::from_nanos(latency));
        }
    }
}
