//! Helpers shared by the `heat`, `jacobi` and `life` examples (included by each with
//! `#[path = "common/mod.rs"] mod common;`): flag parsing and the pool they run on.

use lockstep::pool::{BuildError, PhasePool};

/// A clap value parser for whole numbers of at least `min`, whose error says so.
pub fn at_least(min: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync {
    move |text| match text.parse::<usize>() {
        Ok(value) if value >= min => Ok(value),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(error) => Err(error.to_string()),
    }
}

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
