//! Team sizes beyond [`MAX_THREADS`], asked for in the builder or the environment, are refused
//! before anything is allocated or started: no abort, no hang.

mod common;

use phase_pool::{BuildError, PhasePool, Placement, MAX_THREADS, NUM_THREADS_ENV};

use common::watchdog;

const TOO_MANY: [usize; 6] = [
    MAX_THREADS + 1,
    u32::MAX as usize,
    1 << 32,
    usize::MAX / 2 + 1,
    usize::MAX - 1,
    usize::MAX,
];

#[test]
fn too_many_threads_are_refused() {
    watchdog(|| {
        for threads in TOO_MANY {
            let error = PhasePool::builder()
                .threads(threads)
                .placement(Placement::None)
                .build()
                .unwrap_err();
            assert_eq!(
                error,
                BuildError::TooManyThreads {
                    threads,
                    max: MAX_THREADS
                }
            );
            assert_eq!(
                error.to_string(),
                format!("a phase pool supports at most {MAX_THREADS} threads, {threads} requested")
            );
        }
    });
}

/// The only test of this binary that reads the environment's thread count.
#[test]
fn too_many_threads_in_the_environment_are_refused() {
    watchdog(|| {
        for threads in TOO_MANY {
            std::env::set_var(NUM_THREADS_ENV, threads.to_string());
            let built = PhasePool::builder().placement(Placement::None).build();
            std::env::remove_var(NUM_THREADS_ENV);
            assert_eq!(
                built.unwrap_err(),
                BuildError::TooManyThreads {
                    threads,
                    max: MAX_THREADS
                }
            );
        }
        std::env::set_var(NUM_THREADS_ENV, "2");
        let pool = PhasePool::builder().placement(Placement::None).build();
        std::env::remove_var(NUM_THREADS_ENV);
        assert_eq!(pool.unwrap().num_threads(), 2);
    });
}
