//! SPMD / BSP runs: results in worker order, sync, reduce, broadcast, single, messages, and
//! mismatched collectives failing instead of hanging.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{floats, message, pool, watchdog, THREADS};

#[test]
fn results_come_in_worker_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| (ctx.index(), ctx.num_threads()));
            let expected: Vec<_> = (0..threads).map(|i| (i, threads)).collect();
            assert_eq!(out, expected);
        }
    });
}

#[test]
fn blocks_partition_in_worker_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            for len in [0, 1, 2, 7, 100] {
                let blocks = pool.run(|ctx| ctx.block(len));
                let flat: Vec<usize> = blocks.into_iter().flatten().collect();
                assert_eq!(flat, (0..len).collect::<Vec<_>>());
            }
        }
    });
}

#[test]
fn sync_makes_writes_visible() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let cells: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            let seen = pool.run(|ctx| {
                let mut seen = Vec::new();
                for step in 1..=20 {
                    // Relaxed on purpose: the sync is what orders the accesses.
                    cells[ctx.index()].store(step, Ordering::Relaxed);
                    ctx.sync();
                    seen.push(
                        cells
                            .iter()
                            .map(|c| c.load(Ordering::Relaxed))
                            .collect::<Vec<_>>(),
                    );
                    ctx.sync();
                }
                seen
            });
            for per_worker in seen {
                for (step, values) in (1..).zip(per_worker) {
                    assert_eq!(values, vec![step; threads]);
                }
            }
        }
    });
}

#[test]
fn reduce_gives_every_worker_the_worker_order_fold() {
    watchdog(|| {
        let values = floats(64);
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let i = ctx.index();
                let text = ctx.reduce(i.to_string(), |a, b| a + "," + &b);
                let sum = ctx.reduce(values[i], |a, b| a + b);
                let max = ctx.reduce((i * 7) % 5, usize::max);
                (text, sum, max)
            });
            let text = (0..threads)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let sum = values[1..threads].iter().fold(values[0], |a, b| a + b);
            let max = (0..threads).map(|i| (i * 7) % 5).max().unwrap();
            for (t, s, m) in out {
                assert_eq!(t, text);
                assert_eq!(s.to_bits(), sum.to_bits());
                assert_eq!(m, max);
            }
        }
    });
}

#[test]
fn loops_of_reductions_of_changing_types_keep_every_value() {
    // A collective reuses its box of two rounds ago when it holds the same type: alternating
    // types and collectives must never show a stale or mistyped value.
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let i = ctx.index();
                let mut seen = Vec::new();
                for step in 0..50usize {
                    let total = ctx.reduce(step * 100 + i, |a, b| a + b);
                    let text = ctx.reduce(format!("{step}:{i}"), |a, b| a + "," + &b);
                    let both = if step % 3 == 0 {
                        ctx.broadcast(step % ctx.num_threads(), (step, i))
                    } else {
                        ctx.reduce((step, i), |a, b| (a.0, a.1.max(b.1)))
                    };
                    // single reuses worker 0's box of two rounds ago too.
                    assert_eq!(ctx.single(|| step * 7), step * 7);
                    seen.push((total, text, both));
                }
                seen
            });
            for seen in out {
                for (step, (total, text, both)) in seen.into_iter().enumerate() {
                    let n = threads;
                    assert_eq!(total, step * 100 * n + n * (n - 1) / 2);
                    let expected: Vec<String> = (0..n).map(|i| format!("{step}:{i}")).collect();
                    assert_eq!(text, expected.join(","));
                    let expected_both = if step % 3 == 0 {
                        (step, step % n)
                    } else {
                        (step, n - 1)
                    };
                    assert_eq!(both, expected_both);
                }
            }
        }
    });
}

#[test]
fn broadcast_from_every_root() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                (0..ctx.num_threads())
                    .map(|root| ctx.broadcast(root, format!("from {}", ctx.index())))
                    .collect::<Vec<_>>()
            });
            let expected: Vec<String> = (0..threads).map(|r| format!("from {r}")).collect();
            assert!(out.iter().all(|got| *got == expected));
        }
    });
}

#[test]
fn single_runs_once_and_shares_its_result() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let calls = AtomicUsize::new(0);
            let runner = Mutex::new(Vec::new());
            let out = pool.run(|ctx| {
                let mut got = Vec::new();
                for k in 0..10 {
                    got.push(ctx.single(|| {
                        runner.lock().unwrap().push(std::thread::current().id());
                        calls.fetch_add(1, Ordering::Relaxed) + k * 100
                    }));
                }
                got
            });
            assert_eq!(calls.load(Ordering::Relaxed), 10);
            let expected: Vec<usize> = (0..10).map(|k| k + k * 100).collect();
            assert!(out.iter().all(|got| *got == expected));
            // Worker 0, the calling thread, ran them all.
            let runners = runner.into_inner().unwrap();
            assert!(runners.iter().all(|&id| id == std::thread::current().id()));
        }
    });
}

