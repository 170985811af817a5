//! Configuring and building a [`Barrier`].

use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

use crate::action::{Action, ActionOutcome};
use crate::algo::{Dissemination, Gather, Tree};
use crate::alloc::{out_of_memory, try_collect};
use crate::barrier::{Barrier, Mode};
use crate::central::Central;
use crate::error::BuildError;
use crate::profile::{self, Counters};
use crate::seat::Seat;
use crate::seated::SeatTable;
use crate::state::MAX_PARTIES;
use crate::topology::{self, Placement};
use crate::wait::{prepare_fences, Budget, WaitPolicy};

/// The synchronisation algorithm behind a barrier.
///
/// # Examples
///
/// [`Algorithm::Central`] serves [`Barrier::wait`] from any thread; the seated algorithms need
/// [`build_seated`](BarrierBuilder::build_seated), and [`Algorithm::Auto`] lets lockstep pick
/// one for the team:
///
/// ```
/// use barrier_core::{Algorithm, Barrier, BuildError};
///
/// let central = Barrier::builder(2).algorithm(Algorithm::Central).build()?;
/// std::thread::scope(|s| {
///     s.spawn(|| central.wait().unwrap());
///     central.wait().unwrap();
/// });
///
/// let tree = Algorithm::Tree { fan_in: 2 };
/// let error = Barrier::builder(4).algorithm(tree).build().unwrap_err();
/// assert_eq!(error, BuildError::NeedsSeats { algorithm: tree });
///
/// for algorithm in [tree, Algorithm::Dissemination, Algorithm::Auto] {
///     let (_barrier, seats) = Barrier::builder(4).algorithm(algorithm).build_seated()?;
///     let total: usize = std::thread::scope(|s| {
///         let handles: Vec<_> = seats
///             .into_iter()
///             .map(|seat| s.spawn(move || (0..100).map(|_| seat.wait().unwrap()).sum::<usize>()))
///             .collect();
///         handles.into_iter().map(|h| h.join().unwrap()).sum()
///     });
///     // Every generation hands out the indices 0, 1, 2 and 3 once each.
///     assert_eq!(total, 100 * (0 + 1 + 2 + 3), "{algorithm:?}");
/// }
/// # Ok::<(), BuildError>(())
/// ```
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
    /// `ceil(log4 parties)` rounds of flags per seat (in each round a seat signals three
    /// partners and waits for three), with no shared counter: after its rounds a seat knows
    /// that every seat arrived and leaves, with no release hop (with an action, seat 0 runs it
    /// and then releases the others). Needs [`BarrierBuilder::build_seated`].
    ///
    /// Meant for pinned threads that each own a core: every round waits on particular
    /// partners, so a partner that is switched out delays its whole round. With more threads
    /// than cores prefer [`Algorithm::Tree`]. Measured episode costs against the tree, the
    /// central barrier, std and hurdles are in the repository's `BENCHMARKS.md`.
    Dissemination,
    /// Let lockstep choose. For [`build`](BarrierBuilder::build): [`Algorithm::Central`]. For
    /// [`build_seated`](BarrierBuilder::build_seated):
    /// - up to 2 parties, [`Algorithm::Central`]: one cache line shared by two threads is the
    ///   cheapest hand-off (dissemination pays a CAS on its slot beside its rounds, a tree one
    ///   more cache line for its release);
    /// - more parties than usable cores, a [`Algorithm::Tree`] of fan-in [`DEFAULT_FAN_IN`]:
    ///   a switched-out thread delays only its own node, not a round of partners;
    /// - otherwise [`Algorithm::Dissemination`], which has no shared counter at all.
    ///
    /// These choices follow `barrier_compare`'s measurements on 2 and 16 cores
    /// (`BENCHMARKS.md`).
    #[default]
    Auto,
}

