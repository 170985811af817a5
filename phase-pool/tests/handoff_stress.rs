//! The phase hand-off under every wait policy: long runs of phases whose jobs alternate between
//! small ones (moved into the publication line) and large ones (left on the caller's stack),
//! with stragglers that make the leader and the followers park, checked every phase: each
//! worker runs each phase exactly once, with that phase's captures, and the leader returns only
//! after every worker finished.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use common::watchdog;
use phase_pool::{PhasePool, Placement, WaitPolicy};

const POLICIES: [WaitPolicy; 3] = [WaitPolicy::Spin, WaitPolicy::Park, WaitPolicy::Adaptive];

fn pool(threads: usize, policy: WaitPolicy) -> PhasePool {
    PhasePool::builder()
        .threads(threads)
        .placement(Placement::None)
        .wait_policy(policy)
        .build()
        .expect("build the pool")
}

/// Every worker's last phase, and how many phases it ran.
struct Record {
    last: Vec<AtomicU64>,
    runs: Vec<AtomicU64>,
}

impl Record {
    fn new(threads: usize) -> Record {
        Record {
            last: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            runs: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Worker `worker` ran phase `phase`.
    fn ran(&self, worker: usize, phase: u64) {
        // Relaxed: the hand-off orders these stores before the leader's checks.
        self.last[worker].store(phase, Ordering::Relaxed);
        self.runs[worker].fetch_add(1, Ordering::Relaxed);
    }

    fn check(&self, phase: u64) {
        for (worker, (last, runs)) in self.last.iter().zip(&self.runs).enumerate() {
            assert_eq!(last.load(Ordering::Relaxed), phase, "worker {worker}");
            assert_eq!(runs.load(Ordering::Relaxed), phase, "worker {worker}");
        }
    }
}

#[test]
fn every_worker_runs_every_phase_once_with_its_captures() {
    watchdog(|| {
        for policy in POLICIES {
            for threads in [2, 3, 5] {
                let pool = pool(threads, policy);
                let record = Record::new(threads);
                let record = &record;
                for phase in 1..=600u64 {
                    // Every 50th phase one worker straggles, long enough for the others (and
                    // the leader, when the straggler is a follower) to park.
                    let straggler = (phase % 50 == 0).then_some(phase as usize % threads);
                    let nap = move |worker: usize| {
                        if straggler == Some(worker) {
                            thread::sleep(Duration::from_millis(2));
                        }
                    };
                    if phase % 2 == 0 {
                        // Small: moved into the publication line.
                        pool.for_each_index(threads, move |worker| {
                            nap(worker);
                            record.ran(worker, phase);
                        });
                    } else {
                        // Large (captures 256 bytes): stays on this stack.
                        let big = [phase; 32];
                        pool.for_each_index(threads, move |worker| {
                            nap(worker);
                            record.ran(worker, big[worker % 32]);
                        });
                    }
                    record.check(phase);
                }
            }
        }
    });
}
