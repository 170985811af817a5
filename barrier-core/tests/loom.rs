//! loom models of the barrier state machine: every interleaving of 2-3 threads, with the `Park`
//! policy so the lost-wake-up race is explored.
//!
//! Run with `RUSTFLAGS="--cfg lockstep_loom" cargo test -p barrier-core --test loom --release`
//! (`.ci/run` does; each model sets its preemption bound). A timed wait times out whenever it would
//! park, so "the timeout fires at the worst moment" is one of the explored interleavings.
#![cfg(lockstep_loom)]

use std::time::Duration;

use barrier_core::{Barrier, BrokenBarrierError, BrokenCause, Signal, WaitPolicy};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

type Outcome = Result<usize, BrokenBarrierError>;

const LONG: Duration = Duration::from_secs(3600);

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

fn barrier(parties: usize) -> Barrier {
    Barrier::builder(parties)
        .wait_policy(WaitPolicy::Park)
        .build()
        .unwrap()
}

/// One decision per generation: all `Ok` with distinct indices, or all `Err` with one cause.
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

#[test]
fn two_waiters_release_together_after_the_action() {
    model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let barrier = Barrier::builder(2)
            .wait_policy(WaitPolicy::Park)
            .action(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let other = {
            let (barrier, runs) = (barrier.clone(), Arc::clone(&runs));
            thread::spawn(move || {
                let outcome = barrier.wait();
                // The action ran before this wait returned (Relaxed: the barrier orders it).
                assert_eq!(runs.load(Ordering::Relaxed), 1);
                outcome
            })
        };
        let mine = barrier.wait();
        assert_eq!(runs.load(Ordering::Relaxed), 1);
        assert_one_outcome(&[mine, other.join().unwrap()]);
        assert_eq!(runs.load(Ordering::Relaxed), 1, "action runs exactly once");
    });
}

#[test]
fn three_parties_one_generation() {
    model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let barrier = Barrier::builder(3)
            .wait_policy(WaitPolicy::Park)
            .action(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (barrier, runs) = (barrier.clone(), Arc::clone(&runs));
                thread::spawn(move || {
                    let outcome = barrier.wait();
                    assert_eq!(runs.load(Ordering::Relaxed), 1, "action before release");
                    outcome
                })
            })
            .collect();
        let mut outcomes = vec![barrier.wait()];
        outcomes.extend(handles.into_iter().map(|h| h.join().unwrap()));
        assert_one_outcome(&outcomes);
        assert!(outcomes.iter().all(Result::is_ok));
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn abort_racing_the_release() {
    model(|| {
        let barrier = barrier(2);
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait())
        };
        let aborter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.abort())
        };
        let mine = barrier.wait();
        aborter.join().unwrap();
        let outcomes = [mine, waiter.join().unwrap()];
        assert_one_outcome(&outcomes);
        if let Err(error) = &outcomes[0] {
            assert_eq!(error.cause(), BrokenCause::Aborted);
        }
        assert!(
            barrier.is_broken(),
            "abort leaves the barrier broken either way"
        );
    });
}

#[test]
fn abort_wakes_a_lone_waiter() {
    model(|| {
        let barrier = barrier(2);
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait())
        };
        barrier.abort();
        assert_eq!(
            waiter.join().unwrap().unwrap_err().cause(),
            BrokenCause::Aborted
        );
    });
}

#[test]
fn reset_racing_an_arrival() {
    model(|| {
        let barrier = barrier(2);
        let first = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait())
        };
        barrier.reset();
        // Alone in a fresh generation this times out (loom: as soon as it would park).
        let second = barrier.wait_timeout(LONG);
        let first = first.join().unwrap();
        match (&first, &second) {
            (Ok(_), Ok(_)) => assert_one_outcome(&[first, second]),
            // The reset caught the first waiter; the second waited for it to leave, then
            // timed out alone.
            (Err(a), Err(b)) if a.cause() == BrokenCause::Reset => {
                assert_eq!(b.cause(), BrokenCause::TimedOut)
            }
            // The second arrived first and timed out; the first found the barrier broken.
            (Err(a), Err(b)) => {
                assert_eq!(
                    (a.cause(), b.cause()),
                    (BrokenCause::TimedOut, BrokenCause::TimedOut)
                )
            }
            other => panic!("inconsistent outcomes {other:?}"),
        }
    });
}

#[test]
fn timeout_racing_the_release() {
    model(|| {
        let barrier = barrier(2);
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_timeout(LONG))
        };
        let mine = barrier.wait();
        let outcomes = [mine, waiter.join().unwrap()];
        assert_one_outcome(&outcomes);
        if outcomes[0].is_err() {
            assert!(barrier.is_broken());
        }
    });
}

