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
    build_pool_profiled(threads, false)
}

/// [`build_pool`], recording a profile when `profile` is set (otherwise `LOCKSTEP_PROFILE`
/// decides).
pub fn build_pool_profiled(threads: Option<usize>, profile: bool) -> Result<PhasePool, BuildError> {
    let mut builder = PhasePool::builder();
    if let Some(threads) = threads {
        builder = builder.threads(threads);
    }
    if profile {
        builder = builder.profile(true);
    }
    builder.build()
}

/// Takes `pool`'s profile, writes its tables to `out` and, with `picture`, draws its timeline
/// there. Returns false (after saying why) when the picture cannot be written.
pub fn report_profile(
    program: &str,
    pool: &PhasePool,
    picture: Option<&std::path::Path>,
    out: &mut dyn std::io::Write,
) -> bool {
    let profile = pool.profile();
    if !profile.is_enabled() {
        return true;
    }
    let _ = write!(out, "{profile}");
    match picture {
        None => true,
        Some(path) => match profile.draw_timeline(path) {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "{program}: profile timeline written to {}",
                    path.display()
                );
                true
            }
            Err(error) => {
                eprintln!(
                    "{program}: cannot draw the profile to {}: {error}",
                    path.display()
                );
                false
            }
        },
    }
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
