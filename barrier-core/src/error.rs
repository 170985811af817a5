//! The errors of barrier-core.

use std::error::Error;
use std::fmt;

/// Why a barrier was broken, carried by every [`BrokenBarrierError`].
///
/// # Examples
///
/// Deciding what to do after a failed wait (the enum is `#[non_exhaustive]`, so a `match`
/// needs a catch-all arm):
///
/// ```
/// use std::panic::{catch_unwind, AssertUnwindSafe};
/// use std::time::Duration;
/// use barrier_core::{Barrier, BrokenCause};
///
/// fn next_step(barrier: &Barrier) -> &'static str {
///     match barrier.wait_timeout(Duration::from_millis(1)) {
///         Ok(_) => "go on",
///         Err(error) => match error.cause() {
///             BrokenCause::TimedOut => "a party is late: reset and retry",
///             BrokenCause::Aborted => "shutting down",
///             BrokenCause::Reset => "start the step over",
///             BrokenCause::ActionPanicked => "the action has a bug",
///             _ => "unknown",
///         },
///     }
/// }
///
/// let barrier = Barrier::new(2);
/// assert_eq!(next_step(&barrier), "a party is late: reset and retry");
/// // Later callers get the cause of the break, until a reset.
/// assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::TimedOut);
/// barrier.reset();
/// barrier.abort();
/// assert_eq!(next_step(&barrier), "shutting down");
///
/// let faulty = Barrier::builder(1).action(|| -> () { panic!("bug in the action") }).build()?;
/// // The panic resumes in the thread that ran the action...
/// assert!(catch_unwind(AssertUnwindSafe(|| faulty.wait())).is_err());
/// // ...and the barrier stays broken.
/// assert_eq!(next_step(&faulty), "the action has a bug");
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrokenCause {
    /// [`Barrier::abort`](crate::Barrier::abort) was called.
    Aborted,
    /// [`Barrier::reset`](crate::Barrier::reset) was called while this thread was waiting.
    Reset,
    /// A waiter's timeout expired before the generation was complete.
    TimedOut,
    /// The barrier's action panicked.
    ActionPanicked,
    /// The barrier's action returned [`ControlFlow::Break`](std::ops::ControlFlow::Break):
    /// its generation was released, and the barrier is finished until
    /// [`reset`](crate::Barrier::reset) (see [`Barrier::is_finished`](crate::Barrier::is_finished)).
    Finished,
}

impl BrokenCause {
    pub(crate) const fn code(self) -> u8 {
        match self {
            BrokenCause::Aborted => 1,
            BrokenCause::Reset => 2,
            BrokenCause::TimedOut => 3,
            BrokenCause::ActionPanicked => 4,
            BrokenCause::Finished => 5,
        }
    }

    pub(crate) const fn from_code(code: u8) -> Option<BrokenCause> {
        match code {
            1 => Some(BrokenCause::Aborted),
            2 => Some(BrokenCause::Reset),
            3 => Some(BrokenCause::TimedOut),
            4 => Some(BrokenCause::ActionPanicked),
            5 => Some(BrokenCause::Finished),
            _ => None,
        }
    }
}

/// The barrier was broken, or reset, while this thread waited or before it arrived
/// (Python's `threading.BrokenBarrierError`).
///
/// Every waiter of one generation gets the same outcome: either all of them return `Ok`, or all
/// of them get this error.
///
/// # Examples
///
/// ```
/// use barrier_core::{Barrier, BrokenCause};
///
/// let barrier = Barrier::new(2);
/// barrier.abort();
/// match barrier.wait() {
///     Err(e) if e.cause() == BrokenCause::Aborted => eprintln!("giving up: {e}"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BrokenBarrierError {
    cause: BrokenCause,
}

impl BrokenBarrierError {
    pub(crate) const fn new(cause: BrokenCause) -> Self {
        BrokenBarrierError { cause }
    }

    /// Why the barrier broke.
    #[must_use]
    pub const fn cause(&self) -> BrokenCause {
        self.cause
    }
}

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.cause {
            BrokenCause::Aborted => "barrier is broken: it was aborted",
            BrokenCause::Reset => "barrier was reset while this thread waited",
            BrokenCause::TimedOut => "barrier is broken: a waiter timed out",
            BrokenCause::ActionPanicked => "barrier is broken: its action panicked",
            BrokenCause::Finished => "barrier is finished: its action ended the run",
        })
    }
}

impl Error for BrokenBarrierError {}

