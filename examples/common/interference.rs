//! `--interference CORE`: another program on one core while the contenders run, as on a shared
//! machine (a build, another user's job, a noisy neighbour). The program is this executable
//! again, started with [`CHILD_FLAG`]: it pins itself to the core and spins, until its parent
//! ends it, its parent exits (its standard input closes), or its time limit passes, whichever
//! comes first, so it never outlives the measurement.

use std::io::Read;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The hidden first argument that makes the program the CPU-bound child.
pub const CHILD_FLAG: &str = "--interference-child";

/// The running child; dropping it ends the child.
#[derive(Debug)]
pub struct Interference {
    child: Child,
}

impl Interference {
    /// Starts the child on `core` for at most `limit`.
    ///
    /// # Errors
    ///
    /// If this process may not run on `core`, or the child cannot be started.
    pub fn start(core: usize, limit: Duration) -> Result<Interference, String> {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        if !cores.iter().any(|id| id.id == core) {
            let ids: Vec<usize> = cores.iter().map(|id| id.id).collect();
            return Err(format!(
                "--interference {core}: this process may run on cores {ids:?} only"
            ));
        }
        let program = std::env::current_exe().map_err(|e| format!("--interference: {e}"))?;
        let child = Command::new(program)
            .args([
                CHILD_FLAG.to_owned(),
                core.to_string(),
                limit.as_millis().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("--interference: cannot start the busy process: {e}"))?;
        // Give it time to pin itself and start spinning before anything is timed.
        thread::sleep(Duration::from_millis(50));
        Ok(Interference { child })
    }
}

impl Drop for Interference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the child's part and gives its exit code, if this process was started as the child
/// (call first thing in `main`); `None` otherwise.
pub fn run_child_if_asked() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some(CHILD_FLAG) {
        return None;
    }
    let parse = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let (Some(core), Some(limit_ms)) = (parse(1), parse(2)) else {
        eprintln!("{CHILD_FLAG} CORE LIMIT_MS");
        return Some(ExitCode::from(2));
    };
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core as usize });
    if !pinned {
        eprintln!("{CHILD_FLAG}: cannot pin to core {core}");
        return Some(ExitCode::FAILURE);
    }
    // Ends the process when the parent closes our standard input (or exits).
    thread::spawn(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    let deadline = Instant::now() + Duration::from_millis(limit_ms);
    let mut x = 1u64;
    while Instant::now() < deadline {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    Some(ExitCode::SUCCESS)
}

/// Starts the child on `core` (if given) for at most `limit`, saying so on standard error; or
/// exit code 2 with the reason.
pub fn start_or_exit(
    program: &str,
    core: Option<usize>,
    limit: Duration,
) -> Result<Option<Interference>, ExitCode> {
    let Some(core) = core else {
        return Ok(None);
    };
    match Interference::start(core, limit) {
        Ok(busy) => {
            eprintln!("{program}: a CPU-bound process runs on core {core} meanwhile");
            Ok(Some(busy))
        }
        Err(message) => {
            eprintln!("{program}: {message}");
            Err(ExitCode::from(2))
        }
    }
}
