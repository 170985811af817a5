//! The data-parallel phases against serial references: every thread count, schedule, odd and
//! tiny sizes, empty inputs.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{floats, pool, watchdog, SCHEDULES, THREADS};
use phase_pool::{PhasePool, Schedule};

const SIZES: [usize; 8] = [0, 1, 2, 3, 7, 8, 100, 1001];
const CHUNK_LENS: [usize; 4] = [1, 3, 8, 64];

fn update(chunk_index: usize, chunk: &mut [f64]) {
    for (k, x) in chunk.iter_mut().enumerate() {
        *x = *x * 1.5 + chunk_index as f64 - k as f64 * 0.25;
    }
}

fn chunk_sum(chunk_index: usize, chunk: &mut [f64]) -> f64 {
    update(chunk_index, chunk);
    chunk.iter().sum()
}

/// Runs `check` with a pool of every thread count and every schedule.
fn for_all_pools(check: impl Fn(&PhasePool, Schedule) + Send + Sync + 'static) {
    watchdog(move || {
        for threads in THREADS {
            let pool = pool(threads);
            for schedule in SCHEDULES {
                check(&pool, schedule);
            }
        }
    });
}

#[test]
fn for_each_chunk_mut_matches_serial() {
    for_all_pools(|pool, schedule| {
        for len in SIZES {
            for chunk_len in CHUNK_LENS {
                let mut expected = floats(len);
                expected
                    .chunks_mut(chunk_len)
                    .enumerate()
                    .for_each(|(i, c)| update(i, c));
                let mut got = floats(len);
                pool.with_schedule(schedule)
                    .for_each_chunk_mut(&mut got, chunk_len, update);
                assert_eq!(
                    got, expected,
                    "{schedule:?} len={len} chunk_len={chunk_len}"
                );
            }
        }
    });
}

#[test]
fn map_reduce_chunks_mut_matches_serial_bitwise() {
    for_all_pools(|pool, schedule| {
        for len in SIZES {
            for chunk_len in CHUNK_LENS {
                let mut expected_data = floats(len);
                let expected = expected_data
                    .chunks_mut(chunk_len)
                    .enumerate()
                    .map(|(i, c)| chunk_sum(i, c))
                    .fold(0.25, |a, b| a + b);
                let mut data = floats(len);
                let got = pool.with_schedule(schedule).map_reduce_chunks_mut(
                    &mut data,
                    chunk_len,
                    0.25,
                    chunk_sum,
                    |a, b| a + b,
                );
                let what = format!(
                    "{schedule:?} threads={} len={len} chunk_len={chunk_len}",
                    pool.num_threads()
                );
                assert_eq!(got.to_bits(), expected.to_bits(), "{what}");
                assert_eq!(data, expected_data, "{what}");
            }
        }
    });
}

#[test]
fn reductions_fold_in_chunk_order() {
    for_all_pools(|pool, schedule| {
        for len in SIZES {
            let mut data: Vec<usize> = (0..len).collect();
            let got = pool.with_schedule(schedule).map_reduce_chunks_mut(
                &mut data,
                3,
                String::from("<"),
                |i, chunk| format!("{i}:{chunk:?};"),
                |a, b| a + &b,
            );
            let expected = (0..len)
                .collect::<Vec<_>>()
                .chunks(3)
                .enumerate()
                .fold(String::from("<"), |a, (i, c)| a + &format!("{i}:{c:?};"));
            assert_eq!(got, expected);
            let got = pool.with_schedule(schedule).map_reduce_index(
                5..5 + len,
                4,
                String::new(),
                |r| format!("{r:?}"),
                |a, b| a + &b,
            );
            let expected: String = (0..len.div_ceil(4))
                .map(|c| format!("{:?}", 5 + c * 4..(5 + len).min(5 + c * 4 + 4)))
                .collect();
            assert_eq!(got, expected, "{schedule:?} len={len}");
        }
    });
}

#[test]
fn map_reduce_index_matches_serial_bitwise() {
    for_all_pools(|pool, schedule| {
        let values = floats(1001);
        for len in SIZES {
            for chunk_len in CHUNK_LENS {
                let serial = (0..len)
                    .collect::<Vec<_>>()
                    .chunks(chunk_len)
                    .map(|c| c.iter().map(|&i| values[i] * 3.0).sum::<f64>())
                    .fold(-1.0, |a, b| a + b);
                let got = pool.with_schedule(schedule).map_reduce_index(
                    len,
                    chunk_len,
                    -1.0,
                    |r| r.map(|i| values[i] * 3.0).sum::<f64>(),
                    |a, b| a + b,
                );
                assert_eq!(
                    got.to_bits(),
                    serial.to_bits(),
                    "{schedule:?} len={len} chunk_len={chunk_len}"
                );
            }
        }
    });
}

