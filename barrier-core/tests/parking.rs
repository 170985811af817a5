//! A parked waiter costs no CPU: waiters left alone at a barrier stop spinning and sleep.
//!
//! Its own test binary, so no other test's threads share the process CPU clock it reads.

mod common;

use std::thread;
use std::time::Duration;

use barrier_core::{Barrier, BrokenCause};
use common::{eventually, HANG};

/// User + system CPU time of the whole process, from `/proc/self/stat` (in clock ticks).
#[cfg(target_os = "linux")]
fn process_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn idle_waiters_park_and_use_almost_no_cpu() {
    const WAITERS: usize = 15;
    // Clock ticks per second: 100 on every Linux configuration Rust supports (USER_HZ).
    const TICKS_PER_SECOND: u64 = 100;
    let barrier = Barrier::new(WAITERS + 1);
    thread::scope(|s| {
        let waiters: Vec<_> = (0..WAITERS).map(|_| s.spawn(|| barrier.wait())).collect();
        eventually(HANG, "every waiter arrived", || {
            barrier.n_waiting() == WAITERS
        });
        // Let them get past spinning and yielding.
        thread::sleep(Duration::from_millis(200));
        let before = process_cpu_ticks();
        thread::sleep(Duration::from_secs(1));
        let used = process_cpu_ticks() - before;
        barrier.abort();
        for waiter in waiters {
            assert_eq!(
                waiter.join().unwrap().unwrap_err().cause(),
                BrokenCause::Aborted
            );
        }
        // 15 spinning threads would use 2 cores (200 ticks) here; parked ones use ~0.
        assert!(
            used * 20 <= TICKS_PER_SECOND,
            "{WAITERS} idle waiters used {used} ticks of CPU in one second (limit 5% of a core)"
        );
    });
}
