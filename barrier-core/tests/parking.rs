//! A parked waiter costs no CPU: waiters left alone at a barrier stop spinning and sleep. And
//! a waiter whose waits keep ending soon after its spin budget stops parking.
//!
//! Its own test binary, so no other test's threads share the process CPU clock it reads.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use barrier_core::{Barrier, BrokenCause, Signal, WaitPolicy};
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

/// Times the calling thread blocked in the kernel (futex waits, sleeps), from
/// `/proc/thread-self/status`; yields do not count.
#[cfg(target_os = "linux")]
fn voluntary_switches() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("voluntary_ctxt_switches:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn waits_that_keep_outlasting_the_spin_budget_stop_parking() {
    const WAITS: u64 = 30;
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: a single core makes every waiter oversubscribed, which parks early");
        return;
    }
    // Each wait lasts ~0.4-0.5 ms, past the 0.1 ms that an Adaptive waiter first spins: the
    // first waits park; once the waiter's history has seen a few, it spins through them.
    let generation = AtomicU64::new(0);
    let signal = Signal::new(WaitPolicy::Adaptive, 2);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut parks_late = 0;
            for k in 1..=WAITS {
                let before = voluntary_switches();
                signal.wait_until(|| (generation.load(Ordering::Acquire) >= k).then_some(()));
                if k > WAITS / 2 {
                    parks_late += voluntary_switches() - before;
                }
            }
            parks_late
        });
        for k in 1..=WAITS {
            thread::sleep(Duration::from_micros(400));
            generation.store(k, Ordering::Release);
            signal.notify();
        }
        let parks_late = waiter.join().unwrap();
        // With a fixed budget every one of the last 15 waits parks (15 or more switches).
        assert!(
            parks_late <= WAITS / 4,
            "the last {} waits blocked {parks_late} times",
            WAITS / 2
        );
    });
}
