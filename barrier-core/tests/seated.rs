//! The Python-exact semantics through seats, for every algorithm: the action, its panic,
//! timeouts, reset, abort, `n_waiting`, one outcome per generation; plus what is specific to
//! seats (index permutation with the completer last, `Barrier::wait` refused, drop aborts).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use barrier_core::{
    Algorithm, Barrier, BarrierBuilder, BrokenCause, BuildError, Placement, Seat, WaitPolicy,
};
use common::{eventually, with_watchdog, HANG};

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 4 },
    Algorithm::Dissemination,
    Algorithm::Central,
    Algorithm::Auto,
];

fn seated(builder: BarrierBuilder, algorithm: Algorithm) -> (Barrier, Vec<Seat>) {
    builder.algorithm(algorithm).build_seated().unwrap()
}

/// Runs `f(seat)` on one scoped thread per seat (each seat moves to its thread and comes back);
/// results in seat order.
fn run_seats<R: Send>(seats: &mut Vec<Seat>, f: impl Fn(&Seat) -> R + Sync) -> Vec<R> {
    let (results, returned): (Vec<R>, Vec<Seat>) = thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = std::mem::take(seats)
            .into_iter()
            .map(|seat| s.spawn(move || (f(&seat), seat)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).unzip()
    });
    *seats = returned;
    results
}

/// Like [`run_seats`] but moves each seat into its thread (so `Seat: Send` is what is used).
fn run_owned<R: Send>(seats: Vec<Seat>, f: impl Fn(Seat) -> R + Sync) -> Vec<R> {
    thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = seats
            .into_iter()
            .map(|seat| s.spawn(move || f(seat)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

#[test]
fn seats_are_numbered_and_indices_are_permutations_with_the_completer_last() {
    for algorithm in ALGORITHMS {
        for parties in [1, 2, 3, 5, 7] {
            with_watchdog(HANG, move || {
                let runner = Arc::new(Mutex::new(None));
                let recorded = Arc::clone(&runner);
                let (_barrier, mut seats) = seated(
                    Barrier::builder(parties)
                        .action(move || *recorded.lock().unwrap() = Some(thread::current().id())),
                    algorithm,
                );
                assert!(seats.iter().enumerate().all(|(i, seat)| seat.index() == i));
                for _ in 0..50 {
                    let results = run_seats(&mut seats, |seat| {
                        (seat.wait().unwrap(), thread::current().id())
                    });
                    assert_eq!(
                        sorted(results.iter().map(|r| r.0).collect()),
                        (0..parties).collect::<Vec<_>>()
                    );
                    let last = results.iter().find(|r| r.0 == parties - 1).unwrap().1;
                    assert_eq!(
                        runner.lock().unwrap().take(),
                        Some(last),
                        "{algorithm:?}: completer runs the action"
                    );
                }
            });
        }
    }
}

#[test]
fn the_action_runs_once_before_any_seat_returns() {
    for algorithm in ALGORITHMS {
        for policy in [WaitPolicy::Adaptive, WaitPolicy::Spin, WaitPolicy::Park] {
            with_watchdog(HANG, move || {
                let runs = Arc::new(AtomicUsize::new(0));
                let counter = Arc::clone(&runs);
                let (_barrier, mut seats) = seated(
                    Barrier::builder(4).wait_policy(policy).action(move || {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }),
                    algorithm,
                );
                let slots: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
                run_seats(&mut seats, |seat| {
                    for generation in 1..=300 {
                        slots[seat.index()].store(generation, Ordering::Relaxed);
                        seat.wait().unwrap();
                        assert_eq!(runs.load(Ordering::Relaxed), generation, "{algorithm:?}");
                        assert!(slots
                            .iter()
                            .all(|s| s.load(Ordering::Relaxed) >= generation));
                    }
                });
            });
        }
    }
}

#[test]
fn abort_fails_waiting_and_later_seats_until_reset() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, mut seats) = seated(Barrier::builder(4), algorithm);
            let results = run_seats(&mut seats, |seat| {
                if seat.index() == 0 {
                    eventually(HANG, "three seats wait", || barrier.n_waiting() == 3);
                    barrier.abort();
                    seat.wait()
                } else {
                    seat.wait()
                }
            });
            for result in results {
                assert_eq!(
                    result.unwrap_err().cause(),
                    BrokenCause::Aborted,
                    "{algorithm:?}"
                );
            }
            assert!(barrier.is_broken());
            barrier.reset();
            assert!(!barrier.is_broken());
            let indices = run_seats(&mut seats, |seat| seat.wait().unwrap());
            assert_eq!(sorted(indices), [0, 1, 2, 3], "{algorithm:?} after reset");
        });
    }
}

