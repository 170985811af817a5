//! An idle pool costs no CPU: between phases its workers stop spinning and sleep, and a phase
//! after a long pause still runs on every worker.
//!
//! Its own test binary, so no other test's threads share the process CPU clock it reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use phase_pool::{PhasePool, WaitPolicy};

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
fn idle_workers_park_and_wake_for_the_next_phase() {
    const WORKERS: usize = 16;
    // Clock ticks per second: 100 on every Linux configuration Rust supports (USER_HZ).
    const TICKS_PER_SECOND: u64 = 100;
    let pool = PhasePool::builder()
        .threads(WORKERS)
        .wait_policy(WaitPolicy::Adaptive)
        .build()
        .unwrap();
    let ran = AtomicUsize::new(0);
    pool.for_each_index(WORKERS, |_| {
        ran.fetch_add(1, Ordering::Relaxed);
    });
    // Let the followers get past spinning and yielding.
    thread::sleep(Duration::from_millis(200));
    let before = process_cpu_ticks();
    thread::sleep(Duration::from_secs(1));
    let used = process_cpu_ticks() - before;
    // 15 spinning workers would use both cores (200 ticks) here; parked ones use ~0.
    assert!(
        used * 20 <= TICKS_PER_SECOND,
        "{} idle workers used {used} ticks of CPU in one second (limit 5% of a core)",
        WORKERS - 1
    );
    // Parked workers wake for the next phase, and the leader's gather waits for all of them.
    let workers = pool.run(|ctx| ctx.index());
    assert_eq!(workers, (0..WORKERS).collect::<Vec<_>>());
    pool.for_each_index(WORKERS, |_| {
        ran.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(ran.load(Ordering::Relaxed), 2 * WORKERS);
}
