//! What barrier-core adds to Python's semantics, on the anonymous barrier and through seats of
//! every algorithm: split-phase waits (`arrive`, `Arrival`), generation numbers, and an action
//! that ends the run (`ControlFlow::Break`, `is_finished`, `BrokenCause::Finished`), with the
//! races between them and abort, reset and timeouts.

mod common;

use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier as StdBarrier};
use std::thread;
use std::time::Duration;

use barrier_core::{Algorithm, Barrier, BrokenCause};
use common::{eventually, on_seats, seated, with_watchdog, HANG};

/// Every algorithm a seat can wait through (`Central` seats wait on the anonymous barrier).
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Central,
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 4 },
    Algorithm::Dissemination,
];

/// The algorithms whose last arriver completes the generation inside `arrive` (a
/// dissemination barrier's completer is seat 0, in its wait).
const SPLIT: [Algorithm; 3] = [
    Algorithm::Central,
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 4 },
];

/// An action counting its runs.
fn counting() -> (Arc<AtomicUsize>, impl FnMut() + Send + 'static) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    (runs, move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn arrive_then_wait_is_wait_for_every_algorithm() {
    for algorithm in ALGORITHMS {
        for parties in [1, 2, 3, 5] {
            let (runs, action) = counting();
            let (barrier, seats) = seated(Barrier::builder(parties).action(action), algorithm);
            let steps = 40;
            let ran = Arc::clone(&runs);
            let indices = on_seats(seats, move |seat| {
                let mut mine = Vec::new();
                for step in 0..steps {
                    let arrival = seat.arrive().unwrap();
                    assert_eq!(arrival.generation(), step as u64, "{algorithm:?}");
                    let index = arrival.wait().unwrap();
                    // The action of this generation ran before anyone was released.
                    assert!(ran.load(Ordering::SeqCst) > step, "{algorithm:?}");
                    mine.push(index);
                }
                mine
            });
            for step in 0..steps {
                let mut of_step: Vec<usize> = indices.iter().map(|mine| mine[step]).collect();
                of_step.sort_unstable();
                assert_eq!(of_step, (0..parties).collect::<Vec<_>>(), "{algorithm:?}");
            }
            assert_eq!(
                runs.load(Ordering::SeqCst),
                steps,
                "{algorithm:?} {parties}"
            );
            assert_eq!(barrier.generation(), steps as u64, "{algorithm:?}");
        }
    }
}

#[test]
fn anonymous_arrive_counts_any_thread_in() {
    let barrier = Barrier::new(3);
    let indices = with_watchdog(HANG, {
        let barrier = barrier.clone();
        move || {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    thread::spawn(move || {
                        (0..20)
                            .map(|_| barrier.arrive().unwrap().wait().unwrap())
                            .sum::<usize>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        }
    });
    assert_eq!(
        indices,
        20 * (1 + 2),
        "indices 0, 1, 2 in each of 20 generations"
    );
    assert_eq!(barrier.generation(), 20);
}

#[test]
fn the_last_arriver_runs_the_action_inside_arrive_and_releases_the_others() {
    for algorithm in SPLIT {
        let (runs, action) = counting();
        let (_barrier, mut seats) = seated(Barrier::builder(2).action(action), algorithm);
        let first = seats.remove(0);
        let last = seats.remove(0);
        let early = first.arrive().unwrap();
        assert!(!early.is_released(), "{algorithm:?}: one of two arrived");
        let late = last.arrive().unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "{algorithm:?}: ran inside arrive"
        );
        assert!(
            late.is_released(),
            "{algorithm:?}: the completer's arrival is decided"
        );
        // Released without the first seat's wait, which then returns at once.
        assert!(early.is_released(), "{algorithm:?}");
        let (a, b) = (early.wait().unwrap(), late.wait().unwrap());
        assert_eq!(
            (a, b),
            (0, 1),
            "{algorithm:?}: the completer gets parties - 1"
        );
    }
}

#[test]
fn dissemination_arrive_signals_and_the_wait_finishes_the_rounds() {
    for parties in [2, 5, 17] {
        let (runs, action) = counting();
        let (barrier, seats) = seated(
            Barrier::builder(parties).action(action),
            Algorithm::Dissemination,
        );
        let results = on_seats(seats, |seat| {
            let arrival = seat.arrive().unwrap();
            let generation = arrival.generation();
            (generation, arrival.wait().unwrap())
        });
        let mut indices: Vec<usize> = results.iter().map(|&(_, index)| index).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..parties).collect::<Vec<_>>());
        assert!(results.iter().all(|&(generation, _)| generation == 0));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "seat 0 ran it in its wait");
        assert_eq!(barrier.generation(), 1);
    }
    // Two seats, one round: both arrive before either waits, on one thread.
    let (_barrier, seats) = seated(Barrier::builder(2), Algorithm::Dissemination);
    let a = seats[0].arrive().unwrap();
    let b = seats[1].arrive().unwrap();
    assert!(
        !a.is_released(),
        "a dissemination seat finishes its rounds in its wait"
    );
    assert_eq!(a.wait().unwrap() + b.wait().unwrap(), 1);
}

