//! Profiles: a slow worker shows as the straggler, the times add up to the wall time, the wait
//! counts follow the policy, and profiling changes no result.

mod common;

use std::time::{Duration, Instant};

use common::watchdog;
use phase_pool::profile::{PhaseKind, WaitStage};
use phase_pool::{PhasePool, Placement, Profile, WaitPolicy};

fn profiled(threads: usize, policy: WaitPolicy) -> PhasePool {
    PhasePool::builder()
        .threads(threads)
        .placement(Placement::None)
        .wait_policy(policy)
        .profile(true)
        .build()
        .unwrap()
}

/// The index of the pool worker running this code: followers are named `lockstep-<i>`, the
/// leader is the test's thread.
fn current_worker() -> usize {
    std::thread::current()
        .name()
        .and_then(|name| name.strip_prefix("lockstep-"))
        .map_or(0, |index| index.parse().unwrap())
}

#[test]
fn a_slow_worker_is_the_straggler_and_the_others_wait_for_it() {
    watchdog(|| {
        let pool = profiled(3, WaitPolicy::Adaptive);
        // One index per worker (a block of one index cannot be shared); index 2 sleeps 6 ms.
        // Its block is worker 2's, but a worker that starts late is skipped and another takes
        // it over: the profile must name whoever ran it.
        let mut slow_workers = Vec::new();
        for _ in 0..8 {
            let slow = std::sync::Mutex::new(None);
            pool.for_each_index(3, |i| {
                if i == 2 {
                    *slow.lock().unwrap() = Some(current_worker());
                    std::thread::sleep(Duration::from_millis(6));
                }
            });
            slow_workers.push(slow.into_inner().unwrap().unwrap());
        }
        let profile = pool.profile();
        assert_eq!(profile.phases().len(), 8);
        for (phase, &slow) in profile.phases().iter().zip(&slow_workers) {
            assert_eq!(phase.kind, PhaseKind::DataParallel);
            assert_eq!(phase.steps.len(), 1);
            let step = &phase.steps[0];
            assert_eq!(step.straggler(), Some(slow), "{phase:?}");
            assert!(
                step.workers[slow].compute >= Duration::from_millis(6),
                "{phase:?}"
            );
            for (other, waiter) in step.workers.iter().enumerate() {
                if other != slow && waiter.ran {
                    // Waiting for the slow one, before its start (late) or after its end.
                    let lost = phase.wall - waiter.compute;
                    assert!(lost > Duration::from_millis(5), "{phase:?}");
                    assert!(waiter.compute < Duration::from_millis(3), "{phase:?}");
                }
            }
        }
        let summary = profile.summary();
        let most = (0..3)
            .max_by_key(|&w| {
                (
                    slow_workers.iter().filter(|&&s| s == w).count(),
                    std::cmp::Reverse(w),
                )
            })
            .unwrap();
        assert_eq!(summary.straggler.map(|(worker, _)| worker), Some(most));
        assert!(summary.imbalance > 1.8, "{summary:?}");
        assert!(summary.waiting_share > 0.4, "{summary:?}");
        let table = profile.to_string();
        assert!(table.contains("straggler"), "{table}");
    });
}

#[test]
fn the_times_add_up_to_the_wall_time() {
    watchdog(|| {
        let pool = profiled(2, WaitPolicy::Adaptive);
        let phases = 20;
        let began = Instant::now();
        for _ in 0..phases {
            pool.for_each_index(2, |_| std::thread::sleep(Duration::from_millis(1)));
        }
        let elapsed = began.elapsed();
        let profile = pool.profile();
        assert_eq!(profile.phases().len(), phases);
        let mut wall = Duration::ZERO;
        let mut previous_end = Duration::ZERO;
        for phase in profile.phases() {
            assert!(phase.start >= previous_end, "phases do not overlap");
            previous_end = phase.start + phase.wall;
            wall += phase.wall;
            for worker in phase.workers.iter().filter(|worker| worker.ran) {
                // A worker's part ends before the leader has gathered it (to the clock's
                // resolution).
                assert!(
                    worker.start + worker.busy <= phase.wall + Duration::from_micros(1),
                    "{phase:?}"
                );
            }
            let step = &phase.steps[0];
            for worker in step.workers.iter().filter(|worker| worker.ran) {
                assert_eq!(worker.start + worker.compute + worker.wait, phase.wall);
            }
        }
        // The phases are back to back: what the profile does not cover is the leader's own
        // bookkeeping between them (microseconds against 1 ms phases).
        assert!(wall <= elapsed, "{wall:?} > {elapsed:?}");
        assert!(
            wall.as_secs_f64() >= 0.8 * elapsed.as_secs_f64(),
            "{wall:?} of {elapsed:?}"
        );
    });
}

