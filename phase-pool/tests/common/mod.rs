//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::panic::resume_unwind;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use phase_pool::{Placement, Schedule};

/// How long a test body may run before it counts as hung. Generous: the machines are shared.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Thread counts every API is checked with.
pub const THREADS: [usize; 6] = [1, 2, 3, 4, 5, 8];

/// Every schedule, with a few `Dynamic` piece sizes.
pub const SCHEDULES: [Schedule; 4] = [
    Schedule::Static,
    Schedule::Dynamic { chunk: 0 },
    Schedule::Dynamic { chunk: 3 },
    Schedule::Guided,
];

/// Runs `body` on its own thread and fails the test if it does not finish within [`LIMIT`], so a
/// hang fails instead of freezing CI. A panic of `body` resumes here.
pub fn watchdog<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, finished) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let result = body();
            let _ = done.send(());
            result
        })
        .expect("spawn the test body");
    match finished.recv_timeout(LIMIT) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(result) => result,
            Err(panic) => resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => panic!("the test body did not finish within {LIMIT:?}"),
    }
}

/// A pool of `threads` workers, unpinned (tests share the machine).
pub fn pool(threads: usize) -> phase_pool::PhasePool {
    phase_pool::PhasePool::builder()
        .threads(threads)
        .placement(Placement::None)
        .build()
        .expect("build the pool")
}

/// Test data whose floating-point sums depend on the order of additions.
pub fn floats(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let sign = if i % 3 == 0 { -1.0 } else { 1.0 };
            sign * (1.0 + i as f64).sqrt() * 10f64.powi((i % 7) as i32 - 3)
        })
        .collect()
}

/// The panic message of a payload, if it is a string.
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_owned()
    }
}