#[test]
fn every_schedule_visits_each_index_exactly_once() {
    for_all_pools(|pool, schedule| {
        for len in SIZES {
            // for_each_index over an offset range.
            let visits: Vec<AtomicUsize> = (0..len + 10).map(|_| AtomicUsize::new(0)).collect();
            pool.with_schedule(schedule)
                .for_each_index(10..10 + len, |i| {
                    visits[i].fetch_add(1, Ordering::Relaxed);
                });
            let counts: Vec<usize> = visits.iter().map(|v| v.load(Ordering::Relaxed)).collect();
            let mut expected = vec![0; 10];
            expected.extend(std::iter::repeat(1).take(len));
            assert_eq!(counts, expected, "for_each_index {schedule:?} len={len}");

            // for_each_chunk_mut: every element once, every chunk index once.
            for chunk_len in CHUNK_LENS {
                let mut data = vec![0u32; len];
                let chunks = Mutex::new(Vec::new());
                pool.with_schedule(schedule)
                    .for_each_chunk_mut(&mut data, chunk_len, |i, c| {
                        c.iter_mut().for_each(|x| *x += 1);
                        chunks.lock().unwrap().push(i);
                    });
                assert!(
                    data.iter().all(|&x| x == 1),
                    "{schedule:?} len={len} chunk_len={chunk_len}"
                );
                let mut chunks = chunks.into_inner().unwrap();
                chunks.sort_unstable();
                assert_eq!(chunks, (0..len.div_ceil(chunk_len)).collect::<Vec<_>>());
            }

            // map_reduce_index: every chunk once.
            let ranges = pool.with_schedule(schedule).map_reduce_index(
                len,
                3,
                Vec::new(),
                |r| vec![r],
                |mut a, b| {
                    a.extend(b);
                    a
                },
            );
            let flat: Vec<usize> = ranges.into_iter().flatten().collect();
            assert_eq!(flat, (0..len).collect::<Vec<_>>());
        }
    });
}

#[test]
fn reductions_are_bitwise_identical_across_runs_threads_and_schedules() {
    watchdog(|| {
        let len = 10_007;
        let chunk_len = 37;
        let reference = {
            let mut data = floats(len);
            data.chunks_mut(chunk_len)
                .enumerate()
                .map(|(i, c)| chunk_sum(i, c))
                .fold(0.0, |a, b| a + b)
        };
        for threads in THREADS {
            let pool = pool(threads);
            for schedule in SCHEDULES {
                for run in 0..20 {
                    let mut data = floats(len);
                    let got = pool.with_schedule(schedule).map_reduce_chunks_mut(
                        &mut data,
                        chunk_len,
                        0.0,
                        chunk_sum,
                        |a, b| a + b,
                    );
                    assert_eq!(
                        got.to_bits(),
                        reference.to_bits(),
                        "threads={threads} {schedule:?} run={run}"
                    );
                    let values = floats(len);
                    let got = pool.with_schedule(schedule).map_reduce_index(
                        len,
                        chunk_len,
                        0.0,
                        |r| values[r].iter().sum::<f64>(),
                        |a, b| a + b,
                    );
                    let expected = values
                        .chunks(chunk_len)
                        .map(|c| c.iter().sum::<f64>())
                        .fold(0.0, |a, b| a + b);
                    assert_eq!(
                        got.to_bits(),
                        expected.to_bits(),
                        "threads={threads} {schedule:?}"
                    );
                }
            }
        }
    });
}

#[test]
fn empty_inputs_return_the_identity() {
    watchdog(|| {
        let pool = pool(3);
        let mut empty: Vec<f64> = Vec::new();
        pool.for_each_chunk_mut(&mut empty, 4, |_, _| panic!("no chunk to visit"));
        assert_eq!(
            pool.map_reduce_chunks_mut(&mut empty, 4, 7.0, |_, _| 1.0, |a, b| a + b),
            7.0
        );
        pool.for_each_index(0, |_| panic!("no index to visit"));
        pool.for_each_index(5..5, |_| panic!("no index to visit"));
        #[allow(clippy::reversed_empty_ranges, reason = "an inverted range is empty")]
        pool.for_each_index(9..2, |_| panic!("no index to visit"));
        assert_eq!(pool.map_reduce_index(0, 1, "id", |_| "x", |a, _| a), "id");
    });
}

#[test]
fn the_builder_schedule_is_the_default() {
    watchdog(|| {
        let pool = PhasePool::builder()
            .threads(3)
            .schedule(Schedule::Guided)
            .build()
            .unwrap();
        assert_eq!(pool.schedule(), Schedule::Guided);
        assert_eq!(
            pool.with_schedule(Schedule::Static).schedule(),
            Schedule::Static
        );
        let mut data = vec![1u64; 999];
        let sum = pool.map_reduce_chunks_mut(
            &mut data,
            10,
            0,
            |_, c| c.iter().sum::<u64>(),
            |a, b| a + b,
        );
        assert_eq!(sum, 999);
    });
}

