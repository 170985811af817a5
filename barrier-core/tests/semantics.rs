//! The semantics of Python's `threading.Barrier` (CPython's `lock_tests.BarrierTests`) and every
//! row of the contract table in `barrier-core/src/README.md`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use barrier_core::{Barrier, BrokenBarrierError, BrokenCause, BuildError, WaitPolicy};
use common::{eventually, with_watchdog, HANG};

const N: usize = 5;

/// Runs `f(thread_index)` on `n` scoped threads and returns their results in thread order.
fn run_threads<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || f(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn assert_permutation(mut indices: Vec<usize>, n: usize) {
    indices.sort_unstable();
    assert_eq!(indices, (0..n).collect::<Vec<_>>());
}

fn policies() -> [WaitPolicy; 3] {
    [WaitPolicy::Adaptive, WaitPolicy::Spin, WaitPolicy::Park]
}

#[test]
fn lockstep_passes() {
    with_watchdog(HANG, || {
        for policy in policies() {
            let barrier = Barrier::builder(N).wait_policy(policy).build().unwrap();
            let passes = 10;
            let arrived = AtomicUsize::new(0);
            run_threads(N, |_| {
                for pass in 0..passes {
                    arrived.fetch_add(1, Ordering::Relaxed);
                    barrier.wait().unwrap();
                    // Everyone arrived for this pass, nobody yet for the next one.
                    assert_eq!(arrived.load(Ordering::Relaxed), N * (pass + 1));
                    barrier.wait().unwrap();
                }
            });
        }
    });
}

#[test]
fn wait_returns_a_permutation_and_the_last_arriver_runs_the_action() {
    with_watchdog(HANG, || {
        let runner = Arc::new(Mutex::new(None));
        let recorded = Arc::clone(&runner);
        let barrier = Barrier::builder(N)
            .action(move || *recorded.lock().unwrap() = Some(thread::current().id()))
            .build()
            .unwrap();
        for _ in 0..20 {
            let results = run_threads(N, |_| (barrier.wait().unwrap(), thread::current().id()));
            assert_permutation(results.iter().map(|r| r.0).collect(), N);
            let last = results.iter().find(|r| r.0 == N - 1).unwrap().1;
            assert_eq!(
                runner.lock().unwrap().take(),
                Some(last),
                "the last arriver runs the action"
            );
        }
    });
}

#[test]
fn action_runs_once_per_generation_before_anyone_returns() {
    with_watchdog(HANG, || {
        let generations = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&generations);
        let barrier = Barrier::builder(N)
            .action(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        run_threads(N, |_| {
            for generation in 1..=50 {
                barrier.wait().unwrap();
                // Relaxed suffices: the barrier orders the action before every return, and the
                // next action cannot run before this thread arrives again.
                assert_eq!(generations.load(Ordering::Relaxed), generation);
            }
        });
        assert_eq!(generations.load(Ordering::Relaxed), 50);
    });
}

#[test]
fn action_may_mutate_its_own_state() {
    let mut calls = 0u32;
    let (tx, rx) = mpsc::channel();
    let barrier = Barrier::builder(1)
        .action(move || {
            calls += 1;
            tx.send(calls).unwrap();
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(barrier.wait(), Ok(0));
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn abort_breaks_current_and_future_waiters() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(N);
        let results = run_threads(N, |i| {
            if i == 0 {
                // Wait until the others are inside, then abort instead of arriving.
                eventually(HANG, "the others wait", || barrier.n_waiting() == N - 1);
                barrier.abort();
                None
            } else {
                Some(barrier.wait())
            }
        });
        for result in results.into_iter().flatten() {
            assert_eq!(result.unwrap_err().cause(), BrokenCause::Aborted);
        }
        assert!(barrier.is_broken());
        assert_eq!(
            barrier.wait().unwrap_err().cause(),
            BrokenCause::Aborted,
            "fails at once"
        );
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn abort_and_reset_make_the_barrier_usable_again() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(N);
        barrier.abort();
        barrier.abort(); // idempotent
        assert!(barrier.is_broken());
        barrier.reset(); // nobody inside: repaired at once
        assert!(!barrier.is_broken());
        assert_permutation(run_threads(N, |_| barrier.wait().unwrap()), N);
    });
}

#[test]
fn reset_fails_the_waiters_but_does_not_break_the_barrier() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(3);
        let waiters = run_threads(3, |i| {
            if i == 2 {
                eventually(HANG, "two threads wait", || barrier.n_waiting() == 2);
                barrier.reset();
                None
            } else {
                Some(barrier.wait())
            }
        });
        for result in waiters.into_iter().flatten() {
            assert_eq!(result, Err(BrokenBarrierError::clone(&reset_error())));
        }
        assert!(!barrier.is_broken(), "reset leaves the barrier usable");
        assert_permutation(run_threads(3, |_| barrier.wait().unwrap()), 3);
    });
}

