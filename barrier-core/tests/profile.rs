//! Barrier profiles: the counts agree with what happened and with what each wait policy must do.

mod common;

use std::thread;
use std::time::Duration;

use barrier_core::{
    thread_wait_counts, Algorithm, Barrier, BarrierProfile, BrokenCause, Seat, WaitPolicy,
    WaitStage,
};
use common::with_watchdog;

const LIMIT: Duration = Duration::from_secs(60);

/// `rounds` episodes of `parties` threads through seats, thread 0 arriving `late` after the
/// others each time; returns the barrier's profile.
fn seated_rounds(
    algorithm: Algorithm,
    policy: WaitPolicy,
    parties: usize,
    rounds: usize,
    late: Duration,
) -> BarrierProfile {
    let (barrier, seats) = Barrier::builder(parties)
        .algorithm(algorithm)
        .wait_policy(policy)
        .profile(true)
        .build_seated()
        .unwrap();
    thread::scope(|s| {
        for seat in seats {
            s.spawn(move || run_seat(&seat, rounds, late));
        }
    });
    barrier.profile()
}

fn run_seat(seat: &Seat, rounds: usize, late: Duration) {
    for _ in 0..rounds {
        if seat.index() == 0 {
            thread::sleep(late);
        }
        seat.wait().unwrap();
    }
}

#[test]
fn counts_episodes_and_waits_on_every_algorithm() {
    with_watchdog(LIMIT, || {
        for algorithm in [
            Algorithm::Central,
            Algorithm::Tree { fan_in: 2 },
            Algorithm::Dissemination,
        ] {
            for parties in [1, 2, 3, 5] {
                let profile =
                    seated_rounds(algorithm, WaitPolicy::Adaptive, parties, 50, Duration::ZERO);
                let what = format!("{algorithm:?}, {parties} parties");
                assert!(profile.enabled, "{what}");
                assert_eq!(profile.episodes, 50, "{what}");
                assert_eq!(profile.waits, 50 * parties as u64, "{what}");
                assert_eq!(profile.failed, 0, "{what}");
                assert_eq!(
                    profile.spun + profile.yielded + profile.parked,
                    profile.waits,
                    "{what}: every wait has one stage"
                );
                assert!(profile.wait_time > Duration::ZERO, "{what}");
            }
        }
    });
}

#[test]
fn park_parks_the_early_arrivals_and_measures_their_wake_ups() {
    with_watchdog(LIMIT, || {
        for algorithm in [Algorithm::Central, Algorithm::Dissemination] {
            let rounds = 10;
            let profile = seated_rounds(
                algorithm,
                WaitPolicy::Park,
                3,
                rounds,
                Duration::from_millis(5),
            );
            // Seats 1 and 2 arrive 5 ms before seat 0 every round: under `Park` they sleep.
            assert!(
                profile.parked >= 2 * rounds as u64,
                "{algorithm:?}: {profile:?}"
            );
            assert!(profile.counts.parks >= profile.parked, "{profile:?}");
            assert!(profile.counts.wakeups > 0, "{profile:?}");
            assert!(
                profile.counts.max_wake_latency > Duration::ZERO,
                "{profile:?}"
            );
            assert!(profile.counts.max_wake_latency >= profile.counts.mean_wake_latency());
            // Each sleeper waited about the 5 ms.
            assert!(profile.wait_time >= Duration::from_millis(5 * 2 * rounds as u64 / 2));
        }
    });
}

#[test]
fn spin_never_parks() {
    with_watchdog(LIMIT, || {
        for algorithm in [Algorithm::Central, Algorithm::Tree { fan_in: 2 }] {
            let profile =
                seated_rounds(algorithm, WaitPolicy::Spin, 2, 20, Duration::from_millis(2));
            assert_eq!(profile.parked, 0, "{algorithm:?}: {profile:?}");
            assert_eq!(profile.counts.parks, 0, "{profile:?}");
            assert!(
                profile.counts.spins > 0,
                "2 ms waits spin through the loop: {profile:?}"
            );
        }
    });
}

#[test]
fn failed_waits_are_counted_and_taking_resets() {
    let barrier = Barrier::builder(2).profile(true).build().unwrap();
    let error = barrier.wait_timeout(Duration::from_millis(1)).unwrap_err();
    assert_eq!(error.cause(), BrokenCause::TimedOut);
    assert!(barrier.wait().is_err());
    let profile = barrier.profile();
    assert_eq!((profile.waits, profile.failed, profile.episodes), (2, 2, 0));
    assert_eq!(barrier.profile().waits, 0, "taken and reset");
    assert!(barrier.profile().enabled);
}

#[test]
fn an_unprofiled_barrier_reports_nothing() {
    let barrier = Barrier::builder(1).profile(false).build().unwrap();
    barrier.wait().unwrap();
    let profile = barrier.profile();
    assert!(!profile.enabled);
    assert_eq!(profile, BarrierProfile::default());
    assert!(profile.to_string().contains("off"), "{profile}");
}

#[test]
fn thread_counts_see_a_sleep_and_its_wake_up() {
    with_watchdog(LIMIT, || {
        let barrier = Barrier::builder(2)
            .wait_policy(WaitPolicy::Park)
            .build()
            .unwrap();
        let waiter = {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let before = thread_wait_counts();
                barrier.wait().unwrap();
                thread_wait_counts().since(before)
            })
        };
        common::eventually(LIMIT, "the waiter arrived", || barrier.n_waiting() == 1);
        // The waiter parks at once under `Park`; give it time to fall asleep.
        thread::sleep(Duration::from_millis(20));
        barrier.wait().unwrap();
        let waited = waiter.join().unwrap();
        assert_eq!(waited.stage(), WaitStage::Park, "{waited:?}");
        assert!(waited.wakeups >= 1, "{waited:?}");
        assert!(waited.wake_latency > Duration::ZERO, "{waited:?}");
    });
}