fn chunk_len_zero(call: impl FnOnce(&PhasePool) + std::panic::UnwindSafe) {
    let pool = pool(2);
    let pool_ref = std::panic::AssertUnwindSafe(&pool);
    let payload =
        std::panic::catch_unwind(move || call(*pool_ref)).expect_err("chunk_len 0 must panic");
    assert!(common::message(&*payload).contains("chunk_len must be at least 1"));
    // The pool is still usable.
    assert_eq!(
        pool.map_reduce_index(10, 3, 0, |r| r.len(), |a, b| a + b),
        10
    );
}

#[test]
fn chunk_len_zero_is_a_clear_panic() {
    watchdog(|| {
        chunk_len_zero(|pool| pool.for_each_chunk_mut(&mut [1, 2, 3], 0, |_, _| ()));
        chunk_len_zero(|pool| {
            pool.map_reduce_chunks_mut(&mut [1, 2, 3], 0, 0, |_, _| 0, |a, b| a + b);
        });
        chunk_len_zero(|pool| {
            pool.map_reduce_index(3, 0, 0, |_| 0, |a, b| a + b);
        });
        // Even on empty data: the argument is wrong whatever the data.
        chunk_len_zero(|pool| pool.for_each_chunk_mut(&mut [0u8; 0], 0, |_, _| ()));
    });
}

/// Issues one phase through `phase`: every call runs from the same frame, so when `f` has the
/// same type the pool is handed the same job (closure type and address) as the previous call.
#[inline(never)]
fn index_phase<F: Fn(usize) -> u64 + Sync>(pool: &PhasePool, f: F) -> u64 {
    pool.map_reduce_index(pool.num_threads(), 1, 0, |r| f(r.start), u64::max)
}

#[test]
fn phases_issued_from_one_place_see_their_own_captures() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let n = threads as u64;
            for step in 0..500u64 {
                // The same job as the previous step, its captured `step` rewritten in place:
                // every worker must read this step's value.
                assert_eq!(
                    index_phase(&pool, |i| step * 10 + i as u64),
                    step * 10 + n - 1
                );
                // Every few steps, another closure type from the same frame (another job),
                // then back.
                if step % 7 == 0 {
                    assert_eq!(
                        index_phase(&pool, |i| step + 2 * i as u64),
                        step + 2 * (n - 1)
                    );
                }
            }
        }
    });
}

/// Counts its drops.
struct DropProbe<'a>(&'a AtomicUsize);

impl Drop for DropProbe<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_phase_drops_its_closure_once_whatever_its_size() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            for step in 0..50u64 {
                // A small closure travels with the phase's publication, a large one stays on
                // the caller's stack: both must be called with their own captures and dropped
                // exactly once, when the phase is over.
                let drops = AtomicUsize::new(0);
                let probe = DropProbe(&drops);
                let sum = pool.map_reduce_index(
                    8,
                    1,
                    0,
                    move |r| {
                        let _ = &probe;
                        step + r.start as u64
                    },
                    |a, b| a + b,
                );
                assert_eq!(sum, 8 * step + 28);
                assert_eq!(
                    drops.load(Ordering::Relaxed),
                    1,
                    "small closure, {threads} threads"
                );

                let probe = DropProbe(&drops);
                let big = [step; 64];
                let sum = pool.map_reduce_index(
                    8,
                    1,
                    0,
                    move |r| {
                        let _ = &probe;
                        big[r.start] + big[63]
                    },
                    |a, b| a + b,
                );
                assert_eq!(sum, 16 * step);
                assert_eq!(
                    drops.load(Ordering::Relaxed),
                    2,
                    "large closure, {threads} threads"
                );
            }
        }
    });
}

/// Results of every shape reach the fold in chunk order: over-aligned (`u128`, which the
/// workers' reports do not hold, so the phase uses per-chunk slots), zero-sized, and larger
/// than a report's line (spilled).
#[test]
fn reductions_of_every_result_shape_match_serial() {
    for_all_pools(|pool, schedule| {
        let pool = pool.with_schedule(schedule);
        for len in SIZES {
            let serial: u128 = (0..len as u128).fold(7, |a, b| a.wrapping_mul(31) ^ (b << 64));
            let got = pool.map_reduce_index(
                len,
                1,
                7u128,
                |r| (r.start as u128) << 64,
                |a, b| a.wrapping_mul(31) ^ b,
            );
            assert_eq!(got, serial, "u128, {schedule:?} len={len}");

            let mut calls = 0;
            pool.map_reduce_index(len, 1, (), |_| (), |(), ()| calls += 1);
            assert_eq!(calls, len, "(), {schedule:?} len={len}");

            let wide = |i: usize| [i as u64; 12];
            let mix = |mut a: [u64; 12], b: [u64; 12]| {
                a[0] = a[0].wrapping_mul(31) ^ b[11];
                a
            };
            let serial = (0..len).map(wide).fold([1; 12], mix);
            let got = pool.map_reduce_index(len, 1, [1; 12], |r| wide(r.start), mix);
            assert_eq!(got, serial, "[u64; 12], {schedule:?} len={len}");
        }
    });
}