#[test]
fn park_parks_the_waits_and_spin_never_does() {
    watchdog(|| {
        // The leader works alone between phases: a parking follower sleeps until the next
        // one, and the leader sleeps in the gather while worker 1 sleeps in its part.
        let pool = profiled(2, WaitPolicy::Park);
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(3));
            pool.for_each_index(2, |i| {
                if i == 1 {
                    std::thread::sleep(Duration::from_millis(3));
                }
            });
        }
        let profile = pool.profile();
        for phase in &profile.phases()[1..] {
            let follower = &phase.workers[1];
            if follower.ran {
                assert_eq!(follower.waited.stage(), WaitStage::Park, "{phase:?}");
                assert!(follower.waited.wakeups > 0, "{phase:?}");
                if phase.steps[0].straggler() == Some(1) {
                    assert_eq!(
                        phase.workers[0].waited.stage(),
                        WaitStage::Park,
                        "{phase:?}"
                    );
                }
            }
        }
        let summary = profile.summary();
        assert!(summary.workers[1].parked >= 4, "{summary:?}");

        let pool = profiled(2, WaitPolicy::Spin);
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(2));
            pool.for_each_index(2, |i| {
                if i == 1 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
        pool.run(|ctx| {
            for _ in 0..3 {
                if ctx.index() == 1 {
                    std::thread::sleep(Duration::from_millis(2));
                }
                ctx.sync();
            }
        });
        let profile = pool.profile();
        let summary = profile.summary();
        for worker in &summary.workers {
            assert_eq!(worker.parked, 0, "{summary:?}");
            assert_eq!(worker.counts.parks, 0, "{summary:?}");
        }
    });
}

#[test]
fn a_run_has_one_step_per_collective() {
    watchdog(|| {
        let pool = profiled(3, WaitPolicy::Adaptive);
        let sums = pool.run(|ctx| {
            if ctx.index() == 1 {
                std::thread::sleep(Duration::from_millis(20));
            }
            ctx.sync();
            if ctx.index() == 2 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let sum = ctx.reduce(ctx.index(), |a, b| a + b);
            ctx.sync();
            sum
        });
        assert_eq!(sums, [3, 3, 3]);
        let profile = pool.profile();
        let [run] = profile.phases() else {
            panic!("one phase: {profile:?}")
        };
        assert_eq!(run.kind, PhaseKind::Run);
        // sync, reduce, sync, and the run's closing collective.
        assert_eq!(run.steps.len(), 4, "{run:?}");
        assert_eq!(run.steps[0].straggler(), Some(1));
        assert_eq!(run.steps[1].straggler(), Some(2));
        for worker in [0, 2] {
            assert!(run.steps[0].workers[worker].wait > Duration::from_millis(10));
        }
        for step in &run.steps {
            assert!(step.start <= step.end && step.end <= run.wall, "{step:?}");
            for worker in &step.workers {
                assert!(worker.ran);
                assert!(worker.start + worker.compute + worker.wait <= step.end);
            }
        }
        // Each worker's steps follow each other.
        for worker in 0..3 {
            for pair in run.steps.windows(2) {
                let first = &pair[0].workers[worker];
                assert_eq!(
                    first.start + first.compute + first.wait,
                    pair[1].workers[worker].start
                );
            }
        }
    });
}

#[test]
fn profiling_changes_no_result() {
    watchdog(|| {
        let compute = |pool: &PhasePool| {
            let mut data: Vec<f64> = (0..10_007).map(|i| (f64::from(i) * 0.37).sin()).collect();
            let mut sums = Vec::new();
            for _ in 0..5 {
                sums.push(pool.map_reduce_chunks_mut(
                    &mut data,
                    97,
                    0.0,
                    |_, chunk| {
                        chunk.iter_mut().for_each(|x| *x = *x * 1.01 + 0.1);
                        chunk.iter().sum::<f64>()
                    },
                    |a, b| a + b,
                ));
            }
            let reduced = pool.run(|ctx| ctx.reduce(ctx.index() as f64 * 0.1, |a, b| a + b));
            (data, sums, reduced)
        };
        let plain = compute(
            &PhasePool::builder()
                .threads(3)
                .profile(false)
                .build()
                .unwrap(),
        );
        let profiled = compute(&profiled(3, WaitPolicy::Adaptive));
        let bits = |values: &[f64]| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&plain.0), bits(&profiled.0));
        assert_eq!(bits(&plain.1), bits(&profiled.1));
        assert_eq!(bits(&plain.2), bits(&profiled.2));
    });
}