/// One seat arrives and does not wait yet; `disturb` acts on the barrier; its `wait` gets
/// `cause`, the barrier recovers after a reset, and every seat meets again.
fn between_arrive_and_wait(disturb: impl Fn(&Barrier), cause: BrokenCause) {
    for algorithm in ALGORITHMS {
        let (barrier, mut seats) = seated(Barrier::builder(2), algorithm);
        let first = seats.remove(0);
        let arrival = first.arrive().unwrap();
        disturb(&barrier);
        assert!(!arrival.is_released(), "{algorithm:?}");
        let error = arrival.wait().unwrap_err();
        assert_eq!(error.cause(), cause, "{algorithm:?}");
        barrier.reset();
        seats.insert(0, first);
        let outcomes = on_seats(seats, |seat| {
            // The seat that did not arrive acknowledges the failure first.
            let mut results = Vec::new();
            for _ in 0..3 {
                results.push(seat.wait().map(|_| ()).map_err(|e| e.cause()));
            }
            results
        });
        for results in outcomes {
            let ok = results.iter().filter(|r| r.is_ok()).count();
            assert!(
                ok >= 2,
                "{algorithm:?}: met again after the reset: {results:?}"
            );
        }
    }
}

#[test]
fn abort_between_arrive_and_wait_fails_the_arrival() {
    between_arrive_and_wait(Barrier::abort, BrokenCause::Aborted);
}

#[test]
fn reset_between_arrive_and_wait_fails_the_arrival() {
    between_arrive_and_wait(Barrier::reset, BrokenCause::Reset);
}

#[test]
fn an_arrivals_timeout_breaks_the_barrier_for_everyone() {
    for algorithm in ALGORITHMS {
        let (barrier, seats) = seated(Barrier::builder(2), algorithm);
        let arrival = seats[0].arrive().unwrap();
        let error = arrival.wait_timeout(Duration::from_millis(2)).unwrap_err();
        assert_eq!(error.cause(), BrokenCause::TimedOut, "{algorithm:?}");
        assert!(barrier.is_broken());
        assert_eq!(
            seats[1].wait().unwrap_err().cause(),
            BrokenCause::TimedOut,
            "{algorithm:?}"
        );
    }
}

#[test]
fn a_dropped_arrival_waits_for_its_generation() {
    for algorithm in ALGORITHMS {
        let (barrier, seats) = seated(Barrier::builder(2), algorithm);
        let order = Arc::new(AtomicUsize::new(0));
        let results = on_seats(seats, move |seat| {
            if seat.index() == 0 {
                drop(seat.arrive().unwrap());
                // The drop returned, so the other seat arrived.
                order.load(Ordering::SeqCst)
            } else {
                thread::sleep(Duration::from_millis(5));
                order.store(1, Ordering::SeqCst);
                seat.wait().unwrap();
                1
            }
        });
        assert_eq!(results, [1, 1], "{algorithm:?}");
        assert!(barrier.generation() >= 1);
    }
}

#[test]
fn a_dropped_arrival_counts_itself_out_of_a_failed_generation() {
    let barrier = Barrier::new(2);
    let dropper = {
        let barrier = barrier.clone();
        thread::spawn(move || drop(barrier.arrive().unwrap()))
    };
    eventually(HANG, "the arrival is counted", || barrier.n_waiting() == 1);
    barrier.reset();
    dropper.join().unwrap();
    // The reset completed (the dropped arrival left), so two threads meet again.
    with_watchdog(HANG, move || {
        let other = barrier.clone();
        let t = thread::spawn(move || other.wait().unwrap());
        barrier.wait().unwrap();
        t.join().unwrap();
    });
}