/// A change of a barrier's parties was refused
/// ([`Barrier::add_parties`](crate::Barrier::add_parties)).
///
/// # Examples
///
/// ```
/// use barrier_core::{Barrier, MembershipError, MAX_PARTIES};
///
/// let barrier = Barrier::new(2);
/// let error = barrier.add_parties(MAX_PARTIES).unwrap_err();
/// assert!(matches!(error, MembershipError::TooManyParties { .. }));
/// let (seated, _seats) = Barrier::builder(4).build_seated().unwrap();
/// assert!(matches!(seated.add_parties(1), Err(MembershipError::Seated { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipError {
    /// The barrier would have more than `max` parties.
    TooManyParties {
        /// The largest supported number ([`MAX_PARTIES`](crate::MAX_PARTIES)).
        max: usize,
    },
    /// A seated barrier's parties are its seats, fixed when it is built.
    Seated {
        /// The barrier's algorithm: `"tree"` or `"dissemination"`.
        algorithm: &'static str,
    },
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::TooManyParties { max } => {
                write!(f, "a barrier can have at most {max} parties")
            }
            MembershipError::Seated { algorithm } => write!(
                f,
                "a seated ({algorithm}) barrier's parties are its seats, fixed when it is built"
            ),
        }
    }
}

impl Error for MembershipError {}

/// Why [`Seat::leave`](crate::Seat::leave) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum LeaveError {
    /// A seat of a dissemination barrier cannot leave (its rounds are laid out for a fixed
    /// team): the seat, given back, still belongs to the barrier.
    Seated {
        /// The seat.
        seat: crate::Seat,
        /// The barrier's algorithm: `"dissemination"`.
        algorithm: &'static str,
    },
    /// The seat left, but the generation it arrived in failed, or the barrier was broken.
    Broken(BrokenBarrierError),
}

impl fmt::Display for LeaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaveError::Seated { algorithm, .. } => write!(
                f,
                "a seat of a {algorithm} barrier cannot leave: its layout is for a fixed team"
            ),
            LeaveError::Broken(error) => write!(f, "the seat left; {error}"),
        }
    }
}

impl Error for LeaveError {}

/// A barrier could not be built from the builder's settings.
///
/// # Examples
///
/// ```
/// use barrier_core::{Algorithm, Barrier, BuildError};
///
/// assert_eq!(Barrier::builder(0).build().unwrap_err(), BuildError::ZeroParties);
/// let tree = Algorithm::Tree { fan_in: 1 };
/// let error = Barrier::builder(4).algorithm(tree).build_seated().unwrap_err();
/// assert_eq!(error.to_string(), "a tree barrier needs a fan-in of at least 2, got 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `parties` was zero: a barrier needs at least one party.
    ZeroParties,
    /// `parties` exceeds what the state word can count ([`MAX_PARTIES`](crate::MAX_PARTIES)).
    /// Checked before anything is allocated.
    TooManyParties {
        /// The requested number.
        parties: usize,
        /// The largest supported number.
        max: usize,
    },
    /// The storage a seated barrier of this many parties needs (seats, their slots, tree nodes
    /// or dissemination flags, their cores) could not be allocated.
    OutOfMemory {
        /// The requested number of parties.
        parties: usize,
        /// The size of the allocation that failed, in bytes (`usize::MAX` when it does not
        /// fit a `usize`).
        bytes: usize,
    },
    /// A tree barrier needs a fan-in of at least 2.
    FanInTooSmall {
        /// The requested fan-in.
        fan_in: usize,
    },
    /// [`build`](crate::BarrierBuilder::build) was asked for an algorithm that needs a fixed
    /// identity per thread: use [`build_seated`](crate::BarrierBuilder::build_seated).
    NeedsSeats {
        /// The algorithm requested.
        algorithm: crate::Algorithm,
    },
    /// The environment variable `LOCKSTEP_WAIT` holds a value other than `spin`, `park` or
    /// `adaptive`.
    InvalidWaitPolicyEnv {
        /// The value found.
        value: String,
    },
    /// The environment variable `LOCKSTEP_PROFILE` holds a value other than those listed on
    /// [`PROFILE_ENV`](crate::PROFILE_ENV).
    InvalidProfileEnv {
        /// The value found.
        value: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroParties => {
                f.write_str("a barrier needs at least one party (parties == 0)")
            }
            BuildError::TooManyParties { parties, max } => {
                write!(
                    f,
                    "a barrier supports at most {max} parties, {parties} requested"
                )
            }
            BuildError::OutOfMemory { parties, bytes } => write!(
                f,
                "cannot allocate {bytes} bytes for a barrier of {parties} parties"
            ),
            BuildError::FanInTooSmall { fan_in } => {
                write!(
                    f,
                    "a tree barrier needs a fan-in of at least 2, got {fan_in}"
                )
            }
            BuildError::NeedsSeats { algorithm } => write!(
                f,
                "{algorithm:?} needs a fixed identity per thread: use build_seated() and wait \
                 through the seats"
            ),
            BuildError::InvalidWaitPolicyEnv { value } => write!(
                f,
                "LOCKSTEP_WAIT={value:?} is not a wait policy: use spin, park or adaptive"
            ),
            BuildError::InvalidProfileEnv { value } => write!(
                f,
                "LOCKSTEP_PROFILE={value:?} is not a switch: use 1, true, on or yes to profile, \
                 0, false, off or no not to"
            ),
        }
    }
}

impl Error for BuildError {}
