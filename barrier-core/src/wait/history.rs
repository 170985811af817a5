//! How long this thread's recent waits lasted, and so how long its next wait spins before it
//! parks (under [`WaitPolicy::Adaptive`](super::WaitPolicy::Adaptive), when every thread has a
//! core).
//!
//! A fixed spin budget has a trap. When a team's waits last a little longer than the budget
//! (a slow wake-up, a descheduled vCPU, a straggler), waiters park; a parked thread's wake-up
//! takes tens of microseconds, or milliseconds on a busy virtual machine, so the next
//! generation is late too, and the waiters park again: the team stays in a regime where every
//! episode pays for wake-ups. So a waiter spins for about twice the length of its recent waits
//! (an exponential average), at least the policy's budget and at most [`MAX_SPIN`]: waits
//! that keep ending soon after the budget lengthen it until they end while spinning, and fast
//! waits shrink it back within a few episodes. A team left idle still parks after at most
//! [`MAX_SPIN`]. Two pinned seats whose waits last 150-400 us pay 2-3 us per episode with the
//! history against 7-16 us without it (`BENCHMARKS.md`, "Adaptive spin history").
//!
//! The history is per thread, not per barrier: it is written at the end of every long wait,
//! and a shared word written by every waiter would cost a cache-line transfer per wait.

use std::cell::Cell;
use std::time::Duration;

/// The longest spin stage the history can ask for: a team that goes idle burns at most this
/// much per thread before parking (libgomp spins for a comparable ~0.3 ms by default, LLVM's
/// OpenMP for 200 ms).
pub(crate) const MAX_SPIN: Duration = Duration::from_millis(1);

std::thread_local! {
    /// Exponential average of this thread's recent waits, in nanoseconds.
    static RECENT_WAIT_NS: Cell<u64> = const { Cell::new(0) };
}

/// The spin stage of this thread's next wait, for a policy whose budget is `base`.
pub(crate) fn spin_time(base: Duration) -> Duration {
    spin_for(RECENT_WAIT_NS.with(Cell::get), base)
}

/// Records a wait that lasted `elapsed` (`None`: it ended before its first clock reading, a
/// few dozen polls in).
pub(crate) fn record(elapsed: Option<Duration>) {
    RECENT_WAIT_NS.with(|recent| recent.set(averaged(recent.get(), elapsed)));
}

/// Twice the recent wait, within `[base, MAX_SPIN]`.
fn spin_for(recent_ns: u64, base: Duration) -> Duration {
    let wanted = Duration::from_nanos(recent_ns.saturating_mul(2));
    wanted.clamp(base, MAX_SPIN.max(base))
}

/// The average after a wait of `elapsed`: each wait weighs a quarter, so a change of regime
/// shows within a few waits.
fn averaged(recent_ns: u64, elapsed: Option<Duration>) -> u64 {
    let elapsed_ns = elapsed.map_or(0, |elapsed| {
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    });
    // 3/4 of the old plus 1/4 of the new, without overflow for waits of any length.
    recent_ns / 4 * 3 + elapsed_ns / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_micros(100);

    #[test]
    fn short_waits_keep_the_base_budget() {
        assert_eq!(spin_for(0, BASE), BASE);
        assert_eq!(spin_for(30_000, BASE), BASE);
    }

    #[test]
    fn waits_just_past_the_budget_lengthen_it_until_they_fit() {
        // A team whose waits last 400 us against a 100 us budget: they park every time.
        let mut recent = 0;
        let mut waits = 0;
        while spin_for(recent, BASE) < Duration::from_micros(400) {
            recent = averaged(recent, Some(Duration::from_micros(400)));
            waits += 1;
        }
        assert!(waits <= 4, "took {waits} waits");
    }

    #[test]
    fn fast_waits_shrink_it_back() {
        let mut recent = averaged(0, Some(Duration::from_millis(5)));
        assert_eq!(spin_for(recent, BASE), MAX_SPIN);
        let mut waits = 0;
        while spin_for(recent, BASE) > BASE {
            recent = averaged(recent, None);
            waits += 1;
        }
        assert!(waits <= 12, "took {waits} waits");
    }

    #[test]
    fn idle_spells_spin_at_most_max_spin() {
        let recent = averaged(u64::MAX, Some(Duration::MAX));
        assert_eq!(spin_for(recent, BASE), MAX_SPIN);
        assert_eq!(
            spin_for(0, MAX_SPIN * 2),
            MAX_SPIN * 2,
            "a longer base stays"
        );
    }

    #[test]
    fn the_history_is_per_thread() {
        record(Some(Duration::from_millis(10)));
        assert_eq!(spin_time(BASE), MAX_SPIN);
        std::thread::spawn(|| assert_eq!(spin_time(BASE), BASE))
            .join()
            .unwrap();
    }
}
