//! Configuring and building a [`Barrier`].

use std::fmt;
use std::time::Duration;

use crate::action::Action;
use crate::algo::{Dissemination, Gather, Tree};
use crate::barrier::{Barrier, Mode};
use crate::error::BuildError;
use crate::seat::Seat;
use crate::seated::Seated;
use crate::state::MAX_PARTIES;
use crate::topology::{self, Placement};
use crate::wait::{prepare_fences, usable_cores, Budget, WaitPolicy};

/// The synchronisation algorithm behind a barrier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// One arrival counter and generation word: serves [`Barrier::wait`] from any thread, in
    /// Python's exact arrival-order indices. Every arrival updates one cache line, so its cost
    /// grows with the number of threads.
    Central,
    /// A combining tree of fan-in `fan_in` (at least 2) over seats: at most `fan_in` threads
    /// share a counter's cache line; the last arriver at the root completes the generation.
    /// Needs [`BarrierBuilder::build_seated`].
    Tree {
        /// Children per node.
        fan_in: usize,
    },
    /// `ceil(log2 parties)` rounds of pairwise flags per seat, with no shared counter: after
    /// its rounds a seat knows that every seat arrived and leaves, with no release hop (with an
    /// action, seat 0 runs it and then releases the others). Needs
    /// [`BarrierBuilder::build_seated`].
    ///
    /// Meant for pinned threads that each own a core: every round waits on one particular
    /// partner, and parked seats share one wake-up list, so every flag store wakes them all.
    /// With more threads than cores prefer [`Algorithm::Tree`] (8 threads on 2 cores: ~13 us
    /// per episode against ~7.4 us for a tree).
    Dissemination,
    /// Let lockstep choose. For [`build`](BarrierBuilder::build): [`Algorithm::Central`]. For
    /// [`build_seated`](BarrierBuilder::build_seated):
    /// - up to [`SMALL_TEAM`] parties, [`Algorithm::Central`]: one cache line shared by a few
    ///   threads is the cheapest hand-off (2 threads on the 2-core machine: ~40 ns against
    ///   ~75 ns for dissemination, which pays a CAS on its slot beside its rounds, and ~95 ns
    ///   for a tree, whose completer releases the others through one more cache line);
    /// - more parties than usable cores, a [`Algorithm::Tree`] of fan-in [`DEFAULT_FAN_IN`]:
    ///   with 8 threads on 2 cores it measured ~7.4 us against ~8.3 us (central) and ~13 us
    ///   (dissemination, whose rounds each wait on one partner that may be descheduled), all
    ///   near the ~7.5 us that the context switches alone cost there;
    /// - otherwise [`Algorithm::Dissemination`], which has no shared counter at all (the
    ///   textbook choice for pinned threads; not yet measured beyond 2 cores).
    #[default]
    Auto,
}

/// The fan-in of [`Algorithm::Auto`]'s tree: 4 children per node keeps a node's arrivals on one
/// cache line within a handful of hand-offs while halving the depth of a binary tree.
pub const DEFAULT_FAN_IN: usize = 4;

/// Up to this many parties [`Algorithm::Auto`] seats threads on the central algorithm.
pub const SMALL_TEAM: usize = 4;

/// Configures a [`Barrier`]: its action, default timeout, algorithm and wait policy.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use barrier_core::Barrier;
///
/// let generations = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&generations);
/// let barrier = Barrier::builder(2)
///     .action(move || { counter.fetch_add(1, Ordering::Relaxed); })
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// std::thread::scope(|s| {
///     s.spawn(|| barrier.wait().unwrap());
///     barrier.wait().unwrap();
/// });
/// assert_eq!(generations.load(Ordering::Relaxed), 1);
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct BarrierBuilder {
    parties: usize,
    action: Option<Box<dyn FnMut() + Send>>,
    timeout: Option<Duration>,
    algorithm: Algorithm,
    wait_policy: Option<WaitPolicy>,
    placement: Placement,
}

