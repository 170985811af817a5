//! The stress grid: parties x wait policy x fault injection, every episode's invariants checked,
//! each cell bounded by a watchdog so a hang fails the test.
//!
//! Invariants checked:
//! - every released generation is seen `Ok` by exactly `parties` waits, whose indices are a
//!   permutation of `0..parties` (one outcome per generation: a generation some waiters saw fail
//!   would have fewer `Ok`s);
//! - the action ran exactly once per generation, by the waiter with index `parties - 1`, before
//!   anyone returned (each `Ok` reads the action counter to tag its generation);
//! - writes before a wait are visible after it (fault-free cells).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use barrier_core::{Barrier, WaitPolicy};
use common::{indices_by_generation, with_watchdog};

/// A deterministic xorshift generator per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn thread_tag() -> u64 {
    thread_local!(static TAG: u8 = const { 0 });
    TAG.with(|t| t as *const u8 as u64)
}

/// A team of `parties` threads doing `episodes` waits each, without faults; with `split`, every
/// other episode is an `arrive` and then a `wait`.
fn fault_free(parties: usize, episodes: usize, policy: WaitPolicy, split: bool) {
    let generations = Arc::new(AtomicUsize::new(0));
    let runner = Arc::new(AtomicU64::new(0));
    let (counter, recorder) = (Arc::clone(&generations), Arc::clone(&runner));
    let barrier = Barrier::builder(parties)
        .wait_policy(policy)
        .action(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            recorder.store(thread_tag(), Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let progress: Arc<Vec<AtomicUsize>> =
        Arc::new((0..parties).map(|_| AtomicUsize::new(0)).collect());
    let index_sums = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..parties)
        .map(|me| {
            let (barrier, generations, runner, progress, index_sums) = (
                barrier.clone(),
                Arc::clone(&generations),
                Arc::clone(&runner),
                Arc::clone(&progress),
                Arc::clone(&index_sums),
            );
            thread::spawn(move || {
                let mut sum = 0;
                for episode in 1..=episodes {
                    progress[me].store(episode, Ordering::Relaxed);
                    let index = if split && episode % 2 == 1 {
                        barrier.arrive().and_then(|arrival| arrival.wait())
                    } else {
                        barrier.wait()
                    }
                    .expect("no faults injected");
                    // Relaxed loads: the barrier orders them after everyone's stores.
                    assert_eq!(
                        generations.load(Ordering::Relaxed),
                        episode,
                        "action once, before release"
                    );
                    for other in progress.iter() {
                        assert!(
                            other.load(Ordering::Relaxed) >= episode,
                            "a write before the barrier is not visible"
                        );
                    }
                    if index == parties - 1 {
                        assert_eq!(
                            runner.load(Ordering::Relaxed),
                            thread_tag(),
                            "the last arriver runs the action"
                        );
                    }
                    sum += index;
                }
                index_sums.fetch_add(sum, Ordering::Relaxed);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // Each generation's indices are 0..parties: their sum is fixed.
    assert_eq!(
        index_sums.load(Ordering::Relaxed),
        episodes * parties * (parties - 1) / 2
    );
}

/// A rendezvous of a fixed number of threads that gives up when `stop` is set, so that the
/// fault-injection harness can always shut down.
struct Rendezvous {
    size: usize,
    arrived: AtomicUsize,
    round: AtomicUsize,
}

impl Rendezvous {
    /// Waits for everyone; the last arriver runs `leader` first. `false` if `stop` was set.
    fn meet(&self, stop: &AtomicBool, leader: impl FnOnce()) -> bool {
        let round = self.round.load(Ordering::SeqCst);
        if self.arrived.fetch_add(1, Ordering::SeqCst) + 1 == self.size {
            leader();
            self.arrived.store(0, Ordering::SeqCst);
            self.round.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        while self.round.load(Ordering::SeqCst) == round {
            if stop.load(Ordering::SeqCst) {
                return false;
            }
            thread::yield_now();
        }
        true
    }
}

/// What the fault-injection threads share.
struct Faults {
    barrier: Barrier,
    parties: usize,
    /// Incremented by the action: tags each released generation.
    generations: Arc<AtomicUsize>,
    /// generation tag -> indices seen `Ok` for it.
    seen: Mutex<HashMap<usize, Vec<usize>>>,
    ok_waits: AtomicUsize,
    failures: AtomicUsize,
    recovering: AtomicBool,
    stop: AtomicBool,
    rendezvous: Rendezvous,
}

impl Faults {
    fn check_generations(&self) {
        for (generation, mut indices) in self.seen.lock().unwrap().drain() {
            indices.sort_unstable();
            assert_eq!(
                indices,
                (0..self.parties).collect::<Vec<_>>(),
                "generation {generation}: mixed outcomes or bad indices"
            );
        }
    }

    /// After a failure: break the barrier so nobody stays stuck in a generation that cannot
    /// fill, meet every worker and the chaos thread, reset, check, and meet again. `false` once
    /// the run is stopping.
    fn recover(&self) -> bool {
        self.recovering.store(true, Ordering::SeqCst);
        self.barrier.abort();
        let met = self.rendezvous.meet(&self.stop, || {
            assert!(
                self.barrier.is_broken(),
                "recovery found the barrier unbroken"
            );
            self.barrier.reset();
            assert!(!self.barrier.is_broken());
            self.check_generations();
            self.recovering.store(false, Ordering::SeqCst);
        });
        met && self.rendezvous.meet(&self.stop, || {})
    }
}

/// `parties` workers wait in a loop, sometimes with tiny timeouts, while a chaos thread aborts
/// and resets at random moments; after any failure everyone recovers together. The chaos thread
/// stops the run after `episodes` successful waits per worker (in total) and at least one
/// failure.
fn with_faults(parties: usize, episodes: usize, policy: WaitPolicy, seed: u64) {
    let generations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&generations);
    let faults = Arc::new(Faults {
        barrier: Barrier::builder(parties)
            .wait_policy(policy)
            .action(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap(),
        parties,
        generations,
        seen: Mutex::default(),
        ok_waits: AtomicUsize::new(0),
        failures: AtomicUsize::new(0),
        recovering: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        rendezvous: Rendezvous {
            size: parties + 1,
            arrived: AtomicUsize::new(0),
            round: AtomicUsize::new(0),
        },
    });

    let workers: Vec<_> = (0..parties)
        .map(|me| {
            let faults = Arc::clone(&faults);
            thread::spawn(move || {
                let mut rng = Rng(seed ^ (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                while !faults.stop.load(Ordering::SeqCst) {
                    let outcome = if rng.below(64) == 0 {
                        faults
                            .barrier
                            .wait_timeout(Duration::from_micros(rng.below(50)))
                    } else {
                        faults.barrier.wait()
                    };
                    match outcome {
                        Ok(index) => {
                            let generation = faults.generations.load(Ordering::Relaxed);
                            faults
                                .seen
                                .lock()
                                .unwrap()
                                .entry(generation)
                                .or_default()
                                .push(index);
                            faults.ok_waits.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            faults.failures.fetch_add(1, Ordering::Relaxed);
                            if !faults.recover() {
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect();

    let chaos = {
        let faults = Arc::clone(&faults);
        thread::spawn(move || {
            let mut rng = Rng(seed.rotate_left(17) | 1);
            loop {
                // Not before some fault took effect: on a loaded machine the workers may
                // otherwise finish while this thread waits for a core.
                if faults.ok_waits.load(Ordering::SeqCst) >= parties * episodes
                    && faults.failures.load(Ordering::Relaxed) > 0
                {
                    faults.stop.store(true, Ordering::SeqCst);
                    // Wake everyone still inside a wait; later waits fail at once.
                    faults.barrier.abort();
                    return;
                }
                for _ in 0..rng.below(2000) {
                    std::hint::spin_loop();
                }
                if faults.recovering.load(Ordering::SeqCst) {
                    if !faults.recover() {
                        return;
                    }
                    continue;
                }
                match rng.below(8) {
                    0 => faults.barrier.abort(),
                    1 => faults.barrier.reset(),
                    _ => thread::yield_now(),
                }
            }
        })
    };
    for worker in workers {
        worker.join().unwrap();
    }
    chaos.join().unwrap();
    // Generations released after the last recovery: each must still be complete, except the
    // ones the final stop cut short (their waiters saw the stop's abort and recorded nothing).
    faults.check_generations();
    assert!(
        faults.failures.load(Ordering::Relaxed) > 0,
        "the chaos injected no failure"
    );
}

const PARTIES: [usize; 5] = [2, 3, 5, 8, 16];
const POLICIES: [WaitPolicy; 3] = [WaitPolicy::Adaptive, WaitPolicy::Spin, WaitPolicy::Park];
const CELL_LIMIT: Duration = Duration::from_secs(120);

/// Episodes per fault-free cell: 100,000 for the default policy, 10,000 for the others.
fn episodes(policy: WaitPolicy) -> usize {
    match policy {
        WaitPolicy::Adaptive => 100_000,
        _ => 10_000,
    }
}

#[test]
fn grid_fault_free() {
    for policy in POLICIES {
        for parties in PARTIES {
            let episodes = episodes(policy);
            with_watchdog(CELL_LIMIT, move || {
                fault_free(parties, episodes, policy, false)
            });
        }
    }
}

#[test]
fn grid_fault_free_split_phase() {
    for policy in POLICIES {
        for parties in PARTIES {
            let episodes = episodes(policy) / 4;
            with_watchdog(CELL_LIMIT, move || {
                fault_free(parties, episodes, policy, true)
            });
        }
    }
}

/// `threads` threads on a barrier of as many parties; thread `i` leaves (`arrive_and_drop`)
/// at its `every * (i + 1)`-th arrival, so the parties shrink every `every` generations until
/// the barrier finishes. Every arrival is an `arrive` and then a `wait`, with a pause between
/// them at random. Every generation's indices must be `0..` the threads still in it.
fn shrinking(threads: usize, every: usize, policy: WaitPolicy, seed: u64) {
    let barrier = Barrier::builder(threads)
        .wait_policy(policy)
        .build()
        .unwrap();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9));
                let arrivals = every * (i + 1);
                let mut seen = Vec::with_capacity(arrivals);
                for k in 1..=arrivals {
                    let arrival = if k == arrivals {
                        barrier.arrive_and_drop()
                    } else {
                        barrier.arrive()
                    }
                    .expect("no faults injected");
                    let generation = arrival.generation();
                    if rng.below(2) == 0 {
                        std::hint::spin_loop();
                    }
                    seen.push((generation, arrival.wait().expect("no faults injected")));
                }
                seen
            })
        })
        .collect();
    let waits = handles.into_iter().flat_map(|h| h.join().unwrap());
    let by_generation = indices_by_generation(waits, every * threads);
    for (generation, indices) in by_generation.into_iter().enumerate() {
        let present = threads - generation / every;
        assert_eq!(
            indices,
            (0..present).collect::<Vec<_>>(),
            "generation {generation}"
        );
    }
    assert!(barrier.is_finished(), "every party left");
}

#[test]
fn grid_membership_shrinking() {
    for policy in POLICIES {
        for parties in PARTIES {
            let every = if policy == WaitPolicy::Adaptive {
                2_000
            } else {
                200
            };
            with_watchdog(CELL_LIMIT, move || {
                shrinking(parties, every, policy, 0xD20F ^ parties as u64)
            });
        }
    }
}

#[test]
fn grid_with_aborts_resets_and_timeouts() {
    for policy in POLICIES {
        for parties in PARTIES {
            let episodes = episodes(policy) / 4;
            with_watchdog(CELL_LIMIT, move || {
                with_faults(parties, episodes, policy, 0x5EED ^ parties as u64)
            });
        }
    }
}
