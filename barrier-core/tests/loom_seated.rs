//! loom models of the seated algorithms (tree with fan-in 2, dissemination) with 2-3 seats:
//! arrival, completion, release, and abort, reset and timeouts racing them.
//!
//! Run like `loom.rs`: `RUSTFLAGS="--cfg lockstep_loom" cargo test -p barrier-core --test
//! loom_seated --release`.
#![cfg(lockstep_loom)]

use std::time::Duration;

use barrier_core::{
    Algorithm, Barrier, BarrierBuilder, BrokenBarrierError, BrokenCause, Seat, WaitPolicy,
};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

type Outcome = Result<usize, BrokenBarrierError>;

const LONG: Duration = Duration::from_secs(3600);
const ALGORITHMS: [Algorithm; 2] = [Algorithm::Tree { fan_in: 2 }, Algorithm::Dissemination];

fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

fn assert_one_outcome(outcomes: &[Outcome]) {
    if outcomes.iter().all(Result::is_ok) {
        let mut indices: Vec<usize> = outcomes.iter().map(|o| *o.as_ref().unwrap()).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..outcomes.len()).collect::<Vec<_>>());
    } else {
        assert!(
            outcomes.iter().all(Result::is_err),
            "mixed outcomes: {outcomes:?}"
        );
    }
}

/// Spawns a loom thread that waits through `seat` with `timeout`, then returns the outcome and
/// keeps the seat alive until joined (dropping a seat aborts the barrier).
fn spawn_wait(seat: Seat, timeout: Option<Duration>) -> thread::JoinHandle<(Outcome, Seat)> {
    thread::spawn(move || {
        let outcome = match timeout {
            Some(timeout) => seat.wait_timeout(timeout),
            None => seat.wait(),
        };
        (outcome, seat)
    })
}

/// Two seats of `builder` (parking waiters) race an abort from a third thread: seat 1 waits
/// without a timeout, seat 0 waits with `my_wait`. Returns the barrier, both outcomes (seat
/// 0's first) and the seats, which the caller drops after its checks (a dropped seat aborts the
/// barrier).
fn two_seats_racing_an_abort(
    builder: BarrierBuilder,
    my_wait: impl FnOnce(&Seat) -> Outcome,
) -> (Barrier, [Outcome; 2], [Seat; 2]) {
    let (barrier, seats) = builder
        .wait_policy(WaitPolicy::Park)
        .build_seated()
        .unwrap();
    let mut seats = seats.into_iter();
    let (mine, theirs) = (seats.next().unwrap(), seats.next().unwrap());
    let waiter = spawn_wait(theirs, None);
    let aborter = {
        let barrier = barrier.clone();
        thread::spawn(move || barrier.abort())
    };
    let my_outcome = my_wait(&mine);
    aborter.join().unwrap();
    let (their_outcome, theirs) = waiter.join().unwrap();
    (barrier, [my_outcome, their_outcome], [mine, theirs])
}

#[test]
fn three_seats_release_once_after_the_action() {
    for algorithm in ALGORITHMS {
        model(2, move || {
            let runs = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&runs);
            let (_barrier, seats) = Barrier::builder(3)
                .algorithm(algorithm)
                .wait_policy(WaitPolicy::Park)
                .action(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .build_seated()
                .unwrap();
            let mut seats = seats.into_iter();
            let last = seats.next().unwrap();
            let handles: Vec<_> = seats
                .map(|seat| {
                    let runs = Arc::clone(&runs);
                    thread::spawn(move || {
                        let outcome = seat.wait();
                        assert_eq!(runs.load(Ordering::Relaxed), 1, "action before release");
                        (outcome, seat)
                    })
                })
                .collect();
            let mut outcomes = vec![last.wait()];
            let kept: Vec<Seat> = handles
                .into_iter()
                .map(|h| {
                    let (outcome, seat) = h.join().unwrap();
                    outcomes.push(outcome);
                    seat
                })
                .collect();
            assert!(outcomes.iter().all(Result::is_ok));
            assert_one_outcome(&outcomes);
            assert_eq!(runs.load(Ordering::Relaxed), 1);
            drop(kept);
        });
    }
}