#[test]
fn an_action_panic_resumes_in_the_last_arrive() {
    for algorithm in SPLIT {
        let (barrier, mut seats) = seated(
            Barrier::builder(2).action(|| -> () { panic!("action failed") }),
            algorithm,
        );
        let last = seats.remove(1);
        let early = seats[0].arrive().unwrap();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _ = last.arrive();
        }));
        assert!(panicked.is_err(), "{algorithm:?}");
        assert_eq!(
            early.wait().unwrap_err().cause(),
            BrokenCause::ActionPanicked,
            "{algorithm:?}"
        );
        assert!(barrier.is_broken());
    }
}

#[test]
fn an_action_panic_resumes_in_the_dissemination_completers_wait() {
    // Seat 0 completes a dissemination generation, and runs the action, in its wait: the
    // panic resumes there, once, and the arrival does not wait again as it unwinds.
    for parties in [2, 5] {
        let (barrier, seats) = seated(
            Barrier::builder(parties).action(|| -> () { panic!("action failed") }),
            Algorithm::Dissemination,
        );
        let outcomes = on_seats(seats, |seat| {
            let arrival = seat.arrive().unwrap();
            if seat.index() == 0 {
                let panicked = catch_unwind(AssertUnwindSafe(|| arrival.wait()));
                let message = panicked.unwrap_err();
                assert_eq!(message.downcast_ref::<&str>(), Some(&"action failed"));
                None
            } else {
                Some(arrival.wait().unwrap_err().cause())
            }
        });
        let causes: Vec<_> = outcomes.into_iter().flatten().collect();
        assert_eq!(causes, vec![BrokenCause::ActionPanicked; parties - 1]);
        assert!(barrier.is_broken());
    }
}

#[test]
fn generations_count_releases_and_reset_failures() {
    for algorithm in ALGORITHMS {
        let (barrier, seats) = seated(Barrier::builder(3), algorithm);
        assert_eq!(barrier.generation(), 0, "{algorithm:?}");
        let seats = on_seats(seats, |seat| {
            for _ in 0..7 {
                seat.wait().unwrap();
            }
            seat
        });
        assert_eq!(barrier.generation(), 7, "{algorithm:?}");
        barrier.abort();
        assert_eq!(barrier.generation(), 7, "{algorithm:?}: broken, not ended");
        barrier.reset();
        let seats = on_seats(seats, |seat| {
            seat.wait().unwrap_or_else(|_| seat.wait().unwrap());
            seat
        });
        assert_eq!(
            barrier.generation(),
            9,
            "{algorithm:?}: 7, the aborted one, 1 more"
        );
        drop(seats);
    }
}

#[test]
fn generations_widen_past_the_state_words_field() {
    // A 1-party barrier releases at every wait; 2^27 generations would take seconds, so this
    // checks the count stays exact across a checkpoint of the widening base instead.
    let barrier = Barrier::new(1);
    for expected in 1..=(1u64 << 21) + 3 {
        barrier.wait().unwrap();
        if expected % (1 << 19) == 0 || expected > 1 << 21 {
            assert_eq!(barrier.generation(), expected);
        }
    }
}

