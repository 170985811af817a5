//! Helpers shared by the examples (included by each with `#[path = "common/mod.rs"] mod
//! common;`): flag parsing and the pool they run on. Not every example uses every helper.
#![allow(dead_code, reason = "each example uses a subset of these helpers")]

use std::process::ExitCode;

use lockstep::pool::{BuildError, PhasePool};

/// [`build_pool`], or exit code 2 with the reason on standard error.
pub fn pool_or_exit(program: &str, threads: Option<usize>) -> Result<PhasePool, ExitCode> {
    build_pool(threads).map_err(|error| {
        eprintln!("{program}: cannot build the pool: {error}");
        ExitCode::from(2)
    })
}

#[path = "flags.rs"]
mod flags;

#[allow(unused_imports, reason = "only the clap-based examples parse with it")]
pub use flags::at_least;

/// The value of a flag: `given` if the user gave it, else the default of the mode.
pub fn or_default<T>(given: Option<T>, quick: bool, default: T, quick_default: T) -> T {
    given.unwrap_or(if quick { quick_default } else { default })
}

/// A pool of `threads` workers, the calling thread included; `None` leaves the size to the
/// pool (the physical cores, or `LOCKSTEP_NUM_THREADS`).
pub fn build_pool(threads: Option<usize>) -> Result<PhasePool, BuildError> {
    let mut builder = PhasePool::builder();
    if let Some(threads) = threads {
        builder = builder.threads(threads);
    }
    builder.build()
}

/// Starts this program again with `OMP_PROC_BIND=close` where its OpenMP peers need it (see
/// `omp_peers::rerun_with_proc_bind_close`) and gives that run's exit code; `None`: carry on.
pub fn rerun_for_openmp(program: &str) -> Option<ExitCode> {
    match omp_peers::rerun_with_proc_bind_close() {
        Ok(Some(status)) => Some(ExitCode::from(
            status.code().map_or(1, |c| c.clamp(0, 255) as u8),
        )),
        Ok(None) => None,
        Err(error) => {
            eprintln!("{program}: cannot start again with OMP_PROC_BIND=close: {error}");
            None
        }
    }
}