#[test]
fn abort_racing_two_seats() {
    for algorithm in ALGORITHMS {
        model(3, move || {
            let builder = Barrier::builder(2).algorithm(algorithm);
            let (_barrier, outcomes, seats) = two_seats_racing_an_abort(builder, Seat::wait);
            assert_one_outcome(&outcomes);
            if let Err(error) = outcomes[0] {
                assert_eq!(error.cause(), BrokenCause::Aborted);
            }
            drop(seats);
        });
    }
}

#[test]
fn timeout_racing_two_seats() {
    for algorithm in ALGORITHMS {
        model(3, move || {
            let (barrier, seats) = Barrier::builder(2)
                .algorithm(algorithm)
                .wait_policy(WaitPolicy::Park)
                .build_seated()
                .unwrap();
            let mut seats = seats.into_iter();
            let (mine, theirs) = (seats.next().unwrap(), seats.next().unwrap());
            let waiter = spawn_wait(theirs, Some(LONG));
            let my_outcome = mine.wait();
            let (their_outcome, theirs) = waiter.join().unwrap();
            assert_one_outcome(&[my_outcome, their_outcome]);
            assert_eq!(my_outcome.is_err(), barrier.is_broken());
            drop((mine, theirs));
        });
    }
}

#[test]
fn reset_racing_two_seats_then_reuse() {
    for algorithm in ALGORITHMS {
        model(2, move || {
            let (barrier, seats) = Barrier::builder(2)
                .algorithm(algorithm)
                .wait_policy(WaitPolicy::Park)
                .build_seated()
                .unwrap();
            let mut seats = seats.into_iter();
            let (mine, theirs) = (seats.next().unwrap(), seats.next().unwrap());
            let waiter = thread::spawn(move || {
                let first = theirs.wait_timeout(LONG);
                let second = theirs.wait_timeout(LONG);
                (first, second, theirs)
            });
            barrier.reset();
            let my_first = mine.wait_timeout(LONG);
            let my_second = mine.wait_timeout(LONG);
            let (their_first, their_second, theirs) = waiter.join().unwrap();
            // Each released generation returns index 0 to one seat and 1 to the other; a
            // generation with mixed outcomes would unbalance the indices. (Positions do not pair
            // up: a wait failed by the reset shifts one seat's later waits by a generation.)
            let outcomes = [my_first, my_second, their_first, their_second];
            let zeros = outcomes.iter().filter(|o| **o == Ok(0)).count();
            let ones = outcomes.iter().filter(|o| **o == Ok(1)).count();
            assert_eq!(zeros, ones, "unpaired generation: {outcomes:?}");
            drop((mine, theirs));
        });
    }
}

#[test]
fn abort_racing_the_action_of_two_seats() {
    for algorithm in ALGORITHMS {
        model(2, move || {
            let runs = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&runs);
            let builder = Barrier::builder(2).algorithm(algorithm).action(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            });
            let (barrier, outcomes, seats) = two_seats_racing_an_abort(builder, Seat::wait);
            assert_one_outcome(&outcomes);
            // Released generations ran the action once; an aborted one never completed, or
            // (abort waits for a running action) was released by it.
            let ran = runs.load(Ordering::Relaxed);
            assert_eq!(ran, usize::from(outcomes[0].is_ok()), "{outcomes:?}");
            assert!(
                barrier.is_broken(),
                "abort always leaves the barrier broken"
            );
            drop(seats);
        });
    }
}

#[test]
fn abort_racing_a_timeout_of_two_seats() {
    // The timeout claims the other seat's place and records the failure; an abort that looks
    // in between sees every seat past that generation and must not fail the next one first
    // (that would leave the claimed seat waiting for a record that never comes).
    for algorithm in ALGORITHMS {
        model(2, move || {
            let builder = Barrier::builder(2).algorithm(algorithm);
            let (barrier, outcomes, seats) =
                two_seats_racing_an_abort(builder, |seat| seat.wait_timeout(Duration::ZERO));
            assert_one_outcome(&outcomes);
            assert!(barrier.is_broken());
            drop(seats);
        });
    }
}

