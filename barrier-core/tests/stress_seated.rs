//! The stress grid for seats: algorithm x parties {2, 3, 4, 7, 16, 33} (non-powers of two,
//! fan-in remainders, oversubscribed on small machines) x wait policy, fault-free and with
//! random aborts, resets and timeouts, invariants checked every generation, each cell bounded by
//! a watchdog.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use barrier_core::{Algorithm, Barrier, Seat, WaitPolicy};
use common::with_watchdog;

const ALGORITHMS: [Algorithm; 3] = [
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 4 },
    Algorithm::Dissemination,
];
const PARTIES: [usize; 6] = [2, 3, 4, 7, 16, 33];
const POLICIES: [WaitPolicy; 3] = [WaitPolicy::Adaptive, WaitPolicy::Spin, WaitPolicy::Park];
const CELL_LIMIT: Duration = Duration::from_secs(120);

/// Generations per fault-free cell: fewer where many threads share the two cores.
fn episodes(parties: usize, policy: WaitPolicy) -> usize {
    let base = if parties > 8 { 4_000 } else { 20_000 };
    if policy == WaitPolicy::Adaptive {
        base
    } else {
        base / 4
    }
}

struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn fault_free(algorithm: Algorithm, parties: usize, episodes: usize, policy: WaitPolicy) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let (_barrier, seats) = Barrier::builder(parties)
        .algorithm(algorithm)
        .wait_policy(policy)
        .action(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build_seated()
        .unwrap();
    let progress: Arc<Vec<AtomicUsize>> =
        Arc::new((0..parties).map(|_| AtomicUsize::new(0)).collect());
    let index_sum = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = seats
        .into_iter()
        .map(|seat| {
            let (runs, progress, index_sum) = (
                Arc::clone(&runs),
                Arc::clone(&progress),
                Arc::clone(&index_sum),
            );
            thread::spawn(move || {
                let mut sum = 0;
                for episode in 1..=episodes {
                    progress[seat.index()].store(episode, Ordering::Relaxed);
                    sum += seat.wait().expect("no faults injected");
                    assert_eq!(
                        runs.load(Ordering::Relaxed),
                        episode,
                        "{algorithm:?}: action once, before release"
                    );
                    assert!(
                        progress
                            .iter()
                            .all(|p| p.load(Ordering::Relaxed) >= episode),
                        "{algorithm:?}: visibility"
                    );
                }
                index_sum.fetch_add(sum, Ordering::Relaxed);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(
        index_sum.load(Ordering::Relaxed),
        episodes * parties * (parties - 1) / 2,
        "indices are permutations"
    );
}

/// Seats wait in a loop (sometimes with tiny timeouts) while a chaos thread aborts and resets;
/// after a failure every seat meets the others, the last one resets, and the generations seen
/// `Ok` since the last check must each have exactly one permutation of indices.
/// Returns how many failed waits the faults caused.
fn with_faults(
    algorithm: Algorithm,
    parties: usize,
    generations: usize,
    policy: WaitPolicy,
    seed: u64,
) -> usize {
    let tags = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tags);
    let (barrier, seats) = Barrier::builder(parties)
        .algorithm(algorithm)
        .wait_policy(policy)
        .action(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build_seated()
        .unwrap();
    let seen: Arc<Mutex<HashMap<usize, Vec<usize>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let chaos_done = Arc::new(AtomicBool::new(false));
    let recovery = Arc::new(std::sync::Barrier::new(parties));
    let failures = Arc::new(AtomicUsize::new(0));
    let check = {
        let seen = Arc::clone(&seen);
        move || {
            for (tag, mut indices) in seen.lock().unwrap().drain() {
                indices.sort_unstable();
                assert_eq!(
                    indices,
                    (0..parties).collect::<Vec<_>>(),
                    "{algorithm:?}: generation {tag}"
                );
            }
        }
    };
    let chaos = {
        let (barrier, chaos_done) = (barrier.clone(), Arc::clone(&chaos_done));
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut rng = Xorshift(seed | 1);
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..rng.below(4000) {
                    std::hint::spin_loop();
                }
                match rng.below(16) {
                    0 => barrier.abort(),
                    1 => barrier.reset(),
                    _ => thread::yield_now(),
                }
            }
            chaos_done.store(true, Ordering::SeqCst);
        })
    };
    let worker = |seat: Seat, mut rng: Xorshift| {
        let (tags, seen, recovery, failures, stop, check, chaos_done, barrier) = (
            Arc::clone(&tags),
            Arc::clone(&seen),
            Arc::clone(&recovery),
            Arc::clone(&failures),
            Arc::clone(&stop),
            check.clone(),
            Arc::clone(&chaos_done),
            barrier.clone(),
        );
        thread::spawn(move || {
            loop {
                let outcome = if rng.below(64) == 0 {
                    seat.wait_timeout(Duration::from_micros(rng.below(100)))
                } else {
                    seat.wait()
                };
                match outcome {
                    Ok(index) => {
                        let tag = tags.load(Ordering::Relaxed);
                        seen.lock().unwrap().entry(tag).or_default().push(index);
                        // Every seat of a released generation reads the same tag (the next
                        // action needs all of them to arrive again), so they stop together.
                        if tag >= generations {
                            stop.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        // Every seat fails its current or next wait; meet, then repair. Abort
                        // first so that no seat stays in a generation a reset restarted.
                        barrier.abort();
                        if recovery.wait().is_leader() {
                            barrier.reset();
                            check();
                        }
                        recovery.wait();
                    }
                }
            }
            // Let the chaos thread finish before seats drop (a drop aborts the barrier).
            while !chaos_done.load(Ordering::SeqCst) {
                thread::yield_now();
            }
            seat
        })
    };
    let handles: Vec<_> = seats
        .into_iter()
        .enumerate()
        .map(|(i, seat)| worker(seat, Xorshift(seed ^ ((i as u64 + 1) << 32) | 1)))
        .collect();
    let seats: Vec<Seat> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    chaos.join().unwrap();
    check();
    drop(seats);
    failures.load(Ordering::Relaxed)
}

#[test]
fn grid_fault_free() {
    for algorithm in ALGORITHMS {
        for policy in POLICIES {
            for parties in PARTIES {
                let episodes = episodes(parties, policy);
                with_watchdog(CELL_LIMIT, move || {
                    fault_free(algorithm, parties, episodes, policy)
                });
            }
        }
    }
}

#[test]
fn grid_with_aborts_resets_and_timeouts() {
    let mut failures = 0;
    for algorithm in ALGORITHMS {
        for policy in POLICIES {
            for parties in PARTIES {
                let generations = episodes(parties, policy) / 4;
                failures += with_watchdog(CELL_LIMIT, move || {
                    with_faults(
                        algorithm,
                        parties,
                        generations,
                        policy,
                        0xC4A05 ^ parties as u64,
                    )
                });
            }
        }
    }
    assert!(failures > 0, "the chaos thread injected no failure at all");
}
