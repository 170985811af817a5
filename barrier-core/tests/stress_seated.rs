//! The stress grid for seats: algorithm x parties {2, 3, 4, 7, 16, 33} (non-powers of two,
//! fan-in remainders, oversubscribed on small machines) x wait policy x with and without an
//! action (without one, dissemination seats leave after their rounds, with no completer), fault
//! -free and with random aborts, resets and timeouts, invariants checked every generation, each
//! cell bounded by a watchdog; and tree seats that leave one by one.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use barrier_core::{Algorithm, Barrier, BarrierBuilder, Seat, WaitPolicy};
use common::{assert_indices_with_leavers, indices_by_generation, with_watchdog};

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

/// An action that counts its runs, or none.
fn counting_action(
    builder: BarrierBuilder,
    with_action: bool,
) -> (BarrierBuilder, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let builder = if with_action {
        builder.action(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        })
    } else {
        builder
    };
    (builder, runs)
}

fn fault_free(
    algorithm: Algorithm,
    parties: usize,
    episodes: usize,
    policy: WaitPolicy,
    with_action: bool,
) {
    let (builder, runs) = counting_action(
        Barrier::builder(parties)
            .algorithm(algorithm)
            .wait_policy(policy),
        with_action,
    );
    let (_barrier, seats) = builder.build_seated().unwrap();
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
                    if with_action {
                        assert_eq!(
                            runs.load(Ordering::Relaxed),
                            episode,
                            "{algorithm:?}: action once, before release"
                        );
                    }
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
/// after a failure every seat meets the others, the last one resets and checks the *window*
/// since the last check: every seat saw the same number of released generations (each one is
/// released for every seat or for none), the indices of each are a permutation, and the action
/// ran once per released generation. Returns how many failed waits the faults caused.
fn with_faults(
    algorithm: Algorithm,
    parties: usize,
    generations: usize,
    policy: WaitPolicy,
    with_action: bool,
    seed: u64,
) -> usize {
    let (builder, runs) = counting_action(
        Barrier::builder(parties)
            .algorithm(algorithm)
            .wait_policy(policy),
        with_action,
    );
    let (barrier, seats) = builder.build_seated().unwrap();
    // Per seat, the indices its released waits returned in the current window.
    let windows: Arc<Mutex<Vec<Vec<usize>>>> = Arc::new(Mutex::new(vec![Vec::new(); parties]));
    let stop = Arc::new(AtomicBool::new(false));
    let chaos_done = Arc::new(AtomicBool::new(false));
    let recovery = Arc::new(std::sync::Barrier::new(parties));
    let failures = Arc::new(AtomicUsize::new(0));
    let check = {
        let (windows, runs) = (Arc::clone(&windows), Arc::clone(&runs));
        let checked_runs = Arc::new(AtomicUsize::new(0));
        move || {
            let mut windows = windows.lock().unwrap();
            let released = windows[0].len();
            for (seat, window) in windows.iter().enumerate() {
                assert_eq!(
                    window.len(),
                    released,
                    "{algorithm:?}: seat {seat} saw another number of released generations: \
                     {windows:?}"
                );
            }
            for generation in 0..released {
                let mut indices: Vec<usize> = windows.iter().map(|w| w[generation]).collect();
                indices.sort_unstable();
                assert_eq!(indices, (0..parties).collect::<Vec<_>>(), "{algorithm:?}");
            }
            if with_action {
                let total = runs.load(Ordering::Relaxed);
                let before = checked_runs.swap(total, Ordering::Relaxed);
                assert_eq!(total - before, released, "{algorithm:?}: action runs");
            }
            windows.iter_mut().for_each(Vec::clear);
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
        let (windows, recovery, failures, stop, check, chaos_done, barrier) = (
            Arc::clone(&windows),
            Arc::clone(&recovery),
            Arc::clone(&failures),
            Arc::clone(&stop),
            check.clone(),
            Arc::clone(&chaos_done),
            barrier.clone(),
        );
        thread::spawn(move || {
            let mut released = 0;
            loop {
                let outcome = if rng.below(64) == 0 {
                    seat.wait_timeout(Duration::from_micros(rng.below(100)))
                } else {
                    seat.wait()
                };
                match outcome {
                    Ok(index) => {
                        windows.lock().unwrap()[seat.index()].push(index);
                        released += 1;
                        // Every seat sees the same released generations, so they all stop
                        // after the same one.
                        if released >= generations {
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
    for with_action in [true, false] {
        for algorithm in ALGORITHMS {
            for policy in POLICIES {
                for parties in PARTIES {
                    let episodes = episodes(parties, policy);
                    println!(
                        "cell: {algorithm:?}, {parties} parties, {policy:?}, action: {with_action}"
                    );
                    with_watchdog(CELL_LIMIT, move || {
                        fault_free(algorithm, parties, episodes, policy, with_action)
                    });
                }
            }
        }
    }
}

#[test]
fn grid_with_aborts_resets_and_timeouts() {
    let mut failures = 0;
    for with_action in [true, false] {
        for algorithm in ALGORITHMS {
            for policy in POLICIES {
                for parties in PARTIES {
                    let generations = episodes(parties, policy) / 4;
                    // Shown if the cell fails (the watchdog cannot name it).
                    println!(
                        "cell: {algorithm:?}, {parties} parties, {policy:?}, action: {with_action}"
                    );
                    failures += with_watchdog(CELL_LIMIT, move || {
                        with_faults(
                            algorithm,
                            parties,
                            generations,
                            policy,
                            with_action,
                            0xC4A05 ^ parties as u64,
                        )
                    });
                }
            }
        }
    }
    assert!(failures > 0, "the chaos thread injected no failure at all");
}

/// Tree seats of `policy`; seat `i` leaves (`Seat::leave`) at its `every * (i + 1)`-th
/// arrival, so the parties shrink every `every` generations until the barrier finishes. The
/// other arrivals alternate `wait` with `arrive`, a random pause, and `wait`. Every
/// generation's indices must be distinct and below its parties, one per seat that stayed.
fn shrinking_seats(fan_in: usize, threads: usize, every: usize, policy: WaitPolicy, seed: u64) {
    let (barrier, seats) = Barrier::builder(threads)
        .algorithm(Algorithm::Tree { fan_in })
        .wait_policy(policy)
        .build_seated()
        .unwrap();
    let handles: Vec<_> = seats
        .into_iter()
        .map(|seat| {
            thread::spawn(move || {
                let i = seat.index();
                let mut rng = Xorshift(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9));
                let arrivals = every * (i + 1);
                let mut seen = Vec::with_capacity(arrivals);
                for k in 1..arrivals {
                    let generation = seat.barrier().generation();
                    let index = if k % 2 == 0 {
                        seat.wait()
                    } else {
                        let arrival = seat.arrive().expect("no faults injected");
                        assert_eq!(arrival.generation(), generation);
                        if rng.below(2) == 0 {
                            std::hint::spin_loop();
                        }
                        arrival.wait()
                    };
                    seen.push((generation, index.expect("no faults injected")));
                }
                seat.leave().expect("no faults injected");
                seen
            })
        })
        .collect();
    let waits = handles.into_iter().flat_map(|h| h.join().unwrap());
    let by_generation = indices_by_generation(waits, every * threads);
    for (generation, indices) in by_generation.iter().enumerate() {
        let parties = threads - generation / every;
        let leaving = usize::from((generation + 1) % every == 0);
        let what = format!("generation {generation}");
        assert_indices_with_leavers(indices, parties, leaving, &what);
    }
    assert!(barrier.is_finished(), "every seat left");
    assert_eq!(barrier.generation(), (every * threads) as u64);
}

#[test]
fn grid_tree_seats_leaving() {
    for fan_in in [2, 4] {
        for policy in POLICIES {
            for parties in PARTIES {
                let every = if policy == WaitPolicy::Adaptive && parties <= 8 {
                    1_000
                } else {
                    100
                };
                println!("cell: tree of fan-in {fan_in}, {parties} seats leaving, {policy:?}");
                with_watchdog(CELL_LIMIT, move || {
                    shrinking_seats(fan_in, parties, every, policy, 0x5EA7 ^ parties as u64)
                });
            }
        }
    }
}
