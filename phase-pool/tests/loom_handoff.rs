//! Loom models of the phase hand-off: the shipped `PhasePool` (with barrier-core's `Signal` and
//! both crates' `sync.rs` shims on loom) with two and three workers, through build, one phase
//! that publishes a job, runs it on the workers that join in time (the leader skips the others
//! and steals their blocks), folds their partial results and releases the borrowed data, a
//! second phase (whose publication must not race the first one's reads; two workers only),
//! and shut-down.
//!
//! ```text
//! RUSTFLAGS="--cfg lockstep_loom" cargo test -p phase-pool --release --test loom_handoff
//! ```
//!
//! Loom checks every interleaving (up to the preemption bound) for data races on the job slot
//! and the workers' reports, where the phases leave their partial results (both are loom
//! `UnsafeCell`s under this cfg), deadlocks and lost wake-ups in the hand-off (its `Signal`s
//! park under both policies), and the final values.
//! Weakening either Release store of the hand-off (`phase`, `finished`) or dropping the
//! followers' notify of the leader makes the two-worker models fail; a gather that skips a
//! follower that has joined makes them fail.

#![cfg(lockstep_loom)]

use phase_pool::{PhasePool, Placement, Schedule, WaitPolicy};

fn model(policy: WaitPolicy) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || phases(policy, 2, 2));
}

/// Builds a pool of `threads` workers (2 or 3), runs `phases` phases (1 or 2) over borrowed
/// data and drops the pool.
fn phases(policy: WaitPolicy, threads: usize, phases: usize) {
    {
        let pool = PhasePool::builder()
            .threads(threads)
            .placement(Placement::None)
            .wait_policy(policy)
            .build()
            .unwrap();
        // Borrowed, non-'static data: each worker owns one chunk (static schedule) and returns a
        // partial; the leader folds them after the gather.
        let mut data = [1u64, 2, 3];
        let data = &mut data[..threads];
        let sum = pool.with_schedule(Schedule::Static).map_reduce_chunks_mut(
            data,
            1,
            0,
            |_, chunk| {
                chunk[0] *= 10;
                chunk[0]
            },
            |a, b| a + b,
        );
        let expected: u64 = (1..=threads as u64).map(|x| x * 10).sum();
        assert_eq!(sum, expected);
        assert_eq!(data[threads - 1], 10 * threads as u64);
        if phases == 1 {
            return;
        }
        // A second phase: its publication must not race the first phase's reads of the job
        // slot (the release edge), and its results must see the first phase's writes. Twelve
        // partials per worker are more than fit on a `done` line, so they go through the
        // workers' spill buffers.
        let sum = pool.map_reduce_index(threads * 12, 1, 0, |r| data[r.start / 12], |a, b| a + b);
        assert_eq!(sum, 12 * expected);
        drop(pool);
    }
}

#[test]
fn handoff_publish_run_fold_release_park() {
    model(WaitPolicy::Park);
}

#[test]
fn handoff_publish_run_fold_release_adaptive() {
    model(WaitPolicy::Adaptive);
}

/// Three workers: the leader gathers (or skips) two followers, and two followers wake from one
/// publication. One phase and a lower preemption bound keep the state space small enough.
#[test]
fn handoff_with_three_workers_park() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| phases(WaitPolicy::Park, 3, 1));
}