#[test]
fn timeout_racing_three_seats() {
    // Three seats (fan-in 2: two tree levels; dissemination: one round, two partners each),
    // one of them with a timeout that loom fires at the earliest moment it would block.
    for algorithm in ALGORITHMS {
        model(2, move || {
            let (barrier, seats) = Barrier::builder(3)
                .algorithm(algorithm)
                .wait_policy(WaitPolicy::Park)
                .build_seated()
                .unwrap();
            let mut seats = seats.into_iter();
            let mine = seats.next().unwrap();
            let waiters: Vec<_> = seats.map(|seat| spawn_wait(seat, None)).collect();
            let mut outcomes = vec![mine.wait_timeout(Duration::ZERO)];
            let kept: Vec<Seat> = waiters
                .into_iter()
                .map(|h| {
                    let (outcome, seat) = h.join().unwrap();
                    outcomes.push(outcome);
                    seat
                })
                .collect();
            assert_one_outcome(&outcomes);
            assert_eq!(outcomes[0].is_err(), barrier.is_broken());
            drop((mine, kept));
        });
    }
}

/// A 2-seat barrier of `algorithm` that parks, and its seats.
fn two_parked_seats(algorithm: Algorithm) -> (Barrier, Seat, Seat) {
    let (barrier, mut seats) = Barrier::builder(2)
        .algorithm(algorithm)
        .wait_policy(WaitPolicy::Park)
        .build_seated()
        .unwrap();
    let second = seats.pop().unwrap();
    let first = seats.pop().unwrap();
    (barrier, first, second)
}

#[test]
fn a_seats_arrive_then_wait_racing_a_timeout() {
    for algorithm in ALGORITHMS {
        model(2, move || {
            let (barrier, first, second) = two_parked_seats(algorithm);
            let other = thread::spawn(move || {
                let outcome = second
                    .arrive()
                    .and_then(|arrival| arrival.wait_timeout(Duration::from_millis(1)));
                (outcome, second)
            });
            let mine = first.arrive().and_then(|arrival| arrival.wait());
            let (theirs, _second) = other.join().unwrap();
            assert_one_outcome(&[mine, theirs]);
            let ended = if barrier.is_broken() { 0 } else { 1 };
            assert_eq!(barrier.generation(), ended, "{algorithm:?}");
        });
    }
}

#[test]
fn a_seats_arrival_racing_an_abort() {
    for algorithm in ALGORITHMS {
        model(2, move || {
            let (barrier, first, second) = two_parked_seats(algorithm);
            let aborter = {
                let barrier = barrier.clone();
                thread::spawn(move || barrier.abort())
            };
            let other = thread::spawn(move || {
                let outcome = second.arrive().and_then(|arrival| arrival.wait());
                (outcome, second)
            });
            let mine = first.arrive().and_then(|arrival| arrival.wait());
            aborter.join().unwrap();
            let (theirs, _second) = other.join().unwrap();
            assert_one_outcome(&[mine, theirs]);
            assert!(barrier.is_broken(), "{algorithm:?}");
        });
    }
}

/// A tree seat leaves while the other waits in the same generation and then alone: both
/// generations are released, and the second has one party.
#[test]
fn a_tree_seat_leaving_while_the_other_waits() {
    model(3, || {
        let (barrier, first, second) = two_parked_seats(Algorithm::Tree { fan_in: 2 });
        let leaver = thread::spawn(move || second.leave().is_ok());
        let together = first.wait();
        assert!(leaver.join().unwrap(), "the leave failed");
        assert!(together.is_ok(), "{together:?}");
        assert_eq!(first.wait(), Ok(0), "alone after the departure");
        assert_eq!((barrier.parties(), barrier.generation()), (1, 2));
    });
}

/// A tree seat leaves while the other waits and a third thread aborts: one outcome for the
/// generation, and after a reset the seat that stayed waits alone, whichever generation the
/// abort failed.
#[test]
fn a_tree_seat_leaving_racing_an_abort() {
    model(2, || {
        let (barrier, first, second) = two_parked_seats(Algorithm::Tree { fan_in: 2 });
        let aborter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.abort())
        };
        let leaver = thread::spawn(move || match second.leave() {
            Ok(()) => Ok(0),
            Err(barrier_core::LeaveError::Broken(error)) => Err(error),
            Err(other) => panic!("{other:?}"),
        });
        let mine = first.wait();
        aborter.join().unwrap();
        let theirs = leaver.join().unwrap();
        assert_eq!(mine.is_ok(), theirs.is_ok(), "{mine:?} / {theirs:?}");
        barrier.reset();
        assert_eq!(first.wait(), Ok(0), "alone after the departure");
        assert_eq!(barrier.parties(), 1);
    });
}