fn reset_error() -> BrokenBarrierError {
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let waiter = s.spawn(|| barrier.wait());
        eventually(HANG, "one waiter", || barrier.n_waiting() == 1);
        barrier.reset();
        waiter.join().unwrap().unwrap_err()
    })
}

#[test]
fn reset_with_nobody_inside_is_a_no_op() {
    let barrier = Barrier::new(2);
    barrier.reset();
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    with_watchdog(HANG, move || {
        assert_permutation(run_threads(2, |_| barrier.wait().unwrap()), 2);
    });
}

#[test]
fn reset_of_a_broken_barrier_with_waiters_reports_the_break() {
    with_watchdog(HANG, || {
        // parties 3: one waiter times out, the second sees TimedOut whether or not a reset
        // comes before it notices.
        let barrier = Barrier::new(3);
        let results = run_threads(2, |i| {
            if i == 0 {
                barrier.wait()
            } else {
                eventually(HANG, "first waiter inside", || barrier.n_waiting() == 1);
                let mine = barrier.wait_timeout(Duration::ZERO);
                barrier.reset();
                mine
            }
        });
        for result in results {
            assert_eq!(result.unwrap_err().cause(), BrokenCause::TimedOut);
        }
        assert!(!barrier.is_broken());
    });
}

#[test]
fn timeout_breaks_the_barrier_for_everyone_until_reset() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(3);
        let results = run_threads(2, |i| {
            if i == 0 {
                barrier.wait()
            } else {
                eventually(HANG, "first waiter inside", || barrier.n_waiting() == 1);
                barrier.wait_timeout(Duration::from_millis(10))
            }
        });
        for result in results {
            assert_eq!(result.unwrap_err().cause(), BrokenCause::TimedOut);
        }
        assert!(barrier.is_broken());
        assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::TimedOut);
        barrier.reset();
        assert!(!barrier.is_broken());
    });
}

#[test]
fn default_timeout_applies_to_wait() {
    with_watchdog(HANG, || {
        let barrier = Barrier::builder(2)
            .timeout(Duration::from_millis(5))
            .build()
            .unwrap();
        assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::TimedOut);
        assert!(barrier.is_broken());
    });
}

#[test]
fn zero_timeout_breaks_at_once_unless_last() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(2);
        assert_eq!(
            barrier.wait_timeout(Duration::ZERO).unwrap_err().cause(),
            BrokenCause::TimedOut
        );
        barrier.reset();
        // The last arriver never uses its timeout.
        let results = run_threads(2, |i| {
            if i == 0 {
                barrier.wait()
            } else {
                eventually(HANG, "first waiter inside", || barrier.n_waiting() == 1);
                barrier.wait_timeout(Duration::ZERO)
            }
        });
        assert_eq!(results, [Ok(0), Ok(1)]);
    });
}

#[test]
fn huge_timeouts_mean_no_deadline() {
    with_watchdog(HANG, || {
        for timeout in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let barrier = Barrier::builder(2).timeout(timeout).build().unwrap();
            assert_permutation(run_threads(2, |_| barrier.wait().unwrap()), 2);
            assert_permutation(
                run_threads(2, |_| barrier.wait_timeout(timeout).unwrap()),
                2,
            );
        }
    });
}

#[test]
fn a_timeout_expiring_during_the_action_does_not_break_the_generation() {
    with_watchdog(HANG, || {
        let (entered_tx, entered) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let go_rx = Mutex::new(go_rx);
        let barrier = Barrier::builder(2)
            .action(move || {
                entered_tx.send(()).unwrap();
                go_rx.lock().unwrap().recv().unwrap();
            })
            .build()
            .unwrap();
        thread::scope(|s| {
            let early = s.spawn(|| barrier.wait_timeout(Duration::from_millis(20)));
            eventually(HANG, "early waiter inside", || barrier.n_waiting() == 1);
            let last = s.spawn(|| barrier.wait());
            entered.recv().unwrap();
            // The early waiter's deadline passes while the action runs.
            thread::sleep(Duration::from_millis(60));
            go.send(()).unwrap();
            assert_eq!(early.join().unwrap(), Ok(0));
            assert_eq!(last.join().unwrap(), Ok(1));
        });
        assert!(!barrier.is_broken());
    });
}

