//! Split-phase barriers in SPMD runs (`ctx.arrive()`, `CtxArrival`): a barrier for what was
//! written before `arrive`, mixed with the other collectives, mismatches and panics between
//! `arrive` and `wait`, and what `arrive` does not deliver.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{message, pool, watchdog, THREADS};

#[test]
fn writes_before_arrive_are_seen_after_wait() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let cells: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            let seen = pool.run(|ctx| {
                let mut seen = Vec::new();
                for step in 1..=30 {
                    // Relaxed on purpose: the barrier orders the accesses.
                    cells[ctx.index()].store(step, Ordering::Relaxed);
                    let arrival = ctx.arrive();
                    let own = cells[ctx.index()].load(Ordering::Relaxed);
                    arrival.wait();
                    let all: Vec<usize> = cells.iter().map(|c| c.load(Ordering::Relaxed)).collect();
                    seen.push((own, all));
                    // Nobody writes again before everyone has read: a second barrier, a
                    // different collective each step.
                    if step % 2 == 0 {
                        ctx.sync();
                    } else {
                        ctx.reduce(1, |a, b| a + b);
                    }
                }
                seen
            });
            for per_worker in seen {
                for (step, (own, all)) in (1..).zip(per_worker) {
                    assert_eq!(own, step);
                    assert_eq!(all, vec![step; threads], "{threads} threads, step {step}");
                }
            }
        }
    });
}

#[test]
fn a_dropped_arrival_completes_the_barrier() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let cells: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            let sums = pool.run(|ctx| {
                cells[ctx.index()].store(ctx.index() + 1, Ordering::Relaxed);
                drop(ctx.arrive());
                cells
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .sum::<usize>()
            });
            assert_eq!(sums, vec![threads * (threads + 1) / 2; threads]);
        }
    });
}

#[test]
fn arrive_against_sync_is_a_mismatch() {
    watchdog(|| {
        for threads in [2, 3, 5] {
            let pool = pool(threads);
            let payload = catch_unwind(AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    if ctx.index() == 0 {
                        ctx.arrive().wait();
                    } else {
                        ctx.sync();
                    }
                })
            }))
            .expect_err("a mismatch must panic");
            let text = message(&*payload);
            assert!(
                text.contains("mismatched collectives") && text.contains("arrive()"),
                "{text}"
            );
            assert_eq!(
                pool.run(|ctx| ctx.reduce(1, |a, b| a + b)),
                vec![threads; threads]
            );
        }
    });
}

#[test]
fn a_panic_between_arrive_and_wait_resumes_in_the_caller() {
    watchdog(|| {
        for threads in [1, 2, 3, 5] {
            let pool = pool(threads);
            let payload = catch_unwind(AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    let arrival = ctx.arrive();
                    assert!(ctx_index_is_not_last(threads), "interior failed");
                    arrival.wait();
                    for _ in 0..3 {
                        ctx.arrive().wait();
                    }
                })
            }))
            .expect_err("the worker's panic resumes in the caller");
            assert!(message(&*payload).contains("interior failed"));
            assert_eq!(
                pool.run(|ctx| ctx.reduce(2, |a, b| a + b)),
                vec![2 * threads; threads]
            );
        }
    });

    /// Fails on every worker: `threads` is never 0.
    fn ctx_index_is_not_last(threads: usize) -> bool {
        threads == 0
    }
}

#[test]
fn arrive_delivers_no_messages() {
    watchdog(|| {
        let pool = pool(3);
        let delivered = pool.run_bsp::<usize, _, _>(|ctx| {
            let next = (ctx.index() + 1) % 3;
            ctx.send(next, ctx.index());
            ctx.arrive().wait();
            let after_arrive = ctx.messages().len();
            ctx.sync();
            (after_arrive, ctx.messages().to_vec())
        });
        for (me, (after_arrive, messages)) in delivered.into_iter().enumerate() {
            assert_eq!(after_arrive, 0, "arrive is a barrier only");
            assert_eq!(messages, [(me + 2) % 3], "the next sync delivers");
        }
    });
}

#[test]
fn a_second_arrive_while_one_is_open_panics_clearly() {
    watchdog(|| {
        let pool = pool(2);
        let payload = catch_unwind(AssertUnwindSafe(|| {
            pool.run(|ctx| {
                let first = ctx.arrive();
                let second = ctx.arrive();
                first.wait();
                second.wait();
            })
        }))
        .expect_err("a second open arrival panics");
        let text = message(&*payload);
        assert!(text.contains("previous arrival is open"), "{text}");
    });
}

#[test]
fn a_collective_after_a_forgotten_arrival_panics_before_writing() {
    watchdog(|| {
        let pool = pool(2);
        let payload = catch_unwind(AssertUnwindSafe(|| {
            pool.run(|ctx| {
                std::mem::forget(ctx.arrive());
                ctx.sync();
            })
        }))
        .expect_err("a collective over an open arrival panics");
        let text = message(&*payload);
        assert!(text.contains("previous arrival is open"), "{text}");
    });
}