#[test]
fn timeout_during_the_action_is_ignored() {
    model(|| {
        let barrier = Barrier::builder(2)
            .wait_policy(WaitPolicy::Park)
            .action(thread::yield_now)
            .build()
            .unwrap();
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_timeout(LONG))
        };
        let mine = barrier.wait();
        assert_one_outcome(&[mine, waiter.join().unwrap()]);
    });
}

#[test]
fn abort_reset_then_reuse() {
    // abort() and reset() race a thread that waits twice; every wait that cannot pair times out
    // (under loom: when it would park), so the model must end without deadlock, and every pair
    // that met must be one consistent generation.
    model(|| {
        let barrier = barrier(2);
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || (barrier.wait_timeout(LONG), barrier.wait_timeout(LONG)))
        };
        barrier.abort();
        barrier.reset();
        let mine = barrier.wait_timeout(LONG);
        let (first, second) = waiter.join().unwrap();
        if let Ok(index) = first {
            // The reset came first and the first wait paired with mine.
            assert_eq!(mine.map(|m| m + index), Ok(1));
            assert!(second.is_err(), "a lone second wait cannot pass");
        } else if let Ok(mine) = mine {
            assert_eq!(
                second.map(|s| s + mine),
                Ok(1),
                "mine paired with the second wait"
            );
        }
        assert!(
            !barrier.is_broken()
                || [first, second, mine].iter().any(|o| o
                    .as_ref()
                    .is_err_and(|e| e.cause() == BrokenCause::TimedOut))
        );
    });
}

/// `Signal`, the waiting layer alone: a waiter that parks is woken by the notify that follows
/// the store it waits for, whichever comes first (without the notify, loom finds the waiter
/// asleep forever), and it sees the data written before that store.
#[test]
fn a_signal_wakes_a_parked_waiter_and_publishes_the_data() {
    model(|| {
        let signal = Arc::new(Signal::new(WaitPolicy::Park, 2));
        let flag = Arc::new(AtomicUsize::new(0));
        let data = Arc::new(AtomicUsize::new(0));
        let notifier = {
            let (signal, flag, data) = (Arc::clone(&signal), Arc::clone(&flag), Arc::clone(&data));
            thread::spawn(move || {
                data.store(42, Ordering::Relaxed);
                flag.store(1, Ordering::Release);
                signal.notify();
            })
        };
        signal.wait_until(|| (flag.load(Ordering::Acquire) == 1).then_some(()));
        assert_eq!(data.load(Ordering::Relaxed), 42);
        notifier.join().unwrap();
    });
}

#[test]
fn arrive_then_wait_racing_an_abort() {
    model(|| {
        let barrier = barrier(2);
        let arriver = {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let arrival = barrier.arrive()?;
                let released = arrival.is_released();
                let outcome = arrival.wait();
                // Released before the wait means the wait succeeds.
                assert!(!released || outcome.is_ok(), "{outcome:?}");
                outcome
            })
        };
        let aborter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.abort())
        };
        let mine = barrier.wait();
        aborter.join().unwrap();
        assert_one_outcome(&[mine, arriver.join().unwrap()]);
        assert!(barrier.is_broken());
    });
}

#[test]
fn a_breaking_action_releases_and_finishes_in_one_step() {
    model(|| {
        let barrier = Barrier::builder(2)
            .wait_policy(WaitPolicy::Park)
            .action(|| std::ops::ControlFlow::Break(()))
            .build()
            .unwrap();
        let other = {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let outcome = barrier.arrive().and_then(|arrival| arrival.wait());
                // Whoever is released sees the end at once.
                assert!(barrier.is_finished());
                outcome
            })
        };
        let mine = barrier.wait();
        assert!(barrier.is_finished());
        assert_one_outcome(&[mine, other.join().unwrap()]);
        assert_eq!(barrier.generation(), 1);
        assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::Finished);
    });
}

#[test]
fn arrive_and_drop_racing_a_wait() {
    model(|| {
        let barrier = barrier(2);
        let dropper = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.arrive_and_drop().and_then(|a| a.wait()))
        };
        let mine = barrier.wait();
        assert_one_outcome(&[mine, dropper.join().unwrap()]);
        assert_eq!(barrier.parties(), 1);
        // The one party left passes alone.
        assert_eq!(barrier.wait(), Ok(0));
    });
}

#[test]
fn add_parties_racing_the_release() {
    model(|| {
        let barrier = barrier(2);
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait())
        };
        let adder = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.add_parties(1).unwrap())
        };
        let mine = barrier.wait();
        assert_one_outcome(&[mine, waiter.join().unwrap()]);
        assert_eq!(adder.join().unwrap(), 3);
        // Applied at the end of generation 0 if it was recorded while 0 was open, else at the
        // end of generation 1, which a reset ends at once.
        barrier.abort();
        barrier.reset();
        assert_eq!(barrier.parties(), 3);
    });
}