#[test]
fn single_party_never_blocks() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let barrier = Barrier::builder(1)
        .action(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(barrier.wait(), Ok(0));
        assert_eq!(barrier.wait_timeout(Duration::ZERO), Ok(0));
    }
    assert_eq!(runs.load(Ordering::Relaxed), 10);
}

#[test]
fn debug_is_like_pythons_repr() {
    let barrier = Barrier::new(3);
    assert_eq!(format!("{barrier:?}"), "Barrier(waiters=0/3)");
    with_watchdog(HANG, move || {
        thread::scope(|s| {
            let waiter = s.spawn(|| barrier.wait());
            eventually(HANG, "one waiter", || barrier.n_waiting() == 1);
            assert_eq!(format!("{barrier:?}"), "Barrier(waiters=1/3)");
            barrier.abort();
            assert!(waiter.join().unwrap().is_err());
            assert_eq!(format!("{barrier:?}"), "Barrier(broken)");
        });
    });
}

#[test]
fn action_panic_breaks_the_barrier_and_resumes_in_the_last_arriver() {
    with_watchdog(HANG, || {
        let barrier = Barrier::builder(3)
            .action(|| -> () { panic!("action failed") })
            .build()
            .unwrap();
        let results = run_threads(3, |_| catch_unwind(AssertUnwindSafe(|| barrier.wait())));
        let mut panicked = 0;
        for result in results {
            match result {
                Err(panic) => {
                    panicked += 1;
                    assert_eq!(panic.downcast_ref::<&str>(), Some(&"action failed"));
                }
                Ok(waited) => assert_eq!(waited.unwrap_err().cause(), BrokenCause::ActionPanicked),
            }
        }
        assert_eq!(panicked, 1, "exactly the last arriver resumes the panic");
        assert!(barrier.is_broken());
        assert_eq!(
            barrier.wait().unwrap_err().cause(),
            BrokenCause::ActionPanicked
        );
        barrier.reset();
        assert!(!barrier.is_broken());
    });
}

#[test]
fn action_calling_its_own_barrier_panics_instead_of_deadlocking() {
    for operation in ["wait", "reset", "abort"] {
        with_watchdog(HANG, move || {
            let slot: Arc<Mutex<Option<Barrier>>> = Arc::new(Mutex::new(None));
            let inner = Arc::clone(&slot);
            let barrier = Barrier::builder(1)
                .action(move || {
                    let me = inner.lock().unwrap().clone().unwrap();
                    match operation {
                        "wait" => drop(me.wait()),
                        "reset" => me.reset(),
                        _ => me.abort(),
                    }
                })
                .build()
                .unwrap();
            *slot.lock().unwrap() = Some(barrier.clone());
            let panic = catch_unwind(AssertUnwindSafe(|| barrier.wait())).unwrap_err();
            let message = panic.downcast_ref::<String>().expect("a formatted message");
            assert!(
                message.contains(&format!("Barrier::{operation}"))
                    && message.contains("own action"),
                "unclear message: {message}"
            );
            assert_eq!(
                barrier.wait().unwrap_err().cause(),
                BrokenCause::ActionPanicked
            );
            slot.lock().unwrap().take();
        });
    }
}

#[test]
fn n_waiting_counts_the_filling_generation_and_is_parties_inside_the_action() {
    with_watchdog(HANG, || {
        let (seen_tx, seen) = mpsc::channel();
        let slot: Arc<Mutex<Option<Barrier>>> = Arc::new(Mutex::new(None));
        let inner = Arc::clone(&slot);
        let barrier = Barrier::builder(3)
            .action(move || {
                if let Some(me) = inner.lock().unwrap().as_ref() {
                    seen_tx.send(me.n_waiting()).unwrap();
                }
            })
            .build()
            .unwrap();
        *slot.lock().unwrap() = Some(barrier.clone());
        thread::scope(|s| {
            assert_eq!(barrier.n_waiting(), 0);
            let a = s.spawn(|| barrier.wait());
            eventually(HANG, "one waiter", || barrier.n_waiting() == 1);
            let b = s.spawn(|| barrier.wait());
            eventually(HANG, "two waiters", || barrier.n_waiting() == 2);
            barrier.wait().unwrap();
            a.join().unwrap().unwrap();
            b.join().unwrap().unwrap();
        });
        assert_eq!(seen.recv().unwrap(), 3);
        assert_eq!(barrier.n_waiting(), 0);
        slot.lock().unwrap().take();
    });
}

