//! A panic in any worker (or in a combine) stops the phase, resumes in the caller once every
//! worker has stopped, and leaves the pool usable.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{message, pool, watchdog, SCHEDULES};
use phase_pool::{kernels, PhasePool, Schedule};

/// Runs `phase` expecting a panic whose message contains `expected`.
fn expect_panic<R>(expected: &str, phase: impl FnOnce() -> R) {
    let payload = catch_unwind(AssertUnwindSafe(phase))
        .err()
        .expect("the phase must panic");
    let text = message(&*payload);
    assert!(
        text.contains(expected),
        "got panic {text:?}, expected {expected:?}"
    );
}

/// The pool still computes correct results.
fn assert_usable(pool: &PhasePool) {
    let mut data = vec![1u64; 1000];
    let sum =
        pool.map_reduce_chunks_mut(&mut data, 7, 0, |_, c| c.iter().sum::<u64>(), |a, b| a + b);
    assert_eq!(sum, 1000);
    let n = pool.num_threads();
    assert_eq!(
        pool.run(|ctx| ctx.reduce(ctx.index(), |a, b| a + b)),
        vec![n * (n - 1) / 2; n]
    );
}

#[test]
fn a_panic_of_worker_zero_resumes_and_the_pool_is_reused() {
    watchdog(|| {
        let pool = pool(4);
        // Under the static schedule chunk 0 belongs to worker 0, the calling thread.
        let mut data = vec![0u8; 40];
        expect_panic("boom in worker 0", || {
            pool.with_schedule(Schedule::Static)
                .for_each_chunk_mut(&mut data, 1, |i, _| {
                    if i == 0 {
                        assert_eq!(std::thread::current().name(), Some("test-body"));
                        panic!("boom in worker 0");
                    }
                });
        });
        assert_usable(&pool);
    });
}

#[test]
fn a_panic_of_another_worker_resumes_and_the_pool_is_reused() {
    watchdog(|| {
        let pool = pool(4);
        let mut data = vec![0u8; 40];
        let follower_panicked = std::sync::atomic::AtomicBool::new(false);
        expect_panic("boom in another worker", || {
            pool.with_schedule(Schedule::Static)
                .for_each_chunk_mut(&mut data, 1, |_, _| {
                    if std::thread::current().name() == Some("test-body") {
                        // Holds the caller in its first chunk, so that it cannot take every
                        // chunk itself, until a follower has panicked.
                        while !follower_panicked.load(std::sync::atomic::Ordering::Acquire) {
                            std::thread::yield_now();
                        }
                    } else {
                        follower_panicked.store(true, std::sync::atomic::Ordering::Release);
                        panic!("boom in another worker");
                    }
                });
        });
        assert_usable(&pool);
    });
}

#[test]
fn panics_under_every_schedule_and_api() {
    watchdog(|| {
        for threads in [1, 2, 3, 5] {
            let pool = pool(threads);
            for schedule in SCHEDULES {
                let scheduled = pool.with_schedule(schedule);
                let mut data = vec![0u32; 100];
                expect_panic("map", || {
                    scheduled.map_reduce_chunks_mut(
                        &mut data,
                        3,
                        0,
                        |i, _| if i == 17 { panic!("map") } else { 1 },
                        |a, b| a + b,
                    )
                });
                expect_panic("index", || {
                    scheduled.for_each_index(100, |i| assert!(i != 50, "index"));
                });
                expect_panic("range", || {
                    scheduled.map_reduce_index(
                        100,
                        9,
                        0,
                        |r| {
                            assert!(!r.contains(&99), "range");
                            0
                        },
                        |a, b| a + b,
                    )
                });
                assert_usable(&pool);
            }
        }
    });
}

#[test]
fn a_panic_in_combine_resumes_and_the_pool_is_reused() {
    watchdog(|| {
        let pool = pool(3);
        let mut data = vec![1u32; 30];
        expect_panic("combine", || {
            pool.map_reduce_chunks_mut(
                &mut data,
                2,
                0,
                |_, c| c[0],
                |a, b| {
                    assert!(a < 5, "combine");
                    a + b
                },
            )
        });
        assert_usable(&pool);
    });
}

