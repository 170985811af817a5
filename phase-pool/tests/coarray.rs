//! BSP registered memory: coarray puts and gets land at the sync and nowhere else, gets read
//! before the puts of their superstep, concurrent puts resolve by sender index, and mismatched
//! registrations and out-of-range transfers panic on every worker instead of hanging or
//! corrupting a part.

mod common;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use common::{message, pool, watchdog, THREADS};

#[test]
fn puts_and_gets_land_only_at_the_sync() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let x = ctx.coarray::<u32>(3, 7);
                let next = (me + 1) % n;
                x.put(next, 1, &[100 + me as u32]);
                let got = x.get(next, 1..3);
                assert!(!got.is_ready(), "a get is answered by the sync");
                assert_eq!(&*x.local(), [7, 7, 7], "nothing lands before the sync");
                ctx.reduce(0, |a, b| a + b); // other collectives deliver nothing
                assert_eq!(&*x.local(), [7, 7, 7]);
                assert!(!got.is_ready());
                ctx.sync();
                let after = x.to_vec();
                (after, got.take())
            });
            for (me, (part, got)) in out.into_iter().enumerate() {
                let prev = (me + threads - 1) % threads;
                assert_eq!(part, [7, 100 + prev as u32, 7], "threads {threads}");
                assert_eq!(got, [7, 7], "a get reads before the puts of its superstep");
            }
        }
    });
}

#[test]
fn a_get_reads_local_writes_but_not_the_puts_of_its_superstep() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let x = ctx.coarray::<i64>(2, 0);
                let mut seen = Vec::new();
                for step in 1..=6i64 {
                    let prev = (me + n - 1) % n;
                    // The get comes first, the puts after it, the local write last: the get
                    // still reads the local write and none of the puts.
                    let got = x.get(prev, 0..2);
                    for to in 0..n {
                        x.put(to, 0, &[-step]);
                    }
                    x.local_mut()[1] = step * 10 + prev as i64;
                    x.local_mut()[1] = step * 10 + me as i64;
                    ctx.sync();
                    seen.push(got.take());
                }
                (seen, x.to_vec())
            });
            for (me, (seen, last)) in out.into_iter().enumerate() {
                let prev = (me + threads - 1) % threads;
                for (step, got) in (1..).zip(seen) {
                    let before = if step == 1 { 0 } else { -(step - 1) };
                    assert_eq!(got, [before, step * 10 + prev as i64], "threads {threads}");
                }
                assert_eq!(last, [-6, 60 + me as i64]);
            }
        }
    });
}

#[test]
fn concurrent_puts_resolve_by_sender_then_sending_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let me = ctx.index() as u64;
                let x = ctx.coarray::<u64>(4, 0);
                // The owner's local write of the superstep loses to every put.
                x.local_mut().fill(999);
                for to in 0..ctx.num_threads() {
                    x.put(to, 0, &[me * 10, me * 10]);
                    x.put(to, 1, &[me * 10 + 1]);
                    x.put(to, 3, &[me]);
                }
                ctx.sync();
                x.to_vec()
            });
            let last = threads as u64 - 1;
            for part in out {
                assert_eq!(part, [last * 10, last * 10 + 1, 999, last]);
            }
        }
    });
}

#[test]
fn zero_length_and_whole_part_transfers() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let len = 5;
                let x = ctx.coarray::<f64>(len, -1.0);
                let empty = ctx.coarray::<f64>(0, 0.0);
                assert!(empty.is_empty() && x.len() == len);
                empty.put(0, 0, &[]);
                let nothing = empty.get(n - 1, 0..0);
                x.put((me + 1) % n, len, &[]);
                x.put((me + 1) % n, 0, &[]);
                let whole: Vec<f64> = (0..len).map(|i| (me * 100 + i) as f64).collect();
                x.local_mut().copy_from_slice(&whole);
                let got = x.get((me + 1) % n, 0..len);
                ctx.sync();
                let first = (got.take(), x.to_vec(), nothing.take());
                x.put((me + 1) % n, 0, &whole);
                ctx.sync();
                (first, x.to_vec())
            });
            for (me, ((got, kept, nothing), after)) in out.into_iter().enumerate() {
                let next = (me + 1) % threads;
                let prev = (me + threads - 1) % threads;
                let block = |w: usize| (0..5).map(|i| (w * 100 + i) as f64).collect::<Vec<_>>();
                assert_eq!(got, block(next));
                assert_eq!(kept, block(me), "empty puts change nothing");
                assert!(nothing.is_empty());
                assert_eq!(after, block(prev));
            }
        }
    });
}

