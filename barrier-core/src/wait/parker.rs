//! Parking: where waiters sleep when spinning and yielding did not see the barrier move.
//!
//! A mutex and condition variable (on Linux, std implements both on futexes, so a parked waiter
//! sleeps in `futex_wait` and costs no CPU). Unlike a bare futex wrapper they give timed waits
//! everywhere and have a loom model, so the code loom checks is the code that ships.
//!
//! The notifier must not take the mutex on every barrier episode, so it only does when
//! `sleepers` is non-zero. That is a store-buffering (Dekker) pattern, closed by a pair of
//! fences that order like two `SeqCst` fences: a heavy one on the waiter's side, which is about
//! to sleep anyway, and a light one on the notifier's, which runs every episode (`fence.rs`):
//!
//! ```text
//! waiter (park)                          notifier (notify_all)
//! sleepers += 1                          state changes (the caller's store or RMW)
//! heavy fence    ---- F1                 light fence   ---- F2
//! poll the state                         read sleepers
//! ```
//!
//! Whichever fence comes first, the thread after it sees the other's write: either the waiter's poll sees the new state and does not
//! sleep, or the notifier sees `sleepers > 0` and takes the mutex, which it can only get once the
//! waiter sleeps in the condvar (or before the waiter locks, after which the waiter's poll, made
//! under the mutex, sees the change). No wake-up is lost.

use std::sync::PoisonError;
use std::time::Instant;

use super::fence;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};

/// A waiter's deadline passed before its condition held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// The sleeping place of one barrier.
#[derive(Debug, Default)]
pub(crate) struct Parker {
    /// Threads inside [`Parker::park`].
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    /// Sleeps until `poll` returns `Some`, or until `deadline`.
    #[cold]
    pub(crate) fn park<T>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut() -> Option<T>,
    ) -> Result<T, TimedOut> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Relaxed: ordered against the notifier's `sleepers` read by fence F1 below.
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // F1: pairs with F2 in `notify_all` (see the module docs).
        fence::heavy();
        let outcome = loop {
            if let Some(ready) = poll() {
                break Ok(ready);
            }
            guard = match deadline {
                None => self
                    .condvar
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline || cfg!(lockstep_loom) {
                        // Under loom a timed wait times out at once: the model explores the
                        // timeout firing at the earliest moment the thread would block.
                        break Err(TimedOut);
                    }
                    self.condvar
                        .wait_timeout(guard, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        };
        // Relaxed: only read to decide whether to notify; a stale non-zero costs one mutex trip.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        outcome
    }

    /// Wakes every parked thread so it re-polls. Call after every state change a waiter may be
    /// waiting for.
    #[inline]
    pub(crate) fn notify_all(&self) {
        // F2: pairs with F1 in `park` (see the module docs).
        fence::light();
        // Relaxed: ordered by F2.
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            // Taking the mutex waits out a waiter between its poll and its condvar wait.
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.condvar.notify_all();
        }
    }
}