#[test]
fn spmd_panics_release_workers_blocked_in_collectives() {
    watchdog(|| {
        for threads in [2, 3, 5, 8] {
            let pool = pool(threads);
            for culprit in [0, threads - 1] {
                // The others wait in a sync the culprit never reaches.
                expect_panic("spmd boom", || {
                    pool.run(|ctx| {
                        ctx.sync();
                        if ctx.index() == culprit {
                            panic!("spmd boom");
                        }
                        ctx.sync();
                        ctx.reduce(1, |a, b| a + b)
                    })
                });
                assert_usable(&pool);
                // A panic inside single: the others wait for its result.
                expect_panic("single boom", || {
                    pool.run(|ctx| ctx.single(|| panic!("single boom")))
                });
                assert_usable(&pool);
                // A panic inside the reduce operator on one worker only.
                expect_panic("op boom", || {
                    pool.run(|ctx| {
                        let me = ctx.index();
                        let r = ctx.reduce(1, |a, b| {
                            assert!(me != culprit, "op boom");
                            a + b
                        });
                        ctx.sync();
                        r
                    })
                });
                assert_usable(&pool);
            }
        }
    });
}

#[test]
fn many_panics_in_a_row() {
    watchdog(|| {
        let pool = pool(5);
        for round in 0..50 {
            let culprit = round % 5;
            expect_panic("again", || {
                pool.run(|ctx| {
                    if ctx.index() == culprit {
                        panic!("again {round}");
                    }
                    ctx.sync();
                })
            });
        }
        assert_usable(&pool);
    });
}

#[test]
fn a_panicking_grid_sweep_keeps_the_current_buffer() {
    watchdog(|| {
        let pool = pool(3);
        let n = 20;
        let mut grid = kernels::jacobi_grid(&pool, n);
        let before = grid.current().as_slice().to_vec();
        expect_panic("sweep", || {
            grid.step(&pool, |_, row, _| assert!(row != 15, "sweep"));
        });
        assert_eq!(grid.current().as_slice(), &before[..]);
        let mut cur = before.clone();
        let mut next = before;
        let serial = kernels::jacobi_step_serial(&cur, &mut next, n);
        std::mem::swap(&mut cur, &mut next);
        assert_eq!(
            kernels::jacobi_step(&pool, &mut grid).to_bits(),
            serial.to_bits()
        );
        assert_eq!(grid.current().as_slice(), &cur[..]);
    });
}

#[test]
fn a_panic_is_resumed_once_and_later_phases_of_the_same_job_run_clean() {
    watchdog(|| {
        let pool = pool(3);
        let last = pool.num_threads() - 1;
        for step in 0..50usize {
            // The same job every step (one call site): a panic recorded in one phase must
            // neither leak into the next phase nor hide a panic of a later one.
            let phase = || {
                pool.map_reduce_index(
                    pool.num_threads(),
                    1,
                    0,
                    |r| {
                        assert!(!(step % 5 == 0 && r.start == last), "boom at step {step}");
                        r.start + step
                    },
                    usize::max,
                )
            };
            if step % 5 == 0 {
                expect_panic(&format!("boom at step {step}"), phase);
            } else {
                assert_eq!(phase(), last + step);
            }
        }
        assert_usable(&pool);
    });
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("boom in a capture's destructor");
        }
    }
}

/// A phase whose last worker panics and whose closure's capture panics when dropped; `padding`
/// bytes of captures decide whether the job travels inline or stays on the caller's stack.
fn panic_twice<const PADDING: usize>(pool: &PhasePool) {
    let threads = pool.num_threads();
    let probe = PanicOnDrop;
    let padding = [0u8; PADDING];
    pool.for_each_index(threads, move |i| {
        let _ = (&probe, &padding);
        if i == threads - 1 {
            panic!("boom in the last worker");
        }
    });
}

#[test]
fn a_panicking_capture_destructor_leaves_nothing_for_the_next_phase() {
    watchdog(|| {
        for threads in [2, 3] {
            let pool = pool(threads);
            // The caller gets one of the two panics, and the next phase must not resume the
            // other: with the job inline (no padding) and on the stack (256 bytes).
            expect_panic("boom", || panic_twice::<0>(&pool));
            pool.for_each_index(threads, |_| ());
            assert_usable(&pool);
            expect_panic("boom", || panic_twice::<256>(&pool));
            pool.for_each_index(threads, |_| ());
            assert_usable(&pool);
        }
    });
}

/// A partial result that records its creation and its drop, so a test can check that every
/// partial is dropped exactly once (by `combine` or by the unwinding), neither leaked nor
/// dropped twice.
struct Tracked<'a> {
    id: usize,
    ledger: &'a Ledger,
}

#[derive(Default)]
struct Ledger {
    made: std::sync::Mutex<Vec<usize>>,
    dropped: std::sync::Mutex<Vec<usize>>,
}