#[test]
fn every_worker_puts_to_and_gets_from_every_worker() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let k = 3;
            let out = pool.run(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let x = ctx.coarray::<usize>(n * k, 0);
                let mut rounds = Vec::new();
                for step in 0..4 {
                    let mine: Vec<usize> = (0..k).map(|i| step * 1000 + me * 10 + i).collect();
                    x.local_mut()[me * k..(me + 1) * k].copy_from_slice(&mine);
                    let gets: Vec<_> = (0..n).map(|w| x.get(w, w * k..(w + 1) * k)).collect();
                    for to in (0..n).filter(|&to| to != me) {
                        x.put(to, me * k, &mine);
                    }
                    ctx.sync();
                    let got: Vec<Vec<usize>> = gets.into_iter().map(|g| g.take()).collect();
                    rounds.push((got, x.to_vec()));
                }
                rounds
            });
            for rounds in out {
                for (step, (got, part)) in rounds.into_iter().enumerate() {
                    let expected: Vec<usize> = (0..threads)
                        .flat_map(|w| (0..k).map(move |i| step * 1000 + w * 10 + i))
                        .collect();
                    assert_eq!(got.concat(), expected, "threads {threads}");
                    assert_eq!(part, expected);
                }
            }
        }
    });
}

/// A tiny deterministic generator for the random superstep programs.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One worker's operations in one superstep of a random program.
#[derive(Clone, Debug)]
enum Step {
    Write {
        at: usize,
        value: u64,
    },
    Put {
        to: usize,
        at: usize,
        values: Vec<u64>,
    },
    Get {
        from: usize,
        range: std::ops::Range<usize>,
    },
}

fn program(seed: u64, worker: usize, step: usize, n: usize, len: usize) -> Vec<Step> {
    let mut state = mix(seed ^ ((worker as u64) << 20) ^ ((step as u64) << 40));
    let mut next = |bound: usize| {
        state = mix(state.wrapping_add(0x9e37_79b9_7f4a_7c15));
        (state % bound as u64) as usize
    };
    // Some supersteps of some workers do nothing, so stamps of both kinds go stale.
    (0..next(5))
        .map(|_| match next(3) {
            0 => Step::Write {
                at: next(len),
                value: next(1 << 30) as u64,
            },
            1 => {
                let at = next(len + 1);
                let count = next(len - at + 1);
                Step::Put {
                    to: next(n),
                    at,
                    values: (0..count).map(|_| next(1 << 30) as u64).collect(),
                }
            }
            _ => {
                let start = next(len + 1);
                let end = start + next(len - start + 1);
                Step::Get {
                    from: next(n),
                    range: start..end,
                }
            }
        })
        .collect()
}

