//! Building pools: sizes, placements, names, errors.

mod common;

use common::watchdog;
use phase_pool::{BuildError, PhasePool, Placement, WaitPolicy};

#[test]
fn zero_threads_is_an_error() {
    let error = PhasePool::builder().threads(0).build().unwrap_err();
    assert_eq!(error, BuildError::ZeroThreads);
    assert!(error.to_string().contains("at least one thread"));
}

#[test]
#[should_panic(expected = "PhasePool::new(0)")]
fn new_panics_on_zero_threads() {
    let _ = PhasePool::new(0);
}

#[test]
fn every_placement_builds_and_runs() {
    watchdog(|| {
        let placements = [
            Placement::Compact,
            Placement::Spread,
            Placement::None,
            Placement::Cores(vec![0]),
            Placement::Cores(vec![]),
            // A core that does not exist: pinning fails, the worker runs unpinned.
            Placement::Cores(vec![100_000]),
        ];
        for placement in placements {
            for threads in [1, 2, 5] {
                let pool = PhasePool::builder()
                    .threads(threads)
                    .placement(placement.clone())
                    .build()
                    .unwrap();
                assert_eq!(pool.num_threads(), threads);
                assert_eq!(pool.cores().len(), threads);
                let out = pool.run(|ctx| ctx.reduce(1, |a, b| a + b));
                assert_eq!(out, vec![threads; threads], "{placement:?}");
            }
        }
    });
}

#[test]
fn explicit_cores_wrap_around() {
    watchdog(|| {
        let pool = PhasePool::builder()
            .threads(5)
            .placement(Placement::Cores(vec![1, 0]))
            .build()
            .unwrap();
        assert_eq!(pool.cores(), [Some(1), Some(0), Some(1), Some(0), Some(1)]);
        let pool = PhasePool::builder()
            .threads(3)
            .placement(Placement::None)
            .build()
            .unwrap();
        assert_eq!(pool.cores(), [None, None, None]);
    });
}

#[test]
fn wait_policies_all_work() {
    watchdog(|| {
        for policy in [WaitPolicy::Spin, WaitPolicy::Park, WaitPolicy::Adaptive] {
            let pool = PhasePool::builder()
                .threads(3)
                .placement(Placement::None)
                .wait_policy(policy)
                .build()
                .unwrap();
            assert_eq!(pool.wait_policy(), policy);
            for _ in 0..50 {
                assert_eq!(
                    pool.map_reduce_index(30, 4, 0, |r| r.len(), |a, b| a + b),
                    30
                );
            }
        }
    });
}

#[test]
fn worker_threads_are_named() {
    watchdog(|| {
        let pool = PhasePool::builder()
            .threads(3)
            .placement(Placement::None)
            .thread_name(|i| format!("solver-{i}"))
            .stack_size(1 << 20)
            .build()
            .unwrap();
        let names = pool.run(|_| std::thread::current().name().map(str::to_owned));
        assert_eq!(
            names,
            [
                Some("test-body".into()),
                Some("solver-1".into()),
                Some("solver-2".into())
            ]
        );
        let pool = PhasePool::builder()
            .threads(2)
            .thread_name_prefix("w")
            .build()
            .unwrap();
        assert_eq!(
            pool.run(|_| std::thread::current().name().map(str::to_owned))[1].as_deref(),
            Some("w1")
        );
        let pool = PhasePool::builder().threads(2).build().unwrap();
        assert_eq!(
            pool.run(|_| std::thread::current().name().map(str::to_owned))[1].as_deref(),
            Some("lockstep-1")
        );
    });
}

#[test]
fn pools_are_dropped_and_rebuilt() {
    watchdog(|| {
        for round in 0..50 {
            let pool = common::pool(1 + round % 6);
            assert_eq!(pool.run(|ctx| ctx.index()).len(), 1 + round % 6);
        }
    });
}

#[test]
fn debug_output_describes_the_pool() {
    let pool = PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .build()
        .unwrap();
    let text = format!("{pool:?}");
    assert!(text.contains("num_threads: 2"), "{text}");
    assert!(format!("{:?}", PhasePool::builder().threads(4)).contains("threads: Some(4)"));
}

#[test]
fn a_failed_spawn_stops_the_started_workers_and_reports() {
    watchdog(|| {
        // No operating system gives a thread a stack of 2^60 bytes.
        let error = PhasePool::builder()
            .threads(3)
            .placement(Placement::None)
            .stack_size(1 << 60)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, BuildError::Spawn { worker: 1, .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("cannot spawn worker thread 1"),
            "{error}"
        );
    });
}
