//! Why a pool could not be built.

use std::error::Error;
use std::fmt;
use std::io;

use crate::topology::{NUM_THREADS_ENV, PLACEMENT_ENV};

/// A [`PhasePool`](crate::PhasePool) could not be built from the builder's settings, the
/// environment, or the operating system's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// [`threads(0)`](crate::PhasePoolBuilder::threads) was asked for: a team needs at least
    /// one worker (the calling thread).
    ZeroThreads,
    /// More workers than [`MAX_THREADS`](crate::MAX_THREADS) were asked for, through
    /// [`threads`](crate::PhasePoolBuilder::threads) or
    /// [`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV). Checked before anything is allocated.
    TooManyThreads {
        /// The requested number.
        threads: usize,
        /// The largest supported number.
        max: usize,
    },
    /// [`NUM_THREADS_ENV`](crate::NUM_THREADS_ENV) holds something other than a positive
    /// integer.
    InvalidNumThreadsEnv {
        /// The value found.
        value: String,
    },
    /// [`PLACEMENT_ENV`](crate::PLACEMENT_ENV) holds something other than `compact`, `spread`,
    /// `none` or a list of core ids.
    InvalidPlacementEnv {
        /// The value found.
        value: String,
    },
    /// [`PROFILE_ENV`](barrier_core::PROFILE_ENV) (`LOCKSTEP_PROFILE`) holds something other
    /// than `1`, `true`, `on`, `yes`, `0`, `false`, `off` or `no`.
    InvalidProfileEnv {
        /// The value found.
        value: String,
    },
    /// The team's barriers could not be built (for instance `LOCKSTEP_WAIT` holds an unknown
    /// wait policy, or the team is larger than a barrier supports).
    Barrier(barrier_core::BuildError),
    /// The operating system refused to start a worker thread.
    Spawn {
        /// The worker that could not be started (in `1..threads`).
        worker: usize,
        /// The kind of the I/O error.
        kind: io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroThreads => {
                f.write_str("a phase pool needs at least one thread (threads == 0)")
            }
            BuildError::TooManyThreads { threads, max } => write!(
                f,
                "a phase pool supports at most {max} threads, {threads} requested"
            ),
            BuildError::InvalidNumThreadsEnv { value } => write!(
                f,
                "{NUM_THREADS_ENV}={value:?} is not a thread count: use a positive integer"
            ),
            BuildError::InvalidPlacementEnv { value } => write!(
                f,
                "{PLACEMENT_ENV}={value:?} is not a placement: use compact, spread, none or a \
                 comma-separated list of core ids"
            ),
            BuildError::InvalidProfileEnv { value } => write!(
                f,
                "LOCKSTEP_PROFILE={value:?} is not a switch: use 1, true, on or yes to profile, \
                 0, false, off or no not to"
            ),
            BuildError::Barrier(error) => write!(f, "cannot build the pool's barrier: {error}"),
            BuildError::Spawn {
                worker, message, ..
            } => {
                write!(f, "cannot spawn worker thread {worker}: {message}")
            }
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BuildError::Barrier(error) => Some(error),
            _ => None,
        }
    }
}

impl From<barrier_core::BuildError> for BuildError {
    fn from(error: barrier_core::BuildError) -> BuildError {
        BuildError::Barrier(error)
    }
}