#[test]
fn random_superstep_programs_match_the_bsp_model() {
    watchdog(|| {
        let (len, steps) = (6, 12);
        for threads in THREADS {
            for seed in 0..4 {
                let pool = pool(threads);
                let out = pool.run(|ctx| {
                    let (me, n) = (ctx.index(), ctx.num_threads());
                    let x = ctx.coarray::<u64>(len, 0);
                    let mut gets = Vec::new();
                    for step in 0..steps {
                        let mut pending = Vec::new();
                        for op in program(seed, me, step, n, len) {
                            match op {
                                Step::Write { at, value } => x.local_mut()[at] = value,
                                Step::Put { to, at, values } => x.put(to, at, &values),
                                Step::Get { from, range } => pending.push(x.get(from, range)),
                            }
                        }
                        ctx.sync();
                        gets.push(pending.into_iter().map(|g| g.take()).collect::<Vec<_>>());
                    }
                    (gets, x.to_vec())
                });
                // The model: local writes, then gets read, then puts by sender, sending order.
                let mut parts = vec![vec![0u64; len]; threads];
                let mut expected_gets = vec![Vec::new(); threads];
                for step in 0..steps {
                    let ops: Vec<_> = (0..threads)
                        .map(|w| program(seed, w, step, threads, len))
                        .collect();
                    for (w, ops) in ops.iter().enumerate() {
                        for op in ops {
                            if let Step::Write { at, value } = op {
                                parts[w][*at] = *value;
                            }
                        }
                    }
                    for (w, ops) in ops.iter().enumerate() {
                        let got: Vec<Vec<u64>> = ops
                            .iter()
                            .filter_map(|op| match op {
                                Step::Get { from, range } => {
                                    Some(parts[*from][range.clone()].to_vec())
                                }
                                _ => None,
                            })
                            .collect();
                        expected_gets[w].push(got);
                    }
                    for ops in &ops {
                        for op in ops {
                            if let Step::Put { to, at, values } = op {
                                parts[*to][*at..*at + values.len()].copy_from_slice(values);
                            }
                        }
                    }
                }
                for (w, (gets, part)) in out.into_iter().enumerate() {
                    assert_eq!(
                        gets, expected_gets[w],
                        "threads {threads} seed {seed} worker {w}"
                    );
                    assert_eq!(part, parts[w], "threads {threads} seed {seed} worker {w}");
                }
            }
        }
    });
}

#[test]
fn coarrays_and_messages_share_the_sync() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            let out = pool.run_bsp::<usize, _, _>(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let x = ctx.coarray::<usize>(1, 0);
                let y = ctx.coarray::<u8>(2, 0);
                ctx.send((me + 1) % n, me);
                x.put((me + 1) % n, 0, &[me + 1]);
                let got = y.get((me + 1) % n, 0..2);
                y.local_mut()[1] = me as u8;
                ctx.sync();
                (ctx.take_messages(), x.to_vec()[0], got.take())
            });
            for (me, (messages, put, got)) in out.into_iter().enumerate() {
                let prev = (me + threads - 1) % threads;
                assert_eq!(messages, [prev]);
                assert_eq!(put, prev + 1);
                assert_eq!(got, [0, ((me + 1) % threads) as u8]);
            }
        }
    });
}

/// Runs `body` on every worker of pools of every size with at least `min` workers, and
/// returns, per size, the panic message of each worker and the message the run resumed.
fn panics_on_every_worker(
    min: usize,
    body: impl Fn(&mut phase_pool::Ctx<'_>) + Sync,
) -> Vec<(Vec<String>, String)> {
    let mut results = Vec::new();
    for threads in THREADS.into_iter().filter(|&t| t >= min) {
        let pool = pool(threads);
        let messages = Mutex::new(vec![String::new(); threads]);
        let run = catch_unwind(AssertUnwindSafe(|| {
            pool.run(|ctx| {
                let me = ctx.index();
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(ctx))) {
                    messages.lock().unwrap()[me] = message(&*panic);
                    resume_unwind(panic);
                }
            })
        }));
        let resumed = message(&*run.expect_err("the run panics"));
        results.push((messages.into_inner().unwrap(), resumed));
        // The pool stays usable, coarrays included.
        let again = pool.run(|ctx| {
            let x = ctx.coarray::<u8>(1, 1);
            x.put(0, 0, &[2]);
            ctx.sync();
            x.to_vec()[0]
        });
        assert_eq!(again[0], 2);
    }
    results
}

#[test]
fn a_registration_order_mismatch_panics_on_every_worker() {
    watchdog(|| {
        let results = panics_on_every_worker(2, |ctx| {
            // Worker 0 registers (f64, 4) then (u32, 8); the others the other way round.
            if ctx.index() == 0 {
                let _a = ctx.coarray::<f64>(4, 0.0);
                let _b = ctx.coarray::<u32>(8, 0);
            } else {
                let _b = ctx.coarray::<u32>(8, 0);
                let _a = ctx.coarray::<f64>(4, 0.0);
            }
            ctx.sync();
        });
        for (messages, resumed) in results {
            for text in messages.iter().chain([&resumed]) {
                assert!(
                    text.contains("mismatched coarray registration #0")
                        && text.contains("Coarray<f64> of length 4")
                        && text.contains("Coarray<u32> of length 8"),
                    "{text}"
                );
            }
        }
    });
}