#[test]
fn reset_fails_only_the_waiting_seats() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, mut seats) = seated(Barrier::builder(3), algorithm);
            let results = run_seats(&mut seats, |seat| {
                if seat.index() == 2 {
                    eventually(HANG, "two seats wait", || barrier.n_waiting() == 2);
                    barrier.reset();
                    None
                } else {
                    Some(seat.wait())
                }
            });
            for result in results.into_iter().flatten() {
                assert_eq!(
                    result.unwrap_err().cause(),
                    BrokenCause::Reset,
                    "{algorithm:?}"
                );
            }
            assert!(!barrier.is_broken());
            // Seat 2 was not waiting: its next wait simply joins the next generation.
            let indices = run_seats(&mut seats, |seat| seat.wait().unwrap());
            assert_eq!(sorted(indices), [0, 1, 2], "{algorithm:?}");
            // A reset with nobody inside has no visible effect.
            barrier.reset();
            assert_eq!(
                sorted(run_seats(&mut seats, |seat| seat.wait().unwrap())),
                [0, 1, 2]
            );
        });
    }
}

#[test]
fn a_timeout_breaks_the_barrier_for_every_seat() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, mut seats) = seated(Barrier::builder(3), algorithm);
            let results = run_seats(&mut seats, |seat| match seat.index() {
                0 => seat.wait(),
                1 => {
                    eventually(HANG, "seat 0 waits", || barrier.n_waiting() >= 1);
                    seat.wait_timeout(Duration::from_millis(10))
                }
                // Arrives only after the break.
                _ => {
                    eventually(HANG, "the barrier broke", || barrier.is_broken());
                    seat.wait()
                }
            });
            for result in results {
                assert_eq!(
                    result.unwrap_err().cause(),
                    BrokenCause::TimedOut,
                    "{algorithm:?}"
                );
            }
            assert!(barrier.is_broken());
            barrier.reset();
            assert_eq!(
                sorted(run_seats(&mut seats, |seat| seat.wait().unwrap())),
                [0, 1, 2]
            );
        });
    }
}

#[test]
fn zero_timeout_breaks_unless_the_seat_completes() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, seats) = seated(Barrier::builder(1), algorithm);
            assert_eq!(
                seats[0].wait_timeout(Duration::ZERO),
                Ok(0),
                "{algorithm:?}"
            );
            drop(seats);
            let (barrier2, mut seats) = seated(Barrier::builder(2), algorithm);
            let results = run_seats(&mut seats, |seat| seat.wait_timeout(Duration::ZERO));
            // Whoever does not complete breaks the barrier at once, unless both arrived in time.
            assert!(
                results.iter().all(Result::is_ok) || results.iter().all(Result::is_err),
                "{algorithm:?}: {results:?}"
            );
            drop((barrier, barrier2));
        });
    }
}

#[test]
fn a_timeout_during_the_action_is_ignored() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (entered_tx, entered) = mpsc::channel();
            let (go, go_rx) = mpsc::channel::<()>();
            let go_rx = Mutex::new(go_rx);
            let (barrier, seats) = seated(
                Barrier::builder(2)
                    .timeout(Duration::from_millis(20))
                    .action(move || {
                        entered_tx.send(()).unwrap();
                        go_rx.lock().unwrap().recv().unwrap();
                    }),
                algorithm,
            );
            thread::scope(|s| {
                let waits: Vec<_> = seats
                    .into_iter()
                    .map(|seat| s.spawn(move || seat.wait()))
                    .collect();
                entered.recv().unwrap();
                assert_eq!(barrier.n_waiting(), 2, "parties inside the action");
                thread::sleep(Duration::from_millis(60));
                go.send(()).unwrap();
                let results: Vec<_> = waits.into_iter().map(|w| w.join().unwrap()).collect();
                assert_eq!(
                    sorted(results.into_iter().map(Result::unwrap).collect()),
                    [0, 1],
                    "{algorithm:?}"
                );
            });
        });
    }
}