#[test]
fn arrivals_during_the_action_join_the_next_generation() {
    with_watchdog(HANG, || {
        let (entered_tx, entered) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let go_rx = Mutex::new(go_rx);
        let barrier = Barrier::builder(2)
            .action(move || {
                entered_tx.send(()).unwrap();
                go_rx.lock().unwrap().recv().unwrap();
            })
            .build()
            .unwrap();
        thread::scope(|s| {
            let (late_tx, late_rx) = mpsc::channel();
            let first = s.spawn(|| barrier.wait());
            eventually(HANG, "first waiter inside", || barrier.n_waiting() == 1);
            let second = s.spawn(|| barrier.wait());
            entered.recv().unwrap();
            let late_barrier = &barrier;
            let late = s.spawn(move || late_tx.send(late_barrier.wait()).unwrap());
            // The late arrival is not counted into the full generation, and not released.
            for _ in 0..1000 {
                thread::yield_now();
            }
            assert_eq!(barrier.n_waiting(), 2);
            assert!(
                late_rx.try_recv().is_err(),
                "a late arrival passed a full generation"
            );
            go.send(()).unwrap();
            assert_eq!(first.join().unwrap(), Ok(0));
            assert_eq!(second.join().unwrap(), Ok(1));
            // It now waits alone in the next generation, with index 0.
            eventually(HANG, "late arrival joined", || barrier.n_waiting() == 1);
            assert!(late_rx.try_recv().is_err());
            let closer = s.spawn(|| barrier.wait());
            entered.recv().unwrap();
            go.send(()).unwrap();
            assert_eq!(closer.join().unwrap(), Ok(1));
            late.join().unwrap();
            assert_eq!(late_rx.recv().unwrap(), Ok(0));
        });
    });
}

#[test]
fn arrivals_during_a_reset_wait_for_the_old_waiters_and_start_afresh() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(2);
        thread::scope(|s| {
            let old = s.spawn(|| barrier.wait());
            eventually(HANG, "old waiter inside", || barrier.n_waiting() == 1);
            barrier.reset();
            assert_eq!(old.join().unwrap().unwrap_err().cause(), BrokenCause::Reset);
            let results = run_threads(2, |_| barrier.wait().unwrap());
            assert_permutation(results, 2);
        });
    });
}

#[test]
fn more_callers_than_parties_form_successive_generations() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(3);
        let mut indices = run_threads(9, |_| barrier.wait().unwrap());
        indices.sort_unstable();
        assert_eq!(indices, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    });
}

#[test]
fn zero_parties_is_an_error() {
    assert_eq!(
        Barrier::builder(0).build().unwrap_err(),
        BuildError::ZeroParties
    );
    let panic = catch_unwind(|| Barrier::new(0)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("at least one party"), "{message}");
}

#[test]
fn clones_share_one_barrier() {
    with_watchdog(HANG, || {
        let barrier = Barrier::new(2);
        let clone = barrier.clone();
        thread::scope(|s| {
            let other = s.spawn(move || clone.wait());
            let mine = barrier.wait().unwrap();
            assert_eq!(mine + other.join().unwrap().unwrap(), 1);
        });
    });
}

#[test]
fn errors_say_why() {
    let barrier = Barrier::new(2);
    barrier.abort();
    let error = barrier.wait().unwrap_err();
    assert_eq!(error.cause(), BrokenCause::Aborted);
    assert_eq!(error.to_string(), "barrier is broken: it was aborted");
    let as_std: &dyn std::error::Error = &error;
    assert!(as_std.source().is_none());
    assert_eq!(
        BuildError::ZeroParties.to_string(),
        "a barrier needs at least one party (parties == 0)"
    );
}

#[test]
fn waits_make_earlier_writes_visible() {
    with_watchdog(HANG, || {
        let slots: Vec<AtomicUsize> = (0..N).map(|_| AtomicUsize::new(0)).collect();
        let barrier = Barrier::new(N);
        run_threads(N, |me| {
            for round in 1..=200 {
                slots[me].store(round, Ordering::Relaxed);
                barrier.wait().unwrap();
                for slot in &slots {
                    assert!(slot.load(Ordering::Relaxed) >= round);
                }
                barrier.wait().unwrap();
            }
        });
    });
}