#[test]
fn messages_arrive_at_the_next_sync_in_sender_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run_bsp::<(usize, usize, usize), _, _>(|ctx| {
                let me = ctx.index();
                let n = ctx.num_threads();
                let mut inboxes = Vec::new();
                for step in 0..5 {
                    // Every worker sends two messages to everyone, in descending order of
                    // destination, to check that delivery is by sender, not by arrival.
                    for to in (0..n).rev() {
                        ctx.send(to, (step, me, 0));
                        ctx.send(to, (step, me, 1));
                    }
                    // Nothing is delivered before the sync.
                    let before = ctx.messages().iter().filter(|m| m.0 == step).count();
                    assert_eq!(before, 0, "messages of step {step} delivered early");
                    ctx.sync();
                    // A collective that is not a sync delivers nothing and keeps the inbox.
                    let _ = ctx.reduce(step, |a, _| a);
                    inboxes.push(ctx.messages().to_vec());
                }
                let last = ctx.take_messages();
                assert!(ctx.messages().is_empty());
                assert_eq!(Some(&last), inboxes.last());
                inboxes
            });
            for inboxes in out {
                for (step, inbox) in inboxes.into_iter().enumerate() {
                    let expected: Vec<_> = (0..threads)
                        .flat_map(|from| [(step, from, 0), (step, from, 1)])
                        .collect();
                    assert_eq!(inbox, expected, "threads={threads} step={step}");
                }
            }
        }
    });
}

#[test]
fn a_superstep_without_messages_clears_the_inbox() {
    watchdog(|| {
        let pool = pool(3);
        let out = pool.run_bsp::<u8, _, _>(|ctx| {
            ctx.send(0, 1);
            ctx.sync();
            let first = ctx.messages().len();
            ctx.sync();
            (first, ctx.messages().len())
        });
        assert_eq!(out, [(3, 0), (0, 0), (0, 0)]);
    });
}

#[test]
fn mismatched_collectives_panic_instead_of_hanging() {
    watchdog(|| {
        for threads in [2, 3, 5] {
            let pool = pool(threads);
            // Worker 1 syncs once more than the others.
            let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    ctx.sync();
                    if ctx.index() == 1 {
                        ctx.sync();
                    }
                })
            }))
            .expect_err("a mismatch must panic");
            assert!(
                message(&*payload).contains("mismatched collectives"),
                "{}",
                message(&*payload)
            );
            // Different collectives at the same point.
            let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    if ctx.index() == threads - 1 {
                        ctx.sync();
                    } else {
                        ctx.reduce(1, |a, b| a + b);
                    }
                })
            }))
            .expect_err("a mismatch must panic");
            assert!(message(&*payload).contains("mismatched collectives"));
            // Different broadcast roots.
            let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.run(|ctx| ctx.broadcast(ctx.index() % 2, 0u8))
            }))
            .expect_err("a mismatch must panic");
            assert!(message(&*payload).contains("mismatched collectives"));
            // Different value types in a reduce.
            let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    if ctx.index() == 0 {
                        ctx.reduce(1u32, |a, b| a + b);
                    } else {
                        ctx.reduce(1u64, |a, b| a + b);
                    }
                })
            }))
            .expect_err("a type mismatch must panic");
            assert!(
                message(&*payload).contains("another type"),
                "{}",
                message(&*payload)
            );
            // The pool still works.
            assert_eq!(
                pool.run(|ctx| ctx.reduce(1, |a, b| a + b)),
                vec![threads; threads]
            );
        }
    });
}

#[test]
fn out_of_range_arguments_panic() {
    watchdog(|| {
        let pool = pool(2);
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run_bsp::<u8, _, _>(|ctx| ctx.send(2, 0))
        }))
        .expect_err("send out of range");
        assert!(message(&*payload).contains("send to worker 2"));
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run(|ctx| ctx.broadcast(9, ()))
        }))
        .expect_err("root out of range");
        assert!(message(&*payload).contains("broadcast root 9"));
        assert_eq!(pool.run(|ctx| ctx.index()), [0, 1]);
    });
}

/// Run results of every shape come back in worker order: over-aligned (`u128`, boxed on the
/// way), zero-sized, and larger than a report's line.
#[test]
fn results_of_every_shape_come_in_worker_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let wide = pool.run(|ctx| (ctx.index() as u128) << 100);
            assert_eq!(
                wide,
                (0..threads as u128).map(|i| i << 100).collect::<Vec<_>>()
            );
            assert_eq!(pool.run(|_| ()).len(), threads);
            let big = pool.run(|ctx| [ctx.index(); 40]);
            assert!(big.iter().enumerate().all(|(i, b)| *b == [i; 40]));
        }
    });
}
