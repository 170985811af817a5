//! Seats that leave for good (`Seat::leave`): a tree's seats and a central barrier's leave
//! without breaking the barrier, and the others go on with one party fewer from the next
//! generation; a dissemination barrier refuses and gives the seat back.

mod common;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier as StdBarrier};
use std::thread;
use std::time::Duration;

use barrier_core::{Algorithm, Barrier, BrokenCause, LeaveError};
use common::{
    assert_indices_with_leavers, eventually, indices_by_generation, on_seats, seated, HANG,
};

/// The algorithms whose seats can leave.
const LEAVING: [Algorithm; 4] = [
    Algorithm::Central,
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree { fan_in: 3 },
    Algorithm::Tree { fan_in: 4 },
];

#[test]
fn seats_that_leave_one_by_one_shrink_every_later_generation() {
    for algorithm in LEAVING {
        for parties in [1, 2, 3, 5, 8] {
            let what = format!("{algorithm:?}, {parties} seats");
            let runs = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&runs);
            let builder = Barrier::builder(parties).action(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            });
            let (barrier, seats) = seated(builder, algorithm);
            // Seat s waits 2 (s + 1) times, half of them split-phase, then leaves in the
            // generation after: it is present in generations 0..=2 (s + 1).
            let waits = on_seats(seats, |seat| {
                let mut mine = Vec::new();
                for k in 0..2 * (seat.index() + 1) {
                    if k % 2 == 0 {
                        let arrival = seat.arrive().unwrap();
                        let generation = arrival.generation();
                        mine.push((generation, arrival.wait().unwrap()));
                    } else {
                        let generation = seat.barrier().generation();
                        mine.push((generation, seat.wait().unwrap()));
                    }
                }
                seat.leave().unwrap();
                mine
            });
            let generations = 2 * parties as u64 + 1;
            let by_generation = indices_by_generation(waits.into_iter().flatten(), 2 * parties + 1);
            for (g, indices) in (0..).zip(&by_generation) {
                let present = (0..parties).filter(|s| 2 * (*s as u64 + 1) >= g).count();
                let leaving = (0..parties).filter(|s| 2 * (*s as u64 + 1) == g).count();
                let what = format!("{what}: generation {g}");
                assert_indices_with_leavers(indices, present, leaving, &what);
            }
            assert_eq!(runs.load(Ordering::SeqCst), generations as usize, "{what}");
            assert_eq!(barrier.parties(), 0, "{what}");
            assert!(barrier.is_finished(), "{what}: the last seat left");
            assert_eq!(barrier.generation(), generations, "{what}");
            assert_eq!(barrier.n_waiting(), 0, "{what}");
            barrier.reset();
            assert!(barrier.is_finished(), "{what}: nobody is left to revive");
        }
    }
}

#[test]
fn a_whole_subtree_can_leave() {
    // Seats 0-3 fill two leaves of a fan-in-2 tree and their parent; seat 4 and 5 go on.
    let (barrier, seats) = seated(Barrier::builder(6), Algorithm::Tree { fan_in: 2 });
    let outcomes = on_seats(seats, |seat| {
        seat.wait().unwrap();
        if seat.index() < 4 {
            return seat.leave().is_ok();
        }
        seat.wait().unwrap(); // the leavers' generation
        let mut indices = Vec::new();
        for _ in 0..50 {
            indices.push(seat.wait().unwrap());
        }
        indices.iter().all(|&i| i < 2)
    });
    assert_eq!(outcomes, [true; 6]);
    assert_eq!((barrier.parties(), barrier.generation()), (2, 52));
}