impl BarrierBuilder {
    pub(crate) fn new(parties: usize) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            action: None,
            timeout: None,
            algorithm: Algorithm::Auto,
            wait_policy: None,
            placement: Placement::Compact,
        }
    }

    /// Code run once per generation by the last arriving thread, after everyone has arrived
    /// and before anyone is released. If it panics the barrier breaks
    /// ([`BrokenCause::ActionPanicked`](crate::BrokenCause::ActionPanicked)) and the panic
    /// resumes in the thread that ran it.
    ///
    /// The action must not call `wait`, `reset` or `abort` on its own barrier: those calls panic.
    pub fn action(mut self, action: impl FnMut() + Send + 'static) -> BarrierBuilder {
        self.action = Some(Box::new(action));
        self
    }

    /// The timeout of [`Barrier::wait`] (default: none). `Duration::MAX`, or any timeout too
    /// large for the clock, means no deadline.
    pub fn timeout(mut self, timeout: Duration) -> BarrierBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The synchronisation algorithm (default [`Algorithm::Auto`]).
    pub fn algorithm(mut self, algorithm: Algorithm) -> BarrierBuilder {
        self.algorithm = algorithm;
        self
    }

    /// How waiting threads spin, yield and park; overrides the `LOCKSTEP_WAIT` environment
    /// variable (default [`WaitPolicy::Adaptive`]).
    pub fn wait_policy(mut self, policy: WaitPolicy) -> BarrierBuilder {
        self.wait_policy = Some(policy);
        self
    }

    /// Which core each seat of [`build_seated`](BarrierBuilder::build_seated) is assigned
    /// (default [`Placement::Compact`]); a thread pins itself with [`Seat::pin`].
    pub fn placement(mut self, placement: Placement) -> BarrierBuilder {
        self.placement = placement;
        self
    }

    /// Builds the barrier.
    ///
    /// # Errors
    ///
    /// - [`BuildError::ZeroParties`] when `parties == 0`;
    /// - [`BuildError::TooManyParties`] beyond the supported maximum;
    /// - [`BuildError::InvalidWaitPolicyEnv`] when no policy was set here and `LOCKSTEP_WAIT`
    ///   holds an unknown value;
    /// - [`BuildError::NeedsSeats`] for [`Algorithm::Tree`] and [`Algorithm::Dissemination`],
    ///   which need [`build_seated`](BarrierBuilder::build_seated).
    pub fn build(self) -> Result<Barrier, BuildError> {
        match self.algorithm {
            Algorithm::Central | Algorithm::Auto => self.finish(Mode::Anonymous),
            algorithm => Err(BuildError::NeedsSeats { algorithm }),
        }
    }

    /// Builds the barrier with one [`Seat`] per party, for threads with a fixed identity (such
    /// as pinned workers): `seats[i].index() == i`. Each thread waits through its own seat.
    ///
    /// With [`Algorithm::Central`] the seats simply call [`Barrier::wait`] (which stays usable);
    /// with [`Algorithm::Tree`] and [`Algorithm::Dissemination`], `Barrier::wait` panics.
    ///
    /// # Errors
    ///
    /// As [`build`](BarrierBuilder::build), except `NeedsSeats`; and
    /// [`BuildError::FanInTooSmall`] for a tree of fan-in below 2.
    pub fn build_seated(self) -> Result<(Barrier, Vec<Seat>), BuildError> {
        let parties = self.parties;
        let algorithm = match self.algorithm {
            Algorithm::Auto if parties <= usable_cores() => Algorithm::Dissemination,
            Algorithm::Auto => Algorithm::Tree {
                fan_in: DEFAULT_FAN_IN,
            },
            chosen => chosen,
        };
        let gather = match algorithm {
            Algorithm::Tree { fan_in } if fan_in < 2 => {
                return Err(BuildError::FanInTooSmall { fan_in })
            }
            Algorithm::Tree { fan_in } => Some(Gather::Tree(Tree::new(parties.max(1), fan_in))),
            Algorithm::Dissemination => {
                Some(Gather::Dissemination(Dissemination::new(parties.max(1))))
            }
            Algorithm::Central | Algorithm::Auto => None,
        };
        let mode = match gather {
            None => Mode::Anonymous,
            Some(gather) => Mode::Seated(Box::new(Seated::new(
                gather,
                self.action.is_some(),
                self.placement.assign(parties, &topology::usable_cores()),
            ))),
        };
        let barrier = self.finish(mode)?;
        let seats = (0..parties)
            .map(|index| Seat::new(barrier.clone(), index))
            .collect();
        Ok((barrier, seats))
    }

    fn finish(self, mode: Mode) -> Result<Barrier, BuildError> {
        if self.parties == 0 {
            return Err(BuildError::ZeroParties);
        }
        if self.parties > MAX_PARTIES {
            return Err(BuildError::TooManyParties {
                parties: self.parties,
                max: MAX_PARTIES,
            });
        }
        let policy = WaitPolicy::resolve(self.wait_policy)?;
        let budget = Budget::new(policy, self.parties, usable_cores());
        if budget.parks {
            // Registers membarrier now, so that notifying is cheap from the first episode on.
            prepare_fences();
        }
        let action = self.action.map(Action::new);
        Ok(Barrier::from_parts(
            self.parties,
            action,
            self.timeout,
            budget,
            mode,
        ))
    }
}

impl fmt::Debug for BarrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierBuilder")
            .field("parties", &self.parties)
            .field("action", &self.action.as_ref().map(|_| ".."))
            .field("timeout", &self.timeout)
            .field("algorithm", &self.algorithm)
            .field("wait_policy", &self.wait_policy)
            .field("placement", &self.placement)
            .finish()
    }
}