impl Ledger {
    fn make(&self, id: usize) -> Tracked<'_> {
        self.made.lock().unwrap().push(id);
        Tracked { id, ledger: self }
    }

    /// Every value made since the last check was dropped once; forgets them.
    fn assert_balanced(&self, case: &str) {
        let mut made = std::mem::take(&mut *self.made.lock().unwrap());
        let mut dropped = std::mem::take(&mut *self.dropped.lock().unwrap());
        made.sort_unstable();
        dropped.sort_unstable();
        assert_eq!(made, dropped, "{case}: partials made vs dropped");
    }
}

/// The fold of the test: drops the accumulator, keeps the new partial.
fn keep_last<'a>(a: Tracked<'a>, b: Tracked<'a>) -> Tracked<'a> {
    drop(a);
    b
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.ledger.dropped.lock().unwrap().push(self.id);
    }
}

#[test]
fn partial_results_are_dropped_exactly_once_whatever_panics() {
    watchdog(|| {
        let ledger = Ledger::default();
        for threads in [2, 3, 5] {
            let pool = pool(threads);
            // Under the static schedule a worker's first 5 partials (of 16 bytes) travel on
            // its `done` line, later ones in its spill buffer (which grows past 16 words);
            // other schedules use per-chunk slots.
            for per_worker in [1, 5, 6, 40] {
                let count = per_worker * threads;
                for schedule in SCHEDULES {
                    let pool = pool.with_schedule(schedule);
                    let case = format!("{threads} threads, {count} chunks, {schedule:?}");
                    let last = pool.map_reduce_index(
                        count,
                        1,
                        ledger.make(usize::MAX),
                        |r| ledger.make(r.start),
                        keep_last,
                    );
                    assert_eq!(last.id, count - 1, "{case}");
                    drop(last);
                    ledger.assert_balanced(&case);

                    // `map` panics on the calling thread or on a follower.
                    for fails_at in [per_worker / 2, count / 2] {
                        expect_panic("map", || {
                            pool.map_reduce_index(
                                count,
                                1,
                                ledger.make(usize::MAX),
                                |r| {
                                    assert!(r.start != fails_at, "map");
                                    ledger.make(r.start)
                                },
                                keep_last,
                            )
                        });
                        ledger.assert_balanced(&format!("{case}, map panics at {fails_at}"));
                    }

                    // `combine` panics on the calling thread's own partials (folded while the
                    // others work) or on a follower's (folded after the gather).
                    for fails_at in [per_worker / 2, count / 2, count - 1] {
                        expect_panic("combine", || {
                            pool.map_reduce_index(
                                count,
                                1,
                                ledger.make(usize::MAX),
                                |r| ledger.make(r.start),
                                |a, b| {
                                    assert!(b.id != fails_at, "combine");
                                    keep_last(a, b)
                                },
                            )
                        });
                        ledger.assert_balanced(&format!("{case}, combine panics at {fails_at}"));
                    }
                }
            }
        }
    });
}

#[test]
fn run_results_are_dropped_exactly_once_whatever_panics() {
    watchdog(|| {
        let ledger = Ledger::default();
        for threads in [1, 2, 3, 5] {
            let pool = pool(threads);
            // A small result travels on the worker's `done` line, a large one (168 bytes) in
            // its spill buffer.
            let results = pool.run(|ctx| ledger.make(ctx.index()));
            let ids: Vec<usize> = results.iter().map(|r| r.id).collect();
            assert_eq!(ids, (0..threads).collect::<Vec<_>>());
            drop(results);
            ledger.assert_balanced("small results");
            let results = pool.run(|ctx| ([ctx.index(); 20], ledger.make(ctx.index())));
            assert!(results
                .iter()
                .enumerate()
                .all(|(i, r)| r.0 == [i; 20] && r.1.id == i));
            drop(results);
            ledger.assert_balanced("large results");

            expect_panic("last worker", || {
                pool.run(|ctx| {
                    let made = ledger.make(ctx.index());
                    assert!(ctx.index() + 1 < threads, "last worker");
                    made
                })
            });
            ledger.assert_balanced("small results, a worker panics");
            expect_panic("last worker", || {
                pool.run(|ctx| {
                    let made = ([0u64; 20], ledger.make(ctx.index()));
                    assert!(ctx.index() + 1 < threads, "last worker");
                    made
                })
            });
            ledger.assert_balanced("large results, a worker panics");
            assert_usable(&pool);
        }
    });
}