/// A seat's wait, with only the cause of an error.
type Outcome = Result<usize, BrokenCause>;

/// Three seats wait twice; `during` runs on the test thread while the first generation's action
/// runs (the action sleeps 50 ms after announcing itself), and the seats' second waits start
/// only after it returned. Returns both outcomes of every seat, and whether the action had
/// finished when `during` returned.
fn around_the_action(
    algorithm: Algorithm,
    during: impl FnOnce(&Barrier),
) -> (Vec<(Outcome, Outcome)>, bool) {
    let (entered_tx, entered) = mpsc::channel();
    let entered_tx = Mutex::new(entered_tx);
    let finished = Arc::new(AtomicUsize::new(0));
    let finished_in_action = Arc::clone(&finished);
    let (barrier, seats) = seated(
        Barrier::builder(3).action(move || {
            entered_tx.lock().unwrap().send(()).unwrap();
            thread::sleep(Duration::from_millis(50));
            finished_in_action.fetch_add(1, Ordering::SeqCst);
        }),
        algorithm,
    );
    let gate = std::sync::Barrier::new(4);
    thread::scope(|s| {
        let gate = &gate;
        let waits: Vec<_> = seats
            .into_iter()
            .map(|seat| {
                s.spawn(move || {
                    let first = seat.wait().map_err(|e| e.cause());
                    gate.wait();
                    let second = seat.wait().map_err(|e| e.cause());
                    ((first, second), seat)
                })
            })
            .collect();
        entered.recv().unwrap();
        during(&barrier);
        let action_done = finished.load(Ordering::SeqCst) >= 1;
        gate.wait();
        let (outcomes, seats): (Vec<_>, Vec<Seat>) =
            waits.into_iter().map(|w| w.join().unwrap()).unzip();
        drop(seats);
        (outcomes, action_done)
    })
}

#[test]
fn abort_during_the_action_waits_for_it_and_breaks_the_next_generation() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (outcomes, action_done) = around_the_action(algorithm, Barrier::abort);
            assert!(
                action_done,
                "{algorithm:?}: abort returned during the action"
            );
            let firsts: Vec<usize> = outcomes.iter().map(|(first, _)| first.unwrap()).collect();
            assert_eq!(
                sorted(firsts),
                [0, 1, 2],
                "{algorithm:?}: the action decides"
            );
            for (_, second) in outcomes {
                assert_eq!(second, Err(BrokenCause::Aborted), "{algorithm:?}");
            }
        });
    }
}

#[test]
fn reset_during_the_action_waits_for_it_and_fails_nobody() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (outcomes, action_done) = around_the_action(algorithm, Barrier::reset);
            assert!(
                action_done,
                "{algorithm:?}: reset returned during the action"
            );
            let (firsts, seconds): (Vec<_>, Vec<_>) = outcomes.into_iter().unzip();
            for outcomes in [firsts, seconds] {
                let indices: Vec<usize> = outcomes.into_iter().map(Result::unwrap).collect();
                assert_eq!(sorted(indices), [0, 1, 2], "{algorithm:?}");
            }
        });
    }
}

#[test]
fn an_action_panic_resumes_in_the_completer_and_breaks_the_others() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, mut seats) = seated(
                Barrier::builder(3).action(|| -> () { panic!("boom") }),
                algorithm,
            );
            let results = run_seats(&mut seats, |seat| {
                catch_unwind(AssertUnwindSafe(|| seat.wait()))
            });
            let panicked = results.iter().filter(|r| r.is_err()).count();
            assert_eq!(panicked, 1, "{algorithm:?}");
            for result in results.into_iter().flatten() {
                assert_eq!(result.unwrap_err().cause(), BrokenCause::ActionPanicked);
            }
            assert!(barrier.is_broken());
            barrier.reset();
            assert!(!barrier.is_broken());
        });
    }
}

#[test]
fn an_action_calling_its_barrier_panics() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let slot: Arc<Mutex<Option<Barrier>>> = Arc::default();
            let inner = Arc::clone(&slot);
            let (barrier, seats) = seated(
                Barrier::builder(1).action(move || {
                    let me = inner.lock().unwrap().clone().unwrap();
                    me.reset();
                }),
                algorithm,
            );
            *slot.lock().unwrap() = Some(barrier.clone());
            let panic = catch_unwind(AssertUnwindSafe(|| seats[0].wait())).unwrap_err();
            let message = panic.downcast_ref::<String>().unwrap();
            assert!(message.contains("own action"), "{algorithm:?}: {message}");
            slot.lock().unwrap().take();
        });
    }
}

