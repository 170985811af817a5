//! The SPMD collectives over every algorithm of the pool's seated barrier: on a machine with
//! few cores `Algorithm::Auto` only ever picks central or a tree, so dissemination is chosen
//! here explicitly. Visibility, fold order, broadcast, single, BSP messages, many rounds, and a
//! panic in the middle of a run followed by reuse.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{floats, message, watchdog};
use phase_pool::{Algorithm, PhasePool, Placement};

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Central,
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 4 },
    Algorithm::Dissemination,
    Algorithm::Auto,
];

/// Team sizes: powers of two and not, fan-in remainders, and more threads than cores.
const THREADS: [usize; 6] = [1, 2, 3, 5, 8, 13];

fn pool(threads: usize, algorithm: Algorithm) -> PhasePool {
    PhasePool::builder()
        .threads(threads)
        .placement(Placement::None)
        .barrier_algorithm(algorithm)
        .build()
        .expect("build the pool")
}

fn for_every_team(check: impl Fn(&PhasePool, usize, Algorithm) + Send + 'static) {
    watchdog(move || {
        for algorithm in ALGORITHMS {
            for threads in THREADS {
                check(&pool(threads, algorithm), threads, algorithm);
            }
        }
    });
}

#[test]
fn syncs_order_writes_over_many_rounds() {
    for_every_team(|pool, threads, algorithm| {
        let cells: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
        let wrong = pool.run(|ctx| {
            let mut wrong = 0;
            for step in 1..=300 {
                // Relaxed on purpose: the sync is what orders the accesses.
                cells[ctx.index()].store(step, Ordering::Relaxed);
                ctx.sync();
                wrong += cells
                    .iter()
                    .filter(|c| c.load(Ordering::Relaxed) != step)
                    .count();
                ctx.sync();
            }
            wrong
        });
        assert_eq!(wrong, vec![0; threads], "{algorithm:?}, {threads} threads");
    });
}

#[test]
fn collectives_agree_on_every_worker() {
    let values = floats(16);
    for_every_team(move |pool, threads, algorithm| {
        let out = pool.run(|ctx| {
            let i = ctx.index();
            let text = ctx.reduce(i.to_string(), |a, b| a + "," + &b);
            let sum = ctx.reduce(values[i], |a, b| a + b);
            let roots: Vec<usize> = (0..threads)
                .map(|root| ctx.broadcast(root, i * 10))
                .collect();
            let once = ctx.single(|| i);
            (text, sum.to_bits(), roots, once)
        });
        let text = (0..threads)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sum = values[1..threads].iter().fold(values[0], |a, b| a + b);
        let roots: Vec<usize> = (0..threads).map(|root| root * 10).collect();
        for (worker, (t, s, r, once)) in out.into_iter().enumerate() {
            let context = format!("{algorithm:?}, {threads} threads, worker {worker}");
            assert_eq!(t, text, "{context}");
            assert_eq!(s, sum.to_bits(), "{context}");
            assert_eq!(r, roots, "{context}");
            assert!(once < threads, "{context}");
        }
    });
}

#[test]
fn messages_go_round_the_ring() {
    for_every_team(|pool, threads, algorithm| {
        let got = pool.run_bsp::<usize, _, _>(|ctx| {
            let mut token = ctx.index();
            for _ in 0..threads {
                ctx.send((ctx.index() + 1) % threads, token);
                ctx.sync();
                token = ctx.messages()[0];
            }
            token
        });
        // After `threads` hops every token is back where it started.
        assert_eq!(
            got,
            (0..threads).collect::<Vec<_>>(),
            "{algorithm:?}, {threads} threads"
        );
    });
}

#[test]
fn a_panic_between_collectives_resumes_and_the_pool_is_reused() {
    for_every_team(|pool, threads, algorithm| {
        for round in 0..3 {
            let payload = catch_unwind(AssertUnwindSafe(|| {
                pool.run(|ctx| {
                    ctx.sync();
                    if ctx.index() == threads - 1 {
                        panic!("worker {} fails in round {round}", ctx.index());
                    }
                    // The others block in a collective the failed worker never reaches.
                    ctx.reduce(1usize, |a, b| a + b)
                })
            }))
            .expect_err("the panic resumes in the caller");
            assert_eq!(
                message(&*payload),
                format!("worker {} fails in round {round}", threads - 1),
                "{algorithm:?}, {threads} threads"
            );
            assert_eq!(
                pool.run(|ctx| ctx.reduce(1usize, |a, b| a + b)),
                vec![threads; threads],
                "{algorithm:?}, {threads} threads: reused after the panic"
            );
        }
    });
}
