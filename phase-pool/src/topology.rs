//! Where workers run: the environment overrides of the team size and [`Placement`], on top of
//! barrier-core's [`topology`](barrier_core::topology) module (usable cores, placements,
//! pinning).

use std::env;

use barrier_core::{topology, Placement};

use crate::error::BuildError;

/// The environment variable that chooses the number of workers when the builder does not: a
/// positive integer.
pub const NUM_THREADS_ENV: &str = "LOCKSTEP_NUM_THREADS";

/// The environment variable that chooses the workers' placement when the builder does not:
/// `compact`, `spread`, `none` or a comma-separated core list such as `0,2,4,6`
/// ([`Placement::parse`]).
pub const PLACEMENT_ENV: &str = "LOCKSTEP_PLACEMENT";

/// Parses a placement as [`PLACEMENT_ENV`] spells it; `Ok(None)` for an empty string.
pub(crate) fn parse_placement(value: &str) -> Result<Option<Placement>, BuildError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Placement::parse(value)
        .map(Some)
        .ok_or_else(|| BuildError::InvalidPlacementEnv {
            value: value.to_owned(),
        })
}

/// Reads the variable `name` with `parse`: `Ok(None)` when unset; `invalid(value)` when it is
/// not Unicode.
fn from_env<T>(
    name: &str,
    parse: fn(&str) -> Result<Option<T>, BuildError>,
    invalid: fn(String) -> BuildError,
) -> Result<Option<T>, BuildError> {
    match env::var(name) {
        Ok(value) => parse(&value),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(raw)) => Err(invalid(raw.to_string_lossy().into_owned())),
    }
}

/// Reads [`PLACEMENT_ENV`]: `Ok(None)` when unset or empty.
pub(crate) fn placement_from_env() -> Result<Option<Placement>, BuildError> {
    from_env(PLACEMENT_ENV, parse_placement, |value| {
        BuildError::InvalidPlacementEnv { value }
    })
}

/// Parses a thread count as [`NUM_THREADS_ENV`] spells it; `Ok(None)` for an empty string.
pub(crate) fn parse_num_threads(value: &str) -> Result<Option<usize>, BuildError> {
    match value.trim() {
        "" => Ok(None),
        text => match text.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(BuildError::InvalidNumThreadsEnv {
                value: value.to_owned(),
            }),
        },
    }
}

/// Reads [`NUM_THREADS_ENV`]: `Ok(None)` when unset or empty.
pub(crate) fn num_threads_from_env() -> Result<Option<usize>, BuildError> {
    from_env(NUM_THREADS_ENV, parse_num_threads, |value| {
        BuildError::InvalidNumThreadsEnv { value }
    })
}

/// The default team size: the physical cores, but no more than the cores this process may use
/// (its affinity mask and CPU quota).
pub(crate) fn default_threads() -> usize {
    topology::physical_cores()
        .min(topology::usable_core_count())
        .max(1)
}

/// The logical cores this thread may run on, in increasing order (none under loom, where
/// nothing is pinned).
pub(crate) fn usable_cores() -> Vec<usize> {
    if cfg!(lockstep_loom) {
        return Vec::new();
    }
    topology::usable_cores()
}

/// Pins the calling thread to `core`; `false` if the operating system refused, the id is out
/// of range, or under loom (barrier-core's pinning checks all three).
pub(crate) fn pin_current(core: usize) -> bool {
    topology::pin_current_thread(core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placements() {
        assert_eq!(parse_placement(" NONE "), Ok(Some(Placement::None)));
        assert_eq!(parse_placement("7"), Ok(Some(Placement::Cores(vec![7]))));
        assert_eq!(parse_placement(" "), Ok(None));
        assert_eq!(
            parse_placement("1,,2"),
            Err(BuildError::InvalidPlacementEnv {
                value: "1,,2".into()
            })
        );
    }

    #[test]
    fn parses_thread_counts() {
        assert_eq!(parse_num_threads(" 4 "), Ok(Some(4)));
        assert_eq!(parse_num_threads(""), Ok(None));
        for bad in ["0", "-1", "four", "1.5"] {
            assert_eq!(
                parse_num_threads(bad),
                Err(BuildError::InvalidNumThreadsEnv { value: bad.into() })
            );
        }
    }

    #[test]
    fn out_of_range_cores_are_not_pinned() {
        assert!(!pin_current(1 << 20));
        assert!(!pin_current(usize::MAX));
    }

    #[test]
    fn a_pinned_caller_keeps_the_default_team_and_its_cores() {
        std::thread::spawn(|| {
            let threads = default_threads();
            let cores = usable_cores();
            assert!(pin_current(cores[0]));
            assert_eq!(default_threads(), threads);
            assert_eq!(usable_cores(), cores);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn default_is_positive() {
        assert!(default_threads() >= 1);
    }
}
