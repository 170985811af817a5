//! Configuring and building a [`Barrier`].

use std::fmt;
use std::time::Duration;

use crate::action::Action;
use crate::barrier::Barrier;
use crate::error::BuildError;
use crate::state::MAX_PARTIES;
use crate::wait::{usable_cores, Budget, WaitPolicy};

/// The synchronisation algorithm behind a barrier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// One arrival counter and generation word: serves [`Barrier::wait`] from any thread, in
    /// Python's exact arrival-order indices. Every arrival updates one cache line, so its cost
    /// grows with the number of threads.
    Central,
    /// Let lockstep choose. Currently always [`Algorithm::Central`].
    #[default]
    Auto,
}

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
}

impl BarrierBuilder {
    pub(crate) fn new(parties: usize) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            action: None,
            timeout: None,
            algorithm: Algorithm::Auto,
            wait_policy: None,
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

    /// Builds the barrier.
    ///
    /// # Errors
    ///
    /// - [`BuildError::ZeroParties`] when `parties == 0`;
    /// - [`BuildError::TooManyParties`] beyond the supported maximum;
    /// - [`BuildError::InvalidWaitPolicyEnv`] when no policy was set here and `LOCKSTEP_WAIT`
    ///   holds an unknown value.
    pub fn build(self) -> Result<Barrier, BuildError> {
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
        Ok(Barrier::from_parts(
            self.parties,
            self.action.map(Action::new),
            self.timeout,
            budget,
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
            .finish()
    }
}