#[test]
fn anonymous_wait_on_a_scalable_seated_barrier_is_refused() {
    for algorithm in [Algorithm::Tree { fan_in: 2 }, Algorithm::Dissemination] {
        let (barrier, _seats) = seated(Barrier::builder(2), algorithm);
        let panic = catch_unwind(AssertUnwindSafe(|| barrier.wait())).unwrap_err();
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or_default()
            .to_owned()
            + panic.downcast_ref::<String>().map_or("", String::as_str);
        assert!(
            message.contains("wait through the thread's Seat"),
            "{message}"
        );
    }
    // Central seats share the anonymous path, which stays usable.
    let (barrier, seats) = seated(Barrier::builder(2), Algorithm::Central);
    with_watchdog(HANG, move || {
        thread::scope(|s| {
            let mut seats = seats.into_iter();
            let (first, _second_kept_alive) = (seats.next().unwrap(), seats.next().unwrap());
            let seat = s.spawn(move || first.wait());
            assert!(barrier.wait().is_ok());
            assert!(seat.join().unwrap().is_ok());
        });
    });
}

#[test]
fn seated_algorithms_need_build_seated_and_a_real_fan_in() {
    for algorithm in [Algorithm::Tree { fan_in: 4 }, Algorithm::Dissemination] {
        let error = Barrier::builder(2)
            .algorithm(algorithm)
            .build()
            .unwrap_err();
        assert_eq!(error, BuildError::NeedsSeats { algorithm });
        assert!(error.to_string().contains("build_seated"));
    }
    for fan_in in [0, 1] {
        let error = Barrier::builder(4)
            .algorithm(Algorithm::Tree { fan_in })
            .build_seated()
            .unwrap_err();
        assert_eq!(error, BuildError::FanInTooSmall { fan_in });
    }
    assert_eq!(
        Barrier::builder(0).build_seated().unwrap_err(),
        BuildError::ZeroParties
    );
}

#[test]
fn dropping_a_seat_aborts_instead_of_leaving_the_others_hanging() {
    for algorithm in ALGORITHMS {
        with_watchdog(HANG, move || {
            let (barrier, seats) = seated(Barrier::builder(3), algorithm);
            let results = run_owned(seats, |seat| {
                if seat.index() == 0 {
                    eventually(HANG, "the others wait", || seat.barrier().n_waiting() == 2);
                    drop(seat);
                    None
                } else {
                    Some(seat.wait())
                }
            });
            for result in results.into_iter().flatten() {
                assert_eq!(
                    result.unwrap_err().cause(),
                    BrokenCause::Aborted,
                    "{algorithm:?}"
                );
            }
            assert!(barrier.is_broken());
        });
    }
}

#[test]
fn placement_assigns_cores_and_seats_can_pin() {
    let (_barrier, seats) = Barrier::builder(2)
        .algorithm(Algorithm::Dissemination)
        .placement(Placement::Cores(vec![0]))
        .build_seated()
        .unwrap();
    assert_eq!(
        seats.iter().map(Seat::core).collect::<Vec<_>>(),
        [Some(0), Some(0)]
    );
    let first = seats.into_iter().next().unwrap();
    thread::spawn(move || assert_eq!(first.pin(), Some(0)))
        .join()
        .unwrap();
    let (_barrier, seats) = Barrier::builder(2)
        .algorithm(Algorithm::Tree { fan_in: 2 })
        .placement(Placement::None)
        .build_seated()
        .unwrap();
    assert_eq!(seats[1].pin(), None);
}

#[test]
fn debug_shows_waiters_or_broken() {
    let (barrier, seats) = seated(Barrier::builder(2), Algorithm::Dissemination);
    assert_eq!(format!("{barrier:?}"), "Barrier(waiters=0/2)");
    assert!(format!("{:?}", seats[1]).starts_with("Seat { index: 1"));
    barrier.abort();
    assert_eq!(format!("{barrier:?}"), "Barrier(broken)");
}