/// The fan-in of [`Algorithm::Auto`]'s tree: 4 children per node keeps a node's arrivals on one
/// cache line within a handful of hand-offs while halving the depth of a binary tree. Part of
/// the stable API, for building `Algorithm::Tree { fan_in: DEFAULT_FAN_IN }`.
pub const DEFAULT_FAN_IN: usize = 4;

/// Up to this many parties [`Algorithm::Auto`] seats threads on the central algorithm.
pub(crate) const SMALL_TEAM: usize = 2;

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
    action: Option<Box<dyn FnMut() -> ControlFlow<()> + Send>>,
    timeout: Option<Duration>,
    algorithm: Algorithm,
    wait_policy: Option<WaitPolicy>,
    placement: Placement,
    profile: Option<bool>,
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
            profile: None,
        }
    }

    /// Code run once per generation by the last arriving thread, after everyone has arrived
    /// and before anyone is released. If it panics the barrier breaks
    /// ([`BrokenCause::ActionPanicked`](crate::BrokenCause::ActionPanicked)) and the panic
    /// resumes in the thread that ran it.
    ///
    /// The action must not call `wait`, `reset` or `abort` on its own barrier: those calls panic.
    ///
    /// # Examples
    ///
    /// The action runs once per generation, before anyone is released, so every thread sees
    /// what it wrote as soon as its `wait` returns:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use barrier_core::Barrier;
    ///
    /// let generation = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&generation);
    /// let barrier = Barrier::builder(3)
    ///     .action(move || { counter.fetch_add(1, Ordering::Relaxed); })
    ///     .build()?;
    /// std::thread::scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| {
    ///             for round in 1..=100 {
    ///                 barrier.wait().unwrap();
    ///                 // The next action waits for this thread's next arrival.
    ///                 assert_eq!(generation.load(Ordering::Relaxed), round);
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(generation.load(Ordering::Relaxed), 100, "once per generation");
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    ///
    /// An action that returns [`ControlFlow<()>`] can end the run: `Break` releases its
    /// generation as usual and *finishes* the barrier, which every thread of that generation
    /// sees through [`Barrier::is_finished`] as soon as its `wait` returns; later waits fail
    /// with [`BrokenCause::Finished`](crate::BrokenCause::Finished) until
    /// [`reset`](Barrier::reset). A time-step loop ends without an extra episode:
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use barrier_core::{Barrier, BrokenCause};
    ///
    /// let steps = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&steps);
    /// let barrier = Barrier::builder(3)
    ///     .action(move || {
    ///         // Converged after 10 steps (a residual test, in a real solver).
    ///         if counter.fetch_add(1, Ordering::Relaxed) + 1 == 10 {
    ///             ControlFlow::Break(())
    ///         } else {
    ///             ControlFlow::Continue(())
    ///         }
    ///     })
    ///     .build()?;
    /// std::thread::scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| {
    ///             let mut mine = 0;
    ///             while barrier.wait().is_ok() && !barrier.is_finished() {
    ///                 mine += 1; // one time step
    ///             }
    ///             assert_eq!(mine, 9, "every thread stops after the same step");
    ///         });
    ///     }
    /// });
    /// assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::Finished);
    /// barrier.reset();
    /// assert!(!barrier.is_finished(), "a reset revives it");
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    pub fn action<R: ActionOutcome>(
        mut self,
        mut action: impl FnMut() -> R + Send + 'static,
    ) -> BarrierBuilder {
        self.action = Some(Box::new(move || action().into_control_flow()));
        self
    }

    /// The timeout of [`Barrier::wait`] (default: none). `Duration::MAX`, or any timeout too
    /// large for the clock, means no deadline.
    ///
    /// It applies to [`Barrier::wait`] and [`Seat::wait`]; [`Barrier::wait_timeout`] and
    /// [`Seat::wait_timeout`] override it for one call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use barrier_core::{Barrier, BrokenCause};
    ///
    /// let barrier = Barrier::builder(2).timeout(Duration::from_millis(1)).build()?;
    /// // The other party never comes: the plain `wait` gives up after the default timeout.
    /// assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::TimedOut);
    /// assert!(barrier.is_broken());
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> BarrierBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The synchronisation algorithm (default [`Algorithm::Auto`]).
    ///
    /// See [the example on `Algorithm`](Algorithm#examples), and
    /// [`build_seated`](BarrierBuilder::build_seated) for the seated algorithms.
    pub fn algorithm(mut self, algorithm: Algorithm) -> BarrierBuilder {
        self.algorithm = algorithm;
        self
    }

    /// How waiting threads spin, yield and park; overrides the `LOCKSTEP_WAIT` environment
    /// variable (default [`WaitPolicy::Adaptive`]).
    ///
    /// See [the example on `WaitPolicy`](WaitPolicy#examples) for choosing one.
    ///
    /// # Examples
    ///
    /// A policy set here wins over the environment, which is then not read, even when it holds
    /// an invalid value:
    ///
    /// ```
    /// use barrier_core::{Barrier, BuildError, WaitPolicy, WAIT_POLICY_ENV};
    ///
    /// std::env::set_var(WAIT_POLICY_ENV, "fast"); // before any thread starts
    /// assert!(matches!(
    ///     Barrier::builder(2).build(),
    ///     Err(BuildError::InvalidWaitPolicyEnv { .. })
    /// ));
    /// let barrier = Barrier::builder(1).wait_policy(WaitPolicy::Park).build()?;
    /// assert_eq!(barrier.wait(), Ok(0));
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn wait_policy(mut self, policy: WaitPolicy) -> BarrierBuilder {
        self.wait_policy = Some(policy);
        self
    }

    /// Which core each seat of [`build_seated`](BarrierBuilder::build_seated) is assigned
    /// (default [`Placement::Compact`]); a thread pins itself with [`Seat::pin`].
    ///
    /// Only the seats of [`Algorithm::Tree`] and [`Algorithm::Dissemination`] get cores; a
    /// central barrier's seats have none.
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::{topology, Algorithm, Barrier, Placement};
    ///
    /// let tree = Algorithm::Tree { fan_in: 2 };
    /// // An explicit core list, reused round-robin when seats outnumber it.
    /// let (_barrier, seats) = Barrier::builder(3)
    ///     .algorithm(tree)
    ///     .placement(Placement::Cores(vec![1, 0]))
    ///     .build_seated()?;
    /// let cores: Vec<Option<usize>> = seats.iter().map(|seat| seat.core()).collect();
    /// assert_eq!(cores, [Some(1), Some(0), Some(1)]);
    ///
    /// // The default: seat `i` on the `i`-th core of this process's affinity mask.
    /// let (_barrier, seats) = Barrier::builder(2).algorithm(tree).build_seated()?;
    /// let cores: Vec<Option<usize>> = seats.iter().map(|seat| seat.core()).collect();
    /// assert_eq!(cores, Placement::Compact.assign(2, &topology::usable_cores()));
    ///
    /// // No placement: no cores, and `pin` does nothing.
    /// let (_barrier, seats) = Barrier::builder(2)
    ///     .algorithm(tree)
    ///     .placement(Placement::None)
    ///     .build_seated()?;
    /// assert!(seats.iter().all(|seat| seat.core().is_none() && seat.pin().is_none()));
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    pub fn placement(mut self, placement: Placement) -> BarrierBuilder {
        self.placement = placement;
        self
    }

    /// Whether the barrier counts its episodes and how its waits went, for
    /// [`Barrier::profile`](crate::Barrier::profile). Without this call the environment
    /// variable [`LOCKSTEP_PROFILE`](crate::PROFILE_ENV) decides, and without that, off. Off,
    /// a wait costs what it did before (one predictable branch); on, see
    /// [`BarrierProfile`](crate::BarrierProfile).
    pub fn profile(mut self, on: bool) -> BarrierBuilder {
        self.profile = Some(on);
        self
    }

    /// Builds the barrier.
    ///
    /// # Errors
    ///
    /// - [`BuildError::ZeroParties`] when `parties == 0`;
    /// - [`BuildError::TooManyParties`] beyond [`MAX_PARTIES`](crate::MAX_PARTIES);
    /// - [`BuildError::InvalidWaitPolicyEnv`] when no policy was set here and `LOCKSTEP_WAIT`
    ///   holds an unknown value;
    /// - [`BuildError::NeedsSeats`] for [`Algorithm::Tree`] and [`Algorithm::Dissemination`],
    ///   which need [`build_seated`](BarrierBuilder::build_seated).
    ///
    /// - [`BuildError::InvalidProfileEnv`] when profiling was not chosen here and
    ///   `LOCKSTEP_PROFILE` holds an unknown value.
    pub fn build(self) -> Result<Barrier, BuildError> {
        self.check_parties()?;
        match self.algorithm {
            Algorithm::Central | Algorithm::Auto => {
                let policy = WaitPolicy::resolve(self.wait_policy)?;
                let profile = profile::resolve(self.profile)?;
                Ok(self.finish(policy, profile, Mode::Anonymous(Central::default())))
            }
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
    /// - [`BuildError::FanInTooSmall`] for a tree of fan-in below 2 (any larger fan-in, up to
    ///   `usize::MAX`, is accepted);
    /// - [`BuildError::OutOfMemory`] when the seats and their storage (a few cache lines per
    ///   seat, more for dissemination) cannot be allocated.
    ///
    /// Every setting is checked before anything is allocated.
    ///
    /// # Examples
    ///
    /// Four threads on a binary tree, each waiting through its own seat. In every generation
    /// the indices form a permutation of `0..4`, and the seat that completed the generation,
    /// which ran the action, gets 3:
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::thread::{self, ThreadId};
    /// use barrier_core::{Algorithm, Barrier};
    ///
    /// const ROUNDS: usize = 50;
    /// let completers: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    /// let record = Arc::clone(&completers);
    /// let (_barrier, seats) = Barrier::builder(4)
    ///     .algorithm(Algorithm::Tree { fan_in: 2 })
    ///     .action(move || record.lock().unwrap().push(thread::current().id()))
    ///     .build_seated()?;
    /// assert!(seats.iter().enumerate().all(|(i, seat)| seat.index() == i));
    /// let runs: Vec<(ThreadId, Vec<usize>)> = thread::scope(|s| {
    ///     let handles: Vec<_> = seats
    ///         .into_iter()
    ///         .map(|seat| {
    ///             s.spawn(move || {
    ///                 let indices = (0..ROUNDS).map(|_| seat.wait().unwrap()).collect();
    ///                 (thread::current().id(), indices)
    ///             })
    ///         })
    ///         .collect();
    ///     handles.into_iter().map(|h| h.join().unwrap()).collect()
    /// });
    /// let completers = completers.lock().unwrap();
    /// assert_eq!(completers.len(), ROUNDS);
    /// for round in 0..ROUNDS {
    ///     let mut indices: Vec<usize> = runs.iter().map(|(_, indices)| indices[round]).collect();
    ///     let (completer, _) = runs.iter().find(|(_, indices)| indices[round] == 3).unwrap();
    ///     assert_eq!(*completer, completers[round]);
    ///     indices.sort();
    ///     assert_eq!(indices, [0, 1, 2, 3]);
    /// }
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    pub fn build_seated(self) -> Result<(Barrier, Vec<Seat>), BuildError> {
        self.check_parties()?;
        let parties = self.parties;
        let algorithm = match self.algorithm {
            Algorithm::Auto => auto_seated(parties, topology::usable_core_count()),
            chosen => chosen,
        };
        if let Algorithm::Tree { fan_in } = algorithm {
            if fan_in < 2 {
                return Err(BuildError::FanInTooSmall { fan_in });
            }
        }
        let policy = WaitPolicy::resolve(self.wait_policy)?;
        let profile = profile::resolve(self.profile)?;
        // Checked above: 1 <= parties <= MAX_PARTIES. From here on every allocation sized by
        // `parties` is fallible (see `alloc.rs`).
        let gather = match algorithm {
            Algorithm::Tree { fan_in } => Some(Gather::Tree(Tree::new(parties, fan_in)?)),
            Algorithm::Dissemination => Some(Gather::Dissemination(Dissemination::new(parties)?)),
            Algorithm::Central | Algorithm::Auto => None,
        };
        let mode = match gather {
            None => Mode::Anonymous(Central::default()),
            Some(gather) => {
                let usable = topology::usable_cores();
                let cores = try_collect(parties, parties, self.placement.cores(parties, &usable))?;
                Mode::Seated(Box::new(SeatTable::new(
                    gather,
                    self.action.is_some(),
                    cores,
                )?))
            }
        };
        // Reserved before the barrier exists, so that a failure leaves no seat to drop.
        let mut seats = Vec::new();
        seats
            .try_reserve_exact(parties)
            .map_err(|_| out_of_memory::<Seat>(parties, Some(parties)))?;
        let barrier = self.finish(policy, profile, mode);
        seats.extend((0..parties).map(|index| Seat::new(barrier.clone(), index)));
        Ok((barrier, seats))
    }

    /// Checks the party count, before anything is allocated.
    fn check_parties(&self) -> Result<(), BuildError> {
        if self.parties == 0 {
            return Err(BuildError::ZeroParties);
        }
        if self.parties > MAX_PARTIES {
            return Err(BuildError::TooManyParties {
                parties: self.parties,
                max: MAX_PARTIES,
            });
        }
        Ok(())
    }

    fn finish(self, policy: WaitPolicy, profile: bool, mode: Mode) -> Barrier {
        let budget = Budget::new(policy, self.parties, topology::usable_core_count());
        if budget.parks {
            // Registers membarrier now, so that notifying is cheap from the first episode on.
            prepare_fences();
        }
        let action = self.action.map(Action::new);
        // One set of counters per seat, so that profiling seats do not share a line; an
        // anonymous barrier's threads spread over a few sets (`Counters::for_this_thread`).
        let sets = match &mode {
            Mode::Anonymous(_) => profile::ANONYMOUS_SETS,
            Mode::Seated(_) => self.parties,
        };
        let counters = profile.then(|| (0..sets).map(|_| Counters::default()).collect());
        Barrier::from_parts(self.parties, action, self.timeout, budget, mode, counters)
    }
}

/// [`Algorithm::Auto`]'s choice for a seated team of `parties` in a process with `cores` usable
/// cores (the rule and its figures are on [`Algorithm::Auto`]).
fn auto_seated(parties: usize, cores: usize) -> Algorithm {
    if parties <= SMALL_TEAM {
        Algorithm::Central
    } else if parties > cores {
        Algorithm::Tree {
            fan_in: DEFAULT_FAN_IN,
        }
    } else {
        Algorithm::Dissemination
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
            .field("profile", &self.profile)
            .field("placement", &self.placement)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_seats_small_teams_centrally_and_oversubscribed_ones_on_a_tree() {
        let tree = Algorithm::Tree {
            fan_in: DEFAULT_FAN_IN,
        };
        for cores in [1, 2, 16] {
            for parties in 1..=SMALL_TEAM {
                assert_eq!(auto_seated(parties, cores), Algorithm::Central);
            }
        }
        assert_eq!(auto_seated(SMALL_TEAM + 1, 2), tree);
        assert_eq!(auto_seated(33, 32), tree);
        assert_eq!(auto_seated(SMALL_TEAM + 1, 16), Algorithm::Dissemination);
        assert_eq!(auto_seated(16, 16), Algorithm::Dissemination);
    }
}