#[test]
fn a_length_mismatch_panics_on_every_worker() {
    watchdog(|| {
        let results = panics_on_every_worker(2, |ctx| {
            let len = if ctx.index() == 1 { 5 } else { 4 };
            let _x = ctx.coarray::<i32>(len, 0);
            ctx.sync();
        });
        for (messages, resumed) in results {
            for text in messages.iter().chain([&resumed]) {
                assert!(
                    text.contains("mismatched coarray registration")
                        && text.contains("length 5")
                        && text.contains("length 4"),
                    "{text}"
                );
            }
        }
    });
}

#[test]
fn a_registration_against_another_collective_panics_on_every_worker() {
    watchdog(|| {
        let results = panics_on_every_worker(2, |ctx| {
            if ctx.index() == 0 {
                let _x = ctx.coarray::<i32>(4, 0);
            } else {
                ctx.sync();
            }
        });
        for (messages, resumed) in results {
            for text in messages.iter().chain([&resumed]) {
                assert!(
                    text.contains("mismatched collectives") && text.contains("coarray()"),
                    "{text}"
                );
            }
        }
    });
}

#[test]
fn out_of_range_transfers_panic_where_they_are_asked() {
    watchdog(|| {
        type Bad = fn(&phase_pool::Coarray<u16>, usize);
        let cases: [(Bad, &str); 5] = [
            (|x, _| x.put(0, 3, &[1, 2]), "coarray put out of bounds"),
            (
                |x, _| x.put(0, usize::MAX, &[1]),
                "coarray put out of bounds",
            ),
            (|x, n| x.put(n, 0, &[1]), "coarray put to worker"),
            (|x, _| drop(x.get(0, 2..5)), "coarray get out of bounds"),
            (|x, n| drop(x.get(n, 0..1)), "coarray get from worker"),
        ];
        for (bad, expected) in cases {
            for threads in [1, 3] {
                let pool = pool(threads);
                let run = catch_unwind(AssertUnwindSafe(|| {
                    pool.run(|ctx| {
                        let x = ctx.coarray::<u16>(4, 9);
                        if ctx.index() == threads - 1 {
                            bad(&x, threads);
                        }
                        ctx.sync();
                        x.to_vec()
                    })
                }));
                let text = message(&*run.expect_err("the run panics"));
                assert!(text.contains(expected), "{text}");
            }
        }
    });
}

#[test]
fn a_local_borrow_alive_at_sync_panics_and_take_before_sync_panics() {
    watchdog(|| {
        let results = panics_on_every_worker(1, |ctx| {
            let x = ctx.coarray::<u8>(2, 0);
            let held = x.local_mut();
            if ctx.index() == 0 {
                ctx.sync();
            }
            drop(held);
            ctx.sync();
        });
        for (messages, resumed) in results {
            assert!(
                messages[0].contains("local()/local_mut() borrow"),
                "{messages:?}"
            );
            assert!(resumed.contains("local()/local_mut() borrow"), "{resumed}");
        }
        let pool = pool(2);
        let run = catch_unwind(AssertUnwindSafe(|| {
            pool.run(|ctx| {
                let x = ctx.coarray::<u8>(2, 0);
                let _ = x.get(0, 0..1).take();
            })
        }));
        let text = message(&*run.expect_err("the run panics"));
        assert!(text.contains("before the sync"), "{text}");
    });
}

#[test]
fn runs_are_bitwise_reproducible() {
    watchdog(|| {
        let pool = pool(4);
        let once = || {
            pool.run(|ctx| {
                let (me, n) = (ctx.index(), ctx.num_threads());
                let x = ctx.coarray::<f64>(8, 0.0);
                for step in 0..10 {
                    for to in 0..n {
                        let v = ((me * 31 + step * 7 + to) as f64).sin();
                        x.put(to, (me + step) % 8, &[v]);
                    }
                    let got = x.get((me + step) % n, 0..8);
                    ctx.sync();
                    let sum: f64 = got.take().iter().sum();
                    x.local_mut()[step % 8] += sum;
                    ctx.sync();
                }
                x.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            })
        };
        let first = once();
        for _ in 0..5 {
            assert_eq!(once(), first);
        }
    });
}
