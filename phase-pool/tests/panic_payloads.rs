//! Panic payloads that panic again when dropped: a phase where one worker panics with a message
//! and another throws such a payload neither hangs nor aborts; the message's panic resumes in
//! the caller, every payload is dropped once, and the pool keeps working.
//!
//! Each scenario runs in a child process with a time limit, so that an abort or a hang fails
//! that test alone.

mod common;

use std::panic::{catch_unwind, panic_any, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{child_test, message, pool};
use phase_pool::PhasePool;

/// A payload whose `Drop` panics.
struct Bomb;

static BOMBS: AtomicUsize = AtomicUsize::new(0);
static DEFUSED: AtomicUsize = AtomicUsize::new(0);

impl Bomb {
    fn throw() -> ! {
        BOMBS.fetch_add(1, Ordering::SeqCst);
        panic_any(Bomb)
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        DEFUSED.fetch_add(1, Ordering::SeqCst);
        panic!("a panic payload panicked when dropped");
    }
}

/// Set once the message's panic is unwinding, so that the bombs come second.
static FIRST_THROWN: AtomicBool = AtomicBool::new(false);

fn panic_first() -> ! {
    /// Dropped by the unwinding, after the panic hook (which may take long to print a
    /// backtrace) and just before the pool catches the panic.
    struct Thrown;
    impl Drop for Thrown {
        fn drop(&mut self) {
            FIRST_THROWN.store(true, Ordering::SeqCst);
        }
    }
    let _thrown = Thrown;
    panic!("a");
}

/// Throws a bomb once the first panic is unwinding (and a little later, so that the pool has
/// recorded that one first).
fn bomb_second() -> ! {
    while !FIRST_THROWN.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(200));
    Bomb::throw()
}

/// Runs `phase` on `pool`: it must panic with "a", after which every bomb was dropped once
/// and the pool still works.
fn assert_first_panic_resumes(pool: &PhasePool, what: &str, phase: impl FnOnce(&PhasePool)) {
    FIRST_THROWN.store(false, Ordering::SeqCst);
    let panic = catch_unwind(AssertUnwindSafe(|| phase(pool))).expect_err("the phase panics");
    let text = message(&*panic);
    if text != "a" {
        let got = if panic.is::<Bomb>() {
            "a Bomb".to_owned()
        } else {
            format!("{text:?}")
        };
        // Dropped here, where its panic is caught, rather than while this one unwinds.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(panic)));
        panic!("{what}: the first panic (\"a\") should resume, got {got}");
    }
    assert_eq!(
        BOMBS.load(Ordering::SeqCst),
        DEFUSED.load(Ordering::SeqCst),
        "{what}: every bomb dropped once"
    );
    assert_eq!(
        pool.run(|ctx| ctx.index()),
        (0..pool.num_threads()).collect::<Vec<_>>()
    );
    let sum = pool.map_reduce_index(0..100, 3, 0, |r| r.sum::<usize>(), |a, b| a + b);
    assert_eq!(sum, 4950, "{what}: the pool still works");
}

#[test]
fn bombs_thrown_by_followers_in_a_run() {
    child_test("bombs_thrown_by_followers_in_a_run", || {
        for threads in [2, 3] {
            let pool = pool(threads);
            assert_first_panic_resumes(&pool, "run", |pool| {
                pool.run(|ctx| {
                    if ctx.index() == 0 {
                        panic_first()
                    } else {
                        bomb_second()
                    }
                });
            });
        }
    });
}

#[test]
fn a_bomb_thrown_by_the_leader_in_a_run() {
    child_test("a_bomb_thrown_by_the_leader_in_a_run", || {
        for threads in [2, 3] {
            let pool = pool(threads);
            assert_first_panic_resumes(&pool, "run", |pool| {
                pool.run(|ctx| {
                    if ctx.index() == 1 {
                        panic_first()
                    } else {
                        bomb_second()
                    }
                });
            });
        }
    });
}

/// Data-parallel phases under the static schedule: with as many indices as workers, worker
/// `w` runs index `w`, so `first` and `second` pick who panics how.
fn data_parallel(first: usize, second: usize) {
    let threads = 3;
    let pool = pool(threads);
    let act = |i: usize| {
        if i == first {
            panic_first()
        } else if i == second {
            bomb_second()
        }
    };
    assert_first_panic_resumes(&pool, "for_each_index", |pool| {
        pool.for_each_index(0..threads, act);
    });
    assert_first_panic_resumes(&pool, "for_each_chunk_mut", |pool| {
        pool.for_each_chunk_mut(&mut [0u8; 3], 1, |i, _| act(i));
    });
    assert_first_panic_resumes(&pool, "map_reduce_index", |pool| {
        pool.map_reduce_index(0..threads, 1, (), |r| act(r.start), |(), ()| ());
    });
    assert_first_panic_resumes(&pool, "map_reduce_chunks_mut", |pool| {
        pool.map_reduce_chunks_mut(&mut [0u8; 3], 1, (), |i, _| act(i), |(), ()| ());
    });
}

#[test]
fn bombs_thrown_by_followers_in_data_parallel_phases() {
    child_test("bombs_thrown_by_followers_in_data_parallel_phases", || {
        data_parallel(0, 2);
    });
}

#[test]
fn a_bomb_thrown_by_the_leader_in_data_parallel_phases() {
    child_test(
        "a_bomb_thrown_by_the_leader_in_data_parallel_phases",
        || {
            data_parallel(2, 0);
        },
    );
}
