//! The static blocks' pieces under concurrent stealing: with random delays in the user's
//! closure (so workers finish their own blocks at random times and take each other's pieces),
//! every chunk, index and row runs exactly once and every reduction equals the serial fold
//! bitwise, for several team sizes and lengths. Bounded, under the watchdog.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{floats, pool, watchdog};
use phase_pool::{reduce, Grid2, Schedule};

/// A delay of 0 to ~20 us, random per (round, unit): spins, so a worker keeps its core.
fn delay(round: usize, unit: usize) {
    let mut h = (round as u64) << 32 ^ unit as u64;
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    // One unit in four waits; the waits are long enough for the others to reach its block.
    if h % 4 == 0 {
        let until = Instant::now() + Duration::from_nanos(h % 20_000);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
}

#[test]
fn every_unit_runs_once_under_stealing() {
    watchdog(|| {
        for threads in [2, 3, 4, 5, 8] {
            let pool = pool(threads);
            let scheduled = pool.with_schedule(Schedule::Static);
            for (round, len) in [1usize, 2, 7, 64, 129, 1000]
                .into_iter()
                .cycle()
                .take(60)
                .enumerate()
            {
                let counts: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
                scheduled.for_each_index(len, |i| {
                    delay(round, i);
                    counts[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    counts.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                    "{threads} threads, {len} indices"
                );

                let mut data = vec![0u32; len];
                scheduled.for_each_chunk_mut(&mut data, 3, |chunk, c| {
                    delay(round, chunk);
                    c.iter_mut().for_each(|x| *x += 1);
                });
                assert!(
                    data.iter().all(|&x| x == 1),
                    "{threads} threads, {len} elements"
                );

                let values = floats(len);
                let mut v = values.clone();
                let sum = scheduled.map_reduce_chunks_mut(
                    &mut v,
                    2,
                    0.0,
                    |chunk, c| {
                        delay(round, chunk);
                        c.iter().sum::<f64>()
                    },
                    reduce::sum,
                );
                let serial = values
                    .chunks(2)
                    .map(|c| c.iter().sum::<f64>())
                    .fold(0.0, reduce::sum);
                assert_eq!(
                    sum.to_bits(),
                    serial.to_bits(),
                    "{threads} threads, {len} elements"
                );

                // Every chunk's index, in order: the fold sees each once, in chunk order.
                let order = scheduled.map_reduce_index(
                    0..len,
                    5,
                    Vec::new(),
                    |r| {
                        delay(round, r.start);
                        vec![r.start]
                    },
                    |mut a, b| {
                        a.extend(b);
                        a
                    },
                );
                assert_eq!(order, (0..len).step_by(5).collect::<Vec<_>>());
            }
        }
    });
}

#[test]
fn grid_rows_run_once_under_stealing() {
    watchdog(|| {
        for threads in [2, 3, 5] {
            let pool = pool(threads);
            let (rows, cols) = (41, 3);
            let mut grid = Grid2::new(&pool, rows, cols, |_, _| 0u32);
            for round in 0..50 {
                let touched = grid.step_reduce(
                    &pool,
                    0u32,
                    |cur, i, next| {
                        delay(round, i);
                        for (j, x) in next.iter_mut().enumerate() {
                            *x = cur[(i, j)] + 1;
                        }
                        1
                    },
                    |a, b| a + b,
                );
                assert_eq!(touched, rows as u32);
                let expected = round as u32 + 1;
                assert!(grid.current().as_slice().iter().all(|&x| x == expected));
            }
        }
    });
}
