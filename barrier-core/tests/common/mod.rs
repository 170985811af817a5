//! Helpers shared by barrier-core's integration tests.
#![allow(dead_code)]

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `body` on its own thread and fails the test if it does not finish within `limit`, so a
/// hang fails instead of freezing CI. Panics in `body` propagate.
pub fn with_watchdog<R: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        let result = body();
        let _ = done.send(());
        result
    });
    match finished.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: test body still running after {limit:?}: a barrier hung")
        }
    }
}

/// Polls `condition` until it holds, failing after `limit` (a hang guard, not a timing test).
pub fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        thread::yield_now();
    }
}

/// A generous bound for anything that should take microseconds.
pub const HANG: Duration = Duration::from_secs(30);

/// A seated barrier of `builder` on `algorithm`.
pub fn seated(
    builder: barrier_core::BarrierBuilder,
    algorithm: barrier_core::Algorithm,
) -> (barrier_core::Barrier, Vec<barrier_core::Seat>) {
    builder.algorithm(algorithm).build_seated().unwrap()
}

/// Runs `f(seat)` on one thread per seat, under a watchdog; results in seat order.
pub fn on_seats<R: Send + 'static>(
    seats: Vec<barrier_core::Seat>,
    f: impl Fn(barrier_core::Seat) -> R + Send + Sync + 'static,
) -> Vec<R> {
    with_watchdog(HANG, move || {
        let f = Arc::new(f);
        let handles: Vec<_> = seats
            .into_iter()
            .map(|seat| {
                let f = Arc::clone(&f);
                thread::spawn(move || f(seat))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The indices of `waits` (pairs of generation and index) grouped by generation and sorted, for
/// generations `0..generations`.
pub fn indices_by_generation(
    waits: impl IntoIterator<Item = (u64, usize)>,
    generations: usize,
) -> Vec<Vec<usize>> {
    let mut by_generation = vec![Vec::new(); generations];
    for (generation, index) in waits {
        by_generation[generation as usize].push(index);
    }
    for indices in &mut by_generation {
        indices.sort_unstable();
    }
    by_generation
}

/// Asserts that the sorted `indices` of a generation of `parties` seats, `leavers` of which
/// left in it (a leave returns no index), are distinct, below `parties`, and one per seat that
/// stayed.
pub fn assert_indices_with_leavers(indices: &[usize], parties: usize, leavers: usize, what: &str) {
    let mut distinct = indices.to_vec();
    distinct.dedup();
    assert_eq!(distinct.len(), parties - leavers, "{what}: {indices:?}");
    assert!(
        distinct.iter().all(|&i| i < parties),
        "{what}, of {parties}: {indices:?}"
    );
}