#[test]
fn the_completer_of_the_shrunk_team_gets_the_last_index_and_runs_the_action() {
    let runner = Arc::new(AtomicUsize::new(usize::MAX));
    let builder = {
        let runner = Arc::clone(&runner);
        Barrier::builder(4).action(move || {
            runner.store(CURRENT.with(|c| c.get()), Ordering::SeqCst);
        })
    };
    thread_local!(static CURRENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
    let (barrier, seats) = seated(builder, Algorithm::Tree { fan_in: 2 });
    let start = Arc::new(StdBarrier::new(3));
    let checks = on_seats(seats, move |seat| {
        CURRENT.with(|c| c.set(seat.index()));
        if seat.index() == 1 {
            return seat.leave().is_ok();
        }
        seat.wait().unwrap();
        start.wait();
        (0..200).all(|_| {
            let index = seat.wait().unwrap();
            // The next action needs this seat's next arrival: when this seat got the last
            // index, the runner is still this generation's, which must be this seat.
            index != 2 || runner.load(Ordering::SeqCst) == seat.index()
        })
    });
    assert_eq!(checks, [true; 4]);
    assert_eq!(barrier.parties(), 3);
}

#[test]
fn a_seat_leaving_a_broken_barrier_departs_after_the_reset() {
    for algorithm in LEAVING {
        for reset_first in [false, true] {
            let what = format!("{algorithm:?}, reset first: {reset_first}");
            let (barrier, mut seats) = seated(Barrier::builder(3), algorithm);
            barrier.abort();
            let leaver = seats.pop().unwrap();
            match leaver.leave() {
                Err(LeaveError::Broken(error)) => assert_eq!(error.cause(), BrokenCause::Aborted),
                other => panic!("{what}: {other:?}"),
            }
            assert_eq!(
                barrier.parties(),
                3,
                "{what}: nothing applies before the reset"
            );
            if reset_first {
                barrier.reset();
            } else {
                for seat in &seats {
                    assert!(seat.wait().is_err(), "{what}");
                }
                barrier.reset();
            }
            let outcomes = on_seats(seats, |seat| (0..20).map(|_| seat.wait().unwrap()).sum());
            assert_eq!(
                outcomes.iter().sum::<usize>(),
                20,
                "{what}: indices 0 and 1"
            );
            assert_eq!(barrier.parties(), 2, "{what}");
        }
    }
}

#[test]
fn a_seat_whose_leaving_generation_fails_has_left_after_the_reset() {
    for algorithm in LEAVING {
        let (barrier, mut seats) = seated(Barrier::builder(3), algorithm);
        let leaver = seats.pop().unwrap();
        let leaving = thread::spawn(move || leaver.leave());
        eventually(HANG, "the leaver arrived", || barrier.n_waiting() == 1);
        barrier.abort();
        match leaving.join().unwrap() {
            Err(LeaveError::Broken(error)) => assert_eq!(error.cause(), BrokenCause::Aborted),
            other => panic!("{algorithm:?}: {other:?}"),
        }
        barrier.reset();
        let outcomes = on_seats(seats, |seat| (0..20).all(|_| seat.wait().unwrap() < 2));
        assert_eq!(outcomes, [true, true], "{algorithm:?}");
        assert_eq!(barrier.parties(), 2, "{algorithm:?}");
    }
}

#[test]
fn a_leave_racing_the_release_has_one_outcome() {
    for algorithm in LEAVING {
        for _ in 0..200 {
            let (barrier, seats) = seated(Barrier::builder(2), algorithm);
            let start = Arc::new(StdBarrier::new(2));
            let outcomes = on_seats(seats, move |seat| {
                start.wait();
                if seat.index() == 0 {
                    seat.leave().map(|()| 0).map_err(|e| e.to_string())
                } else {
                    let first = seat.wait().map_err(|e| e.to_string());
                    // Alone from the next generation on.
                    let alone = seat.wait_timeout(HANG).map_err(|e| e.to_string());
                    first.and(alone)
                }
            });
            assert_eq!(outcomes, [Ok(0), Ok(0)], "{algorithm:?}");
            assert_eq!((barrier.parties(), barrier.generation()), (1, 2));
        }
    }
}

#[test]
fn a_leave_racing_a_timeout_has_one_outcome() {
    // Seat 0 leaves while seat 1 waits with a short timeout and seat 2 arrives late: the
    // generation is released or broken for everyone, and the leaver has left either way.
    for algorithm in LEAVING {
        for round in 0..100 {
            let (barrier, seats) = seated(Barrier::builder(3), algorithm);
            let outcomes = on_seats(seats, move |seat| match seat.index() {
                0 => match seat.leave() {
                    Ok(()) => Ok(()),
                    Err(LeaveError::Broken(error)) => Err(error.cause()),
                    Err(other) => panic!("{other:?}"),
                },
                1 => seat
                    .wait_timeout(Duration::from_micros(50 * (round % 4)))
                    .map(drop)
                    .map_err(|e| e.cause()),
                _ => {
                    thread::sleep(Duration::from_micros(30 * (round % 5)));
                    seat.wait().map(drop).map_err(|e| e.cause())
                }
            });
            let ok = outcomes.iter().filter(|o| o.is_ok()).count();
            assert!(ok == 0 || ok == 3, "{algorithm:?}: mixed {outcomes:?}");
            // The seats that stayed were dropped (aborting it); the reset applies a departure
            // that waited for it.
            barrier.reset();
            assert_eq!(barrier.parties(), 2, "{algorithm:?}: the leaver left");
        }
    }
}

#[test]
fn a_breaking_action_and_a_leave_in_one_generation() {
    for algorithm in LEAVING {
        let builder = Barrier::builder(3).action(|| ControlFlow::Break(()));
        let (barrier, seats) = seated(builder, algorithm);
        let finished = on_seats(seats, |seat| {
            if seat.index() == 2 {
                seat.leave().unwrap();
                return true;
            }
            seat.wait().unwrap();
            seat.barrier().is_finished()
                && seat.wait().unwrap_err().cause() == BrokenCause::Finished
        });
        assert_eq!(finished, [true; 3], "{algorithm:?}");
        assert_eq!(barrier.parties(), 2);
    }
}

#[test]
fn seated_barriers_refuse_added_parties() {
    for algorithm in [Algorithm::Tree { fan_in: 2 }, Algorithm::Dissemination] {
        let (barrier, _seats) = seated(Barrier::builder(3), algorithm);
        let error = barrier.add_parties(1).unwrap_err();
        assert!(
            error.to_string().contains("fixed when it is built"),
            "{error}"
        );
        assert_eq!(barrier.parties(), 3);
    }
}

#[test]
fn dissemination_seats_are_given_back() {
    let (barrier, mut seats) = seated(Barrier::builder(3), Algorithm::Dissemination);
    let error = seats.pop().unwrap().leave().unwrap_err();
    let message = error.to_string();
    assert!(message.contains("dissemination"), "{message}");
    match error {
        LeaveError::Seated { seat, .. } => seats.push(seat),
        other => panic!("{other:?}"),
    }
    assert!(
        !barrier.is_broken(),
        "the seat given back still belongs to it"
    );
    let outcomes = on_seats(seats, |seat| seat.wait().is_ok());
    assert_eq!(outcomes, [true; 3]);
}