#[test]
fn an_unprofiled_pool_records_nothing() {
    let pool = PhasePool::builder()
        .threads(2)
        .profile(false)
        .build()
        .unwrap();
    pool.set_label(Some("ignored"));
    pool.for_each_index(10, |_| {});
    let profile = pool.profile();
    assert!(!profile.is_enabled());
    assert!(profile.phases().is_empty());
    assert!(profile.to_string().contains("off"), "{profile}");
}

#[test]
fn a_long_run_keeps_a_bounded_profile() {
    watchdog(|| {
        let pool = profiled(2, WaitPolicy::Adaptive);
        let phases = 70_000;
        for _ in 0..phases {
            pool.for_each_index(2, |_| {});
        }
        let profile = pool.profile();
        assert_eq!(profile.phases().len(), 1 << 16);
        assert_eq!(profile.unrecorded(), phases - (1 << 16));
        assert!(profile.to_string().contains("not recorded"));
        // The next profile starts afresh.
        pool.for_each_index(2, |_| {});
        let next = pool.profile();
        assert_eq!((next.phases().len(), next.unrecorded()), (1, 0));
    });
}

#[test]
fn exports_hold_every_phase_and_worker() {
    let pool = profiled(2, WaitPolicy::Adaptive);
    pool.set_label(Some("a,\"b\""));
    pool.for_each_index(8, |_| {});
    pool.set_label(None);
    pool.run(|ctx| ctx.sync());
    let profile: Profile = pool.profile();
    let mut json = Vec::new();
    profile.write_json_lines(&mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("{\"phase\":1,\"label\":\"a,\\\"b\\\"\",\"kind\":\"data-parallel\"")
    );
    assert!(lines[1].contains("\"label\":null,\"kind\":\"run\""));
    let mut csv = Vec::new();
    profile.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    // Header, 1 step x 2 workers, then 2 steps (sync, end) x 2 workers.
    assert_eq!(csv.lines().count(), 1 + 2 + 4, "{csv}");
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("1,\"a,\"\"b\"\"\",data-parallel,"));
}

#[test]
fn phases_run_by_the_caller_alone_are_recorded() {
    // A one-worker pool, and a phase of one index, run on the caller without a hand-off.
    let alone = profiled(1, WaitPolicy::Adaptive);
    alone.for_each_index(10, |_| {});
    assert_eq!(
        alone.map_reduce_index(10, 1, 0, |r| r.start, |a, b| a + b),
        45
    );
    let profile = alone.profile();
    assert_eq!(profile.phases().len(), 2);
    assert!(profile
        .phases()
        .iter()
        .all(|p| p.kind == PhaseKind::DataParallel));

    let pool = profiled(2, WaitPolicy::Adaptive);
    pool.set_label(Some("tiny"));
    pool.for_each_index(1, |_| {});
    let answer = pool.serial("serial part", || {
        std::thread::sleep(Duration::from_millis(2));
        42
    });
    assert_eq!(answer, 42);
    let profile = pool.profile();
    let [tiny, serial] = profile.phases() else {
        panic!("two phases: {profile:?}")
    };
    assert_eq!(
        (tiny.kind, tiny.label),
        (PhaseKind::DataParallel, Some("tiny"))
    );
    assert!(tiny.workers[0].ran && !tiny.workers[1].ran);
    assert_eq!(serial.kind, PhaseKind::Serial);
    assert_eq!(
        serial.label,
        Some("serial part"),
        "its own label, not the current one"
    );
    assert!(serial.wall >= Duration::from_millis(2));
    assert_eq!(serial.workers[0].busy, serial.wall);
    assert!(!serial.workers[1].ran);
    let summary = profile.summary();
    assert_eq!(
        summary.workers[1].skipped, 1,
        "skipped in the data-parallel phase only"
    );
    assert!(
        summary.waiting_share > 0.4,
        "worker 1 idles through the serial part: {summary:?}"
    );
    let mut csv = Vec::new();
    profile.write_csv(&mut csv).unwrap();
    assert!(String::from_utf8(csv)
        .unwrap()
        .contains(",serial part,serial,"));
}
