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

/// The environment variable that tells a re-executed test binary which test it runs as a
/// child (see [`in_child`]).
pub const CHILD_ENV: &str = "LOCKSTEP_TEST_CHILD";

/// How long a child process may run before it counts as hung and is killed.
pub const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// What a child process did: its exit status (`None`: killed after [`CHILD_LIMIT`]) and its
/// standard output and error, interleaved by stream (stdout first).
#[derive(Debug)]
pub struct ChildRun {
    pub status: Option<std::process::ExitStatus>,
    pub output: String,
}

impl ChildRun {
    /// Fails the test unless the child exited successfully, showing what it printed.
    pub fn assert_success(&self) {
        assert!(
            self.status.is_some_and(|status| status.success()),
            "child {:?}; its output:\n{}",
            self.status
                .map_or("hung and was killed".to_owned(), |s| s.to_string()),
            self.output
        );
    }
}

/// Runs `body` in a child process: re-executes this test binary with only the test `name`
/// (which must be the `#[test]` function calling this, given by its full path in the binary),
/// under [`CHILD_ENV`]. In the child, runs `body`; in the parent, waits for the child (killing
/// it after [`CHILD_LIMIT`]) and returns what it did. A crash, an abort or a hang of `body`
/// then fails the parent's test instead of taking the whole test binary down.
pub fn in_child(name: &str, body: impl FnOnce()) -> Option<ChildRun> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return None;
    }
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    // Read both streams on their own threads, so that a chatty child never blocks on a full pipe.
    let drain = |mut stream: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stream.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child process") {
            break Some(status);
        }
        if started.elapsed() > CHILD_LIMIT {
            // The child this test started, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    Some(ChildRun { status, output })
}

/// [`in_child`], asserting in the parent that the child succeeded.
pub fn child_test(name: &str, body: impl FnOnce()) {
    if let Some(run) = in_child(name, body) {
        run.assert_success();
    }
}
