//! [`Signal`]: the barriers' waiting layer (spin, yield, park; a notify that costs no system
//! call while nobody sleeps) for protocols built beside them, such as phase-pool's hand-off.

use std::fmt;

use super::{prepare_fences, wait_until, Budget, Parker, WaitPolicy};
use crate::topology::usable_core_count;

/// A place where threads wait for a condition on shared memory that other threads make true,
/// spinning, then yielding, then parking, as a [`WaitPolicy`] says: the waiting layer of this
/// crate's barriers, for synchronisation protocols that are not barriers (a leader that
/// publishes work to a team and gathers it back, a flag per worker).
///
/// The protocol is the caller's: a waiter calls [`wait_until`](Signal::wait_until) with a poll
/// that loads the watched memory with `Acquire` (or stronger) ordering; a thread that changes
/// that memory stores with `Release` (or stronger), so that the waiter also sees what it wrote
/// before, and then calls [`notify`](Signal::notify). No wake-up is lost (whatever the store's
/// ordering), and `notify` makes no system call while no waiter has parked (a compiler fence
/// and one load where the kernel offers `membarrier`, see the crate's protocol notes).
///
/// # Examples
///
/// A flag handed from one thread to another:
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use barrier_core::{Signal, WaitPolicy};
///
/// let ready = AtomicBool::new(false);
/// let signal = Signal::new(WaitPolicy::Adaptive, 2);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         ready.store(true, Ordering::Release);
///         signal.notify();
///     });
///     signal.wait_until(|| ready.load(Ordering::Acquire).then_some(()));
/// });
/// ```
pub struct Signal {
    parker: Parker,
    budget: Budget,
}

impl Signal {
    /// A signal for a team of `threads` threads (which, with the process's usable cores,
    /// sets how long a waiter spins before it yields and parks, as at a barrier of `threads`
    /// parties).
    #[must_use]
    pub fn new(policy: WaitPolicy, threads: usize) -> Signal {
        let budget = Budget::new(policy, threads, usable_core_count());
        if budget.parks {
            // As a barrier's builder does: the notify side's fence is cheap only once
            // membarrier is registered.
            prepare_fences();
        }
        Signal {
            parker: Parker::default(),
            budget,
        }
    }

    /// Polls until `poll` returns `Some`, and returns its value: first in a spin loop, then
    /// between yields, then parked until a [`notify`](Signal::notify) (under
    /// [`WaitPolicy::Spin`] it never parks).
    ///
    /// `poll` must load the memory it watches with `Acquire` (or stronger) ordering, so that
    /// what the notifier wrote before its `Release` store is visible after this returns; it may
    /// be called any number of times.
    #[inline]
    pub fn wait_until<T>(&self, mut poll: impl FnMut() -> Option<T>) -> T {
        if let Some(ready) = poll() {
            return ready;
        }
        match wait_until(&self.parker, self.budget, None, poll) {
            Ok(ready) => ready,
            Err(_) => unreachable!("a wait without a deadline cannot time out"),
        }
    }

    /// Wakes every parked waiter so that it polls again. Call after each store a waiter may be
    /// waiting for.
    #[inline]
    pub fn notify(&self) {
        // Waiters that never park need no wake-up (and the fence would be a full `mfence`
        // without membarrier, which only parking policies register).
        if self.budget.parks {
            self.parker.notify_all();
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