/// An action that returns `Break` at its `at`-th run.
fn finishing_at(at: usize) -> (Arc<AtomicUsize>, impl FnMut() -> ControlFlow<()> + Send) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    (runs, move || {
        if counter.fetch_add(1, Ordering::SeqCst) + 1 == at {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
}

#[test]
fn a_breaking_action_finishes_the_run_for_every_algorithm() {
    for algorithm in ALGORITHMS {
        for parties in [1, 2, 3, 4] {
            let (runs, action) = finishing_at(10);
            let (barrier, seats) = seated(Barrier::builder(parties).action(action), algorithm);
            let shared = barrier.clone();
            let steps = on_seats(seats, move |seat| {
                let mut steps = 0;
                while seat.wait().is_ok() && !shared.is_finished() {
                    steps += 1;
                }
                let after = seat.wait().unwrap_err().cause();
                (steps, after, seat)
            });
            let mut seats = Vec::new();
            for (count, after, seat) in steps {
                assert_eq!(
                    count, 9,
                    "{algorithm:?} {parties}: every seat stops together"
                );
                assert_eq!(after, BrokenCause::Finished, "{algorithm:?} {parties}");
                seats.push(seat);
            }
            assert!(barrier.is_finished() && barrier.is_broken());
            assert_eq!(runs.load(Ordering::SeqCst), 10);
            barrier.reset();
            assert!(!barrier.is_finished(), "{algorithm:?}: a reset revives it");
            let outcomes = on_seats(seats, |seat| seat.wait().is_ok());
            assert!(outcomes.iter().all(|&ok| ok), "{algorithm:?} {parties}");
            assert_eq!(runs.load(Ordering::SeqCst), 11);
        }
    }
}

#[test]
fn a_finishing_generation_is_released_to_its_arrivals() {
    for algorithm in ALGORITHMS {
        let (_, action) = finishing_at(1);
        let (barrier, seats) = seated(Barrier::builder(2).action(action), algorithm);
        let early = seats[0].arrive().unwrap();
        let late = seats[1].arrive().unwrap();
        assert!(early.wait().is_ok() && late.wait().is_ok(), "{algorithm:?}");
        assert!(barrier.is_finished(), "{algorithm:?}");
        assert_eq!(
            seats[0].arrive().unwrap_err().cause(),
            BrokenCause::Finished,
            "{algorithm:?}"
        );
    }
}

#[test]
fn finishing_while_another_times_out_has_one_outcome() {
    for algorithm in ALGORITHMS {
        for round in 0..100 {
            let (runs, action) = finishing_at(1);
            let (barrier, seats) = seated(Barrier::builder(3).action(action), algorithm);
            let start = Arc::new(StdBarrier::new(3));
            let outcomes = on_seats(seats, move |seat| {
                start.wait();
                if seat.index() == 0 {
                    seat.wait_timeout(Duration::from_micros(round % 20))
                } else {
                    seat.wait()
                }
                .map_err(|e| e.cause())
            });
            if outcomes.iter().all(Result::is_ok) {
                assert!(barrier.is_finished(), "{algorithm:?}");
                assert_eq!(runs.load(Ordering::SeqCst), 1);
            } else {
                assert!(
                    outcomes.iter().all(|o| *o == Err(BrokenCause::TimedOut)),
                    "{algorithm:?}: mixed outcomes {outcomes:?}"
                );
                assert_eq!(runs.load(Ordering::SeqCst), 0, "no action for a failed one");
                assert!(!barrier.is_finished());
            }
        }
    }
}

#[test]
fn a_seat_with_an_open_arrival_refuses_to_arrive_or_wait() {
    for algorithm in ALGORITHMS {
        let (barrier, seats) = seated(Barrier::builder(2), algorithm);
        let arrival = seats[0].arrive().unwrap();
        for operation in ["arrive", "wait"] {
            let refused = catch_unwind(AssertUnwindSafe(|| match operation {
                "arrive" => drop(seats[0].arrive()),
                _ => drop(seats[0].wait()),
            }))
            .expect_err("an open arrival refuses");
            let text = refused
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(text.contains("while its last arrival is open"), "{text}");
        }
        assert!(
            !barrier.is_broken(),
            "{algorithm:?}: a refusal changes nothing"
        );
        let other = seats[1].arrive().unwrap();
        assert_eq!(arrival.wait().unwrap() + other.wait().unwrap(), 1);
        seats[0].wait_timeout(Duration::from_millis(1)).unwrap_err();
    }
}

#[test]
fn an_arrival_dropped_by_a_panic_aborts_instead_of_waiting() {
    for algorithm in ALGORITHMS {
        let (barrier, seats) = seated(Barrier::builder(2), algorithm);
        let panicked = with_watchdog(HANG, move || {
            let panicked = catch_unwind(AssertUnwindSafe(|| {
                let _arrival = seats[0].arrive().unwrap();
                panic!("the overlapped work failed");
            }));
            (panicked.is_err(), seats)
        });
        assert!(panicked.0, "{algorithm:?}");
        assert!(
            barrier.is_broken(),
            "{algorithm:?}: aborted, not waited for"
        );
        assert_eq!(
            panicked.1[1].wait().unwrap_err().cause(),
            BrokenCause::Aborted,
            "{algorithm:?}"
        );
    }
}

#[test]
fn parties_that_leave_one_by_one_shrink_every_later_generation() {
    // Thread i arrives 3 (i + 1) times, the last time with `arrive_and_drop`.
    let threads = 4;
    let barrier = Barrier::new(threads);
    let shared = barrier.clone();
    let arrivals = with_watchdog(HANG, move || {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = shared.clone();
                thread::spawn(move || {
                    let total = 3 * (i + 1);
                    let mut mine = Vec::new();
                    for k in 0..total {
                        let arrival = if k + 1 == total {
                            barrier.arrive_and_drop()
                        } else {
                            barrier.arrive()
                        }
                        .unwrap();
                        let generation = arrival.generation();
                        mine.push((generation, arrival.wait().unwrap()));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for generation in 0..12u64 {
        let present = (0..threads)
            .filter(|i| 3 * (i + 1) as u64 > generation)
            .count();
        let mut indices: Vec<usize> = arrivals
            .iter()
            .filter(|(g, _)| *g == generation)
            .map(|&(_, index)| index)
            .collect();
        indices.sort_unstable();
        assert_eq!(
            indices,
            (0..present).collect::<Vec<_>>(),
            "generation {generation}"
        );
    }
    assert_eq!(barrier.parties(), 0);
    assert!(barrier.is_finished(), "the last party left");
    assert_eq!(barrier.generation(), 12);
    barrier.reset();
    assert!(
        barrier.is_finished(),
        "a reset does not revive a barrier with no parties"
    );
    assert_eq!(barrier.add_parties(1), Ok(1));
    barrier.reset();
    assert!(!barrier.is_finished());
    assert_eq!(barrier.wait(), Ok(0));
}

#[test]
fn added_parties_count_from_the_next_generation() {
    let barrier = Barrier::new(2);
    let first = {
        let barrier = barrier.clone();
        thread::spawn(move || barrier.wait())
    };
    eventually(HANG, "one waits in generation 0", || {
        barrier.n_waiting() == 1
    });
    assert_eq!(barrier.add_parties(1), Ok(3));
    assert_eq!(barrier.parties(), 2, "generation 0 keeps its count");
    barrier.wait().unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(barrier.parties(), 3);
    let outcomes = with_watchdog(HANG, {
        let barrier = barrier.clone();
        move || {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    thread::spawn(move || barrier.wait().unwrap())
                })
                .collect();
            let mut indices: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            indices.sort_unstable();
            indices
        }
    });
    assert_eq!(outcomes, [0, 1, 2]);
}

#[test]
fn membership_changes_on_a_broken_barrier_apply_after_the_reset() {
    let barrier = Barrier::new(2);
    barrier.abort();
    assert_eq!(barrier.add_parties(2), Ok(4));
    assert_eq!(
        barrier.arrive_and_drop().unwrap_err().cause(),
        BrokenCause::Aborted
    );
    assert_eq!(barrier.parties(), 2, "nothing applies before the reset");
    barrier.reset();
    assert_eq!(
        barrier.parties(),
        4,
        "the failed arrive_and_drop did not leave"
    );
}

#[test]
fn a_drop_in_a_failed_generation_still_leaves() {
    let barrier = Barrier::new(3);
    let dropper = {
        let barrier = barrier.clone();
        thread::spawn(move || barrier.arrive_and_drop().unwrap().wait())
    };
    eventually(HANG, "the dropper arrived", || barrier.n_waiting() == 1);
    barrier.abort();
    assert_eq!(
        dropper.join().unwrap().unwrap_err().cause(),
        BrokenCause::Aborted
    );
    barrier.reset();
    assert_eq!(barrier.parties(), 2);
    with_watchdog(HANG, move || {
        let other = barrier.clone();
        let t = thread::spawn(move || other.wait().unwrap());
        barrier.wait().unwrap();
        t.join().unwrap();
    });
}

#[test]
fn arrive_and_drop_racing_the_release_has_one_outcome() {
    for _ in 0..300 {
        let barrier = Barrier::new(2);
        let start = Arc::new(StdBarrier::new(2));
        let (dropper, waiter) = {
            let (b1, b2) = (barrier.clone(), barrier.clone());
            let (s1, s2) = (Arc::clone(&start), Arc::clone(&start));
            (
                thread::spawn(move || {
                    s1.wait();
                    b1.arrive_and_drop().unwrap().wait()
                }),
                thread::spawn(move || {
                    s2.wait();
                    b2.wait()
                }),
            )
        };
        let (a, b) = (dropper.join().unwrap(), waiter.join().unwrap());
        assert_eq!(a.unwrap() + b.unwrap(), 1, "indices 0 and 1");
        assert_eq!((barrier.parties(), barrier.generation()), (1, 1));
        assert_eq!(barrier.wait(), Ok(0), "one party left, alone");
    }
}
