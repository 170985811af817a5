//! [`Barrier`]: Python's `threading.Barrier`, on one packed state word.
//!
//! The protocol (states, transitions, orderings, races) is written down in `README.md` beside
//! this file.

use std::fmt;
use std::ops::ControlFlow;
use std::panic::resume_unwind;
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::arrival::Arrival;
use crate::builder::BarrierBuilder;
use crate::core::{broken, cause_of, is_decided, Core};
use crate::error::{BrokenBarrierError, BrokenCause, MembershipError};
use crate::profile::{BarrierProfile, Counters};
use crate::seated::SeatTable;
use crate::state::{Stage, State};
use crate::sync::{Arc, Mutex};
use crate::wait::{deadline_after, Budget, TimedOut};

/// A reusable barrier for a fixed number of threads, with the semantics of Python's
/// `threading.Barrier`.
///
/// `parties` threads call [`wait`](Barrier::wait); the last to arrive runs the optional action,
/// then all of them are released together. Each `wait` returns the caller's arrival index in
/// `0..parties` (the last arriver gets `parties - 1`). A timeout, [`abort`](Barrier::abort) or
/// a panicking action breaks the barrier: every waiter of that generation, and every later
/// caller until [`reset`](Barrier::reset), gets a [`BrokenBarrierError`].
///
/// `Barrier` is a cheap handle: clones share one barrier.
///
/// **Memory ordering**: everything a thread wrote before its `wait` of generation *k* is visible
/// to every thread after its `wait` of generation *k* returns (whatever the outcome), and so is
/// everything the action of generation *k* wrote.
///
/// # Examples
///
/// ```
/// use barrier_core::Barrier;
///
/// let barrier = Barrier::new(3);
/// let indices: Vec<usize> = std::thread::scope(|s| {
///     let handles: Vec<_> = (0..3).map(|_| s.spawn(|| barrier.wait().unwrap())).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).collect()
/// });
/// let mut sorted = indices.clone();
/// sorted.sort();
/// assert_eq!(sorted, [0, 1, 2]);
/// ```
#[derive(Clone)]
pub struct Barrier {
    shared: Arc<Shared>,
}

/// What every handle of one barrier shares.
struct Shared {
    core: Core,
    /// Changes of the parties recorded for the end of the open generation (central only).
    membership: Mutex<Membership>,
    mode: Mode,
}

/// Changes of the parties waiting for the end of the open generation.
#[derive(Debug, Default)]
struct Membership {
    added: usize,
    dropped: usize,
}

/// A change of the parties, recorded for the end of the open generation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Add(usize),
    Drop,
}

/// How threads arrive.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Any thread calls `wait`; arrivals count in the state word (the central algorithm).
    Anonymous,
    /// Fixed seats gather through a scalable algorithm; see `seat.rs`.
    Seated(Box<SeatTable>),
}

/// How an arrival joined its generation.
enum Joined {
    /// Not last: wait for the generation's outcome.
    Waiting { generation: u64, index: usize },
    /// Last, and the barrier has no action: the joining CAS released the generation.
    Released { generation: u64 },
    /// Last, with an action to run before deciding the generation.
    Complete { generation: u64 },
}

impl Barrier {
    /// A barrier for `parties` threads, with no action, no timeout and the default algorithm
    /// and wait policy.
    ///
    /// # Panics
    ///
    /// If `parties == 0`, or if `LOCKSTEP_WAIT` holds an unknown value; use
    /// [`Barrier::builder`] to get these as a [`BuildError`](crate::BuildError) instead.
    #[must_use]
    pub fn new(parties: usize) -> Barrier {
        match Barrier::builder(parties).build() {
            Ok(barrier) => barrier,
            Err(error) => panic!("Barrier::new({parties}): {error}"),
        }
    }

    /// A builder for a barrier of `parties` threads.
    pub fn builder(parties: usize) -> BarrierBuilder {
        BarrierBuilder::new(parties)
    }

    pub(crate) fn from_parts(
        parties: usize,
        action: Option<Action>,
        default_timeout: Option<Duration>,
        budget: Budget,
        mode: Mode,
        counters: Option<Box<[Counters]>>,
    ) -> Barrier {
        let shared = Shared {
            core: Core::new(parties, action, default_timeout, budget, counters),
            membership: Mutex::new(Membership::default()),
            mode,
        };
        Barrier {
            shared: Arc::new(shared),
        }
    }

    /// Waits until all parties have called `wait`, with the barrier's default timeout.
    ///
    /// Returns this thread's arrival index in `0..parties`; the last arriver gets
    /// `parties - 1` and has run the action before anyone returns.
    ///
    /// # Examples
    ///
    /// Three threads meet once; the thread that gets index `parties - 1` is the one that ran
    /// the action:
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::thread::{self, ThreadId};
    /// use barrier_core::Barrier;
    ///
    /// let ran_action: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    /// let record = Arc::clone(&ran_action);
    /// let barrier = Barrier::builder(3)
    ///     .action(move || *record.lock().unwrap() = Some(thread::current().id()))
    ///     .build()?;
    /// let arrivals: Vec<(usize, ThreadId)> = thread::scope(|s| {
    ///     let handles: Vec<_> = (0..3)
    ///         .map(|_| s.spawn(|| (barrier.wait().unwrap(), thread::current().id())))
    ///         .collect();
    ///     handles.into_iter().map(|h| h.join().unwrap()).collect()
    /// });
    /// let mut indices: Vec<usize> = arrivals.iter().map(|&(index, _)| index).collect();
    /// indices.sort();
    /// assert_eq!(indices, [0, 1, 2], "one arrival index per thread");
    /// let (_, last) = arrivals.iter().find(|&&(index, _)| index == 2).unwrap();
    /// assert_eq!(*ran_action.lock().unwrap(), Some(*last), "the last arriver ran the action");
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken when this thread arrives, or breaks or is
    /// reset before this generation is released. If this thread's timeout expires first, the
    /// barrier breaks for everyone ([`BrokenCause::TimedOut`]) until [`reset`](Barrier::reset).
    ///
    /// # Panics
    ///
    /// Resumes the action's panic in the thread that ran it (the last arriver). Panics if called
    /// from inside this barrier's own action.
    #[inline]
    pub fn wait(&self) -> Result<usize, BrokenBarrierError> {
        self.wait_with(self.core().default_timeout())
    }

    /// Like [`wait`](Barrier::wait), with `timeout` instead of the default. `Duration::ZERO`
    /// breaks the barrier at once unless this thread is the last to arrive; `Duration::MAX`
    /// waits forever.
    ///
    /// The timeout starts once this thread has joined a generation: time spent waiting for a
    /// previous generation to finish its action or its reset does not count.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use barrier_core::{Barrier, BrokenCause};
    ///
    /// let barrier = Barrier::new(2);
    /// // Nobody else arrives: the wait times out and breaks the barrier for everyone.
    /// let error = barrier.wait_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(error.cause(), BrokenCause::TimedOut);
    /// assert!(barrier.is_broken());
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait`](Barrier::wait).
    #[inline]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        self.wait_with(Some(timeout))
    }

    #[inline]
    pub(crate) fn wait_with(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        self.core().profiled(None, || self.wait_central(timeout))
    }

    /// What this barrier's waits did since the last call (take-and-reset): episodes, waits
    /// that spun, yielded or slept, wake-up delays. Every count is zero, and
    /// [`enabled`](BarrierProfile::enabled) false, unless the barrier was built with
    /// [`profile(true)`](BarrierBuilder::profile) or `LOCKSTEP_PROFILE=1`.
    ///
    /// See [`BarrierProfile`] for an example.
    #[must_use]
    pub fn profile(&self) -> BarrierProfile {
        self.core().take_profile()
    }

    /// Counts this thread into the filling generation and returns at once (split-phase): the
    /// last arriver runs the action here. The returned [`Arrival`]'s
    /// [`wait`](Arrival::wait) then returns what [`wait`](Barrier::wait) would have, so work that
    /// does not need the others can overlap the barrier (C++20's `arrive` and `wait(token)`,
    /// Java's `Phaser::arrive` and `awaitAdvance`).
    ///
    /// Abort, reset and timeouts treat an arrived thread as a waiting one: one outcome per
    /// generation. The timeout of its wait starts when it calls [`Arrival::wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// std::thread::scope(|s| {
    ///     for _ in 0..2 {
    ///         s.spawn(|| {
    ///             let arrival = barrier.arrive().unwrap();
    ///             let overlapped: u64 = (0..1000).sum(); // needs nobody else
    ///             let index = arrival.wait().unwrap();
    ///             assert!(index < 2 && overlapped == 499_500);
    ///         });
    ///     }
    /// });
    /// assert_eq!(barrier.generation(), 1);
    /// ```
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken (or finished) when this thread arrives.
    ///
    /// # Panics
    ///
    /// As [`wait`](Barrier::wait): resumes the action's panic in the last arriver; panics on a
    /// seated barrier (arrive through a [`Seat`](crate::Seat)) or inside its own action.
    pub fn arrive(&self) -> Result<Arrival<'_>, BrokenBarrierError> {
        self.assert_anonymous("arrive");
        let (generation, outcome) = match self.join()? {
            Joined::Waiting { generation, index } => {
                let full = self.core().widen(generation);
                return Ok(Arrival::central(self, full, generation, index));
            }
            Joined::Released { generation } => {
                self.core().notify();
                (generation, Ok(self.parties() - 1))
            }
            Joined::Complete { generation } => (generation, self.complete(generation)),
        };
        Ok(Arrival::decided(self.core().widen(generation), outcome))
    }

    /// Arrives in the filling generation and leaves the barrier: from the next generation on
    /// it has one party fewer (Java's `arriveAndDeregister`, C++20's `arrive_and_drop`). The
    /// returned [`Arrival`] is waited for, or dropped, like any (dropping waits): a thread
    /// counted into a generation that fails must count itself out of it. The party leaves
    /// whatever that generation's outcome.
    ///
    /// When the last party leaves, the barrier is finished ([`is_finished`](Barrier::is_finished),
    /// [`BrokenCause::Finished`]), and stays so through `reset` until
    /// [`add_parties`](Barrier::add_parties) gives it parties again.
    ///
    /// # Examples
    ///
    /// A worker that is done leaves; the others go on without it:
    ///
    /// ```
    /// use barrier_core::Barrier;
    ///
    /// let barrier = Barrier::new(3);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| barrier.arrive_and_drop().unwrap().wait().unwrap());
    ///     for _ in 0..2 {
    ///         s.spawn(|| {
    ///             for _ in 0..5 {
    ///                 barrier.wait().unwrap();
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(barrier.parties(), 2);
    /// assert_eq!(barrier.generation(), 5);
    /// ```
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken (or finished) when this thread arrives;
    /// then it does not leave.
    ///
    /// # Panics
    ///
    /// As [`arrive`](Barrier::arrive). A seated barrier's seats leave with
    /// [`Seat::leave`](crate::Seat::leave).
    pub fn arrive_and_drop(&self) -> Result<Arrival<'_>, BrokenBarrierError> {
        self.assert_anonymous("arrive_and_drop");
        loop {
            let current = self.core().load();
            let parties = self.parties();
            if current.stage() != Stage::Filling || current.count() >= parties {
                self.wait_until_joinable()?;
                continue;
            }
            let index = current.count();
            // Under the lock, so that the completer of this generation, which takes it to
            // apply the changes, sees this one.
            let mut membership = self.membership();
            let joined = self
                .core()
                .compare_exchange(current, current.joined().with_membership_pending());
            if joined.is_err() {
                continue;
            }
            membership.dropped += 1;
            drop(membership);
            let generation = current.generation();
            if index + 1 == parties {
                let outcome = self.complete(generation);
                return Ok(Arrival::decided(self.core().widen(generation), outcome));
            }
            return Ok(Arrival::central(
                self,
                self.core().widen(generation),
                generation,
                index,
            ));
        }
    }

    /// Adds `k` parties from the next generation on (Java's `bulkRegister`, .NET's
    /// `AddParticipants`): the generation that is filling now still needs its old count. On a
    /// broken barrier, from the generation after the reset. Returns the parties the next
    /// generation will have.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = barrier_core::Barrier::new(1);
    /// assert_eq!(barrier.add_parties(1).unwrap(), 2);
    /// barrier.wait().unwrap(); // generation 0 still had one party
    /// assert_eq!(barrier.parties(), 2);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| barrier.wait().unwrap());
    ///     barrier.wait().unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// [`MembershipError::TooManyParties`] past [`MAX_PARTIES`](crate::MAX_PARTIES);
    /// [`MembershipError::Seated`] on a seated barrier, whose seats are fixed when it is built.
    ///
    /// # Panics
    ///
    /// If called from inside this barrier's own action.
    pub fn add_parties(&self, k: usize) -> Result<usize, MembershipError> {
        if let Mode::Seated(seated) = &self.shared.mode {
            return Err(MembershipError::Seated {
                algorithm: seated.algorithm_name(),
            });
        }
        self.record_change(Change::Add(k))
    }

    /// One party leaves without arriving (a seat leaving a broken or resetting barrier): from
    /// the generation after the reset on.
    pub(crate) fn drop_party(&self) {
        let recorded = self.record_change(Change::Drop);
        debug_assert!(recorded.is_ok(), "a drop never exceeds the limit");
    }

    /// Records `change` for the end of the open generation (see README.md, "Membership");
    /// returns the parties the next generation will have.
    fn record_change(&self, change: Change) -> Result<usize, MembershipError> {
        // Inside the action its generation is full: the change would wait for it forever.
        self.core().assert_not_in_action("add_parties");
        loop {
            let current = self.core().load();
            if self.action_runs(current) {
                // Its completer applies the changes recorded so far: wait for the next one.
                self.wait_out_action(current);
                continue;
            }
            let mut membership = self.membership();
            let now = self.parties() + membership.added - membership.dropped;
            let future = match change {
                Change::Add(k) => now.checked_add(k).filter(|&p| p <= crate::MAX_PARTIES),
                Change::Drop => Some(now.saturating_sub(1)),
            };
            let Some(future) = future else {
                return Err(MembershipError::TooManyParties {
                    max: crate::MAX_PARTIES,
                });
            };
            if change == Change::Add(0) {
                return Ok(future);
            }
            if self.mark_membership(current) {
                match change {
                    Change::Add(k) => membership.added += k,
                    Change::Drop => membership.dropped += 1,
                }
                return Ok(future);
            }
        }
    }

    /// Sets the membership bit on `current` if the state still is `current` (the caller holds
    /// the membership lock and records its change if this succeeds).
    fn mark_membership(&self, current: State) -> bool {
        // The lock orders the recorded change with the completer's reading of it.
        self.core()
            .compare_exchange(current, current.with_membership_pending())
            .is_ok()
    }

    fn assert_anonymous(&self, operation: &str) {
        if let Mode::Seated(_) = self.shared.mode {
            panic!(
                "Barrier::{operation} on a barrier built with build_seated(): its algorithm \
                 needs a fixed identity per thread, so {operation} through the thread's Seat \
                 instead"
            );
        }
    }

    #[inline]
    fn wait_central(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        self.assert_anonymous("wait");
        match self.join()? {
            Joined::Waiting { generation, index } => self
                .await_decision(generation, deadline_after(timeout))
                .map(|()| index),
            Joined::Released { .. } => {
                self.core().notify();
                Ok(self.parties() - 1)
            }
            Joined::Complete { generation } => self.complete(generation),
        }
    }

    /// Joins the filling generation with one CAS, first waiting out a running action or reset.
    #[inline]
    fn join(&self) -> Result<Joined, BrokenBarrierError> {
        let core = self.core();
        // Acquire: the parties read below must be those of the generation this state belongs
        // to, published by the CAS that started it (a stale state only makes the CAS fail).
        let mut current = self.core().load();
        loop {
            let mut parties = self.parties();
            if current.stage() != Stage::Filling || current.count() >= parties {
                current = self.wait_until_joinable()?;
                parties = self.parties();
            }
            let index = current.count();
            let last = index + 1 == parties;
            // A pending membership change needs the generation completed, not released in this
            // CAS, so that the change is applied before the next generation starts.
            let releases = last && core.action().is_none() && !current.membership_pending();
            let next = if releases {
                current.next_generation()
            } else {
                current.joined()
            };
            // AcqRel. Release: this arrival's earlier writes travel in the release sequence
            // that the generation's releasing CAS ends, read by every waiter's Acquire poll.
            // Acquire: the last arriver reads that sequence, so it (and its action) sees every
            // earlier arrival's writes.
            // Failure Acquire: as the load above.
            match core.compare_exchange_weak(current, next) {
                Ok(()) if releases => {
                    core.started_generation(next);
                    return Ok(Joined::Released {
                        generation: current.generation(),
                    });
                }
                Ok(()) if last => {
                    return Ok(Joined::Complete {
                        generation: current.generation(),
                    })
                }
                Ok(()) => {
                    return Ok(Joined::Waiting {
                        generation: current.generation(),
                        index,
                    })
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Waits until a generation is filling with room for one more, or fails if the barrier is
    /// broken. Not counted toward the caller's timeout.
    #[cold]
    fn wait_until_joinable(&self) -> Result<State, BrokenBarrierError> {
        self.core().assert_not_in_action("wait");
        let joinable = self
            .core()
            .wait_for_state(None, |state| match state.stage() {
                Stage::Broken => Some(Err(broken(state))),
                Stage::Filling if state.count() < self.parties() => Some(Ok(state)),
                // A reset draining its waiters, or a full generation running its action.
                _ => None,
            });
        joinable.unwrap_or_else(|TimedOut| unreachable!("waited without a deadline"))
    }

    /// Whether generation `generation` (the field), which this thread joined and has not
    /// left, was released: while it is inside, the generation only moves on by a release.
    pub(crate) fn is_released(&self, generation: u64) -> bool {
        !self.core().load().is_generation(generation)
    }

    /// Waits until generation `generation`, which this thread joined, is released (`Ok`) or
    /// fails (this thread leaves it and gets the error).
    #[cold]
    pub(crate) fn await_decision(
        &self,
        generation: u64,
        mut deadline: Option<Instant>,
    ) -> Result<(), BrokenBarrierError> {
        loop {
            let decided = self.core().wait_for_state(deadline, |state| {
                is_decided(state, generation).then_some(state)
            });
            match decided {
                Ok(state) if !state.is_generation(generation) => return Ok(()),
                Ok(_) => return Err(self.leave(generation)),
                Err(TimedOut) => match self.break_on_timeout(generation) {
                    Some(true) => return Ok(()),
                    Some(false) => return Err(self.leave(generation)),
                    // Everyone has arrived and the action runs: the generation's outcome is
                    // the action's, so wait for it without a deadline (as CPython does).
                    None => deadline = None,
                },
            }
        }
    }

    /// This waiter's deadline passed: break the barrier unless the generation was decided or is
    /// complete. `Some(true)`: released meanwhile; `Some(false)`: failed (this thread's timeout
    /// or another reason), leave it; `None`: complete, the action decides.
    #[cold]
    fn break_on_timeout(&self, generation: u64) -> Option<bool> {
        let parties = self.parties();
        let mut outcome = None;
        let changed = self.core().transition(|state| {
            if !state.is_generation(generation) {
                outcome = Some(true);
                None
            } else if state.stage() != Stage::Filling {
                outcome = Some(false);
                None
            } else if state.count() == parties {
                outcome = None;
                None
            } else {
                outcome = Some(false);
                Some(state.failed(Stage::Broken, BrokenCause::TimedOut))
            }
        });
        if changed.is_some() {
            self.core().notify();
        }
        outcome
    }

    /// Leaves failed generation `generation` (see `Core::leave`).
    pub(crate) fn leave(&self, generation: u64) -> BrokenBarrierError {
        self.core()
            .leave(generation, |drained| self.start_generation(drained))
    }

    /// The last arriver runs the action, then releases the generation or, if the action
    /// panicked, breaks it, and resumes the panic. Nothing else can decide a complete
    /// generation: timeouts are refused, abort and reset wait for the action.
    fn complete(&self, generation: u64) -> Result<usize, BrokenBarrierError> {
        let parties = self.parties();
        let outcome = match &self.core().action() {
            Some(action) => action.run(),
            None => Ok(ControlFlow::Continue(())),
        };
        let (_, after) = self
            .core()
            .transition(|state| {
                debug_assert!(
                    state.is_generation(generation) && self.action_runs(state),
                    "{state:?} was decided during the action of generation {generation}"
                );
                Some(match outcome {
                    Ok(ControlFlow::Continue(())) => self.start_generation(state),
                    // Released (the generation moved on) and finished in the same word, so every
                    // waiter that sees its release also sees the end.
                    Ok(ControlFlow::Break(())) => self.start_generation(state).finished(),
                    Err(_) => state
                        .failed(Stage::Broken, BrokenCause::ActionPanicked)
                        .with_count(state.count() - 1),
                })
            })
            .expect("deciding a complete generation always changes the state");
        if outcome.is_ok() {
            self.core().started_generation(after);
        }
        self.core().notify();
        match outcome {
            Ok(_) => Ok(parties - 1),
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Returns the barrier to its empty state (Python's `reset()`).
    ///
    /// Threads waiting in the current generation get [`BrokenBarrierError`]
    /// ([`BrokenCause::Reset`], or the break's cause if the barrier was broken); threads that
    /// arrive meanwhile wait until those have left, then form a new generation. A broken
    /// barrier with nobody inside is repaired at once. A reset with nobody waiting does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::{Barrier, BrokenCause};
    ///
    /// let barrier = Barrier::new(2);
    /// std::thread::scope(|s| {
    ///     let waiter = s.spawn(|| barrier.wait());
    ///     while barrier.n_waiting() == 0 {
    ///         std::thread::yield_now();
    ///     }
    ///     barrier.reset();
    ///     assert_eq!(waiter.join().unwrap().unwrap_err().cause(), BrokenCause::Reset);
    /// });
    /// assert!(!barrier.is_broken(), "a reset does not leave the barrier broken");
    /// ```
    ///
    /// # Panics
    ///
    /// If called from inside this barrier's own action.
    pub fn reset(&self) {
        self.core().assert_not_in_action("reset");
        if let Mode::Seated(seated) = &self.shared.mode {
            return seated.reset(self.core());
        }
        loop {
            let state = self.core().load();
            let next = match state.stage() {
                Stage::Filling if self.action_runs(state) => {
                    self.wait_out_action(state);
                    continue;
                }
                Stage::Filling if state.count() == 0 => return,
                Stage::Filling => state.failed(Stage::Resetting, BrokenCause::Reset),
                Stage::Resetting => return,
                // With no parties left it stays finished (until `add_parties`).
                Stage::Broken if state.count() == 0 => match self.start_generation(state) {
                    next if next == state => return,
                    next => next,
                },
                Stage::Broken => state.failed(Stage::Resetting, cause_of(state)),
            };
            if self.core().replace(state, |_| next) {
                self.core().started_generation(next);
                return;
            }
        }
    }

    /// Breaks the barrier (Python's `abort()`): current waiters and every later `wait` get
    /// [`BrokenBarrierError`] ([`BrokenCause::Aborted`]) until [`reset`](Barrier::reset).
    ///
    /// A generation already released is not affected: all its waiters return `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::{Barrier, BrokenCause};
    ///
    /// let barrier = Barrier::new(3);
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// assert_eq!(barrier.wait().unwrap_err().cause(), BrokenCause::Aborted);
    /// ```
    ///
    /// # Panics
    ///
    /// If called from inside this barrier's own action.
    pub fn abort(&self) {
        self.core().assert_not_in_action("abort");
        if let Mode::Seated(seated) = &self.shared.mode {
            return seated.abort(self.core());
        }
        loop {
            let state = self.core().load();
            let next = match state.stage() {
                Stage::Broken => return,
                Stage::Filling if self.action_runs(state) => {
                    self.wait_out_action(state);
                    continue;
                }
                Stage::Filling | Stage::Resetting => {
                    state.failed(Stage::Broken, BrokenCause::Aborted)
                }
            };
            if self.core().replace(state, |_| next) {
                return;
            }
        }
    }

    /// Whether `state` is a complete generation whose action runs (only then is a filling
    /// generation full: without an action the last arrival releases in the same CAS).
    fn action_runs(&self, state: State) -> bool {
        state.stage() == Stage::Filling && state.count() == self.parties()
    }

    /// Waits until the action seen running in `state` has decided its generation: `abort` and
    /// `reset` wait for it, as CPython's do (its action holds the lock they need), so a
    /// complete generation's outcome is always the action's.
    #[cold]
    fn wait_out_action(&self, state: State) {
        let decided = self
            .core()
            .wait_for_state(None, |now| (now != state).then_some(()));
        decided.unwrap_or_else(|TimedOut| unreachable!("waited without a deadline"));
    }

    /// The number of threads needed to pass the barrier.
    #[must_use]
    #[inline]
    pub fn parties(&self) -> usize {
        self.core().parties()
    }

    /// The shared core: state word, parkers, budget, action.
    #[inline]
    pub(crate) fn core(&self) -> &Core {
        &self.shared.core
    }

    /// The number of threads waiting in the filling generation: 0 while a reset drains or the
    /// barrier is broken, `parties` while the action runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = barrier_core::Barrier::new(2);
    /// assert_eq!((barrier.n_waiting(), barrier.parties()), (0, 2));
    /// std::thread::scope(|s| {
    ///     s.spawn(|| barrier.wait().unwrap());
    ///     while barrier.n_waiting() == 0 {
    ///         std::thread::yield_now();
    ///     }
    ///     assert_eq!(format!("{barrier:?}"), "Barrier(waiters=1/2)");
    ///     barrier.wait().unwrap();
    /// });
    /// ```
    #[must_use]
    pub fn n_waiting(&self) -> usize {
        let state = self.core().load();
        match &self.shared.mode {
            _ if state.stage() != Stage::Filling => 0,
            Mode::Anonymous => state.count(),
            Mode::Seated(seated) => seated.n_waiting(),
        }
    }

    /// The generations this barrier has ended: released, or failed and then reset (a failed
    /// generation ends when the barrier fills again). Java's `Phaser::getPhase`, counting from
    /// 0; a snapshot, like [`n_waiting`](Barrier::n_waiting).
    ///
    /// A thread whose `wait` in generation `g` returned `Ok` reads at least `g + 1`; an
    /// [`Arrival`](crate::Arrival) tells the generation it joined.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = barrier_core::Barrier::new(1);
    /// assert_eq!(barrier.generation(), 0);
    /// barrier.wait().unwrap();
    /// barrier.wait().unwrap();
    /// assert_eq!(barrier.generation(), 2);
    /// barrier.abort();
    /// barrier.reset();
    /// assert_eq!(barrier.generation(), 3, "the aborted generation ended at the reset");
    /// ```
    #[must_use]
    pub fn generation(&self) -> u64 {
        match &self.shared.mode {
            Mode::Anonymous => self.core().full_generation(self.core().load()),
            Mode::Seated(seated) => seated.generation(self.core().load()),
        }
    }

    /// The first state of the generation after `state`, which is full or failed (so nobody
    /// can join it): applies the membership changes recorded for its end first. With no
    /// parties left, the barrier is finished instead (`state` itself if it already was).
    fn start_generation(&self, state: State) -> State {
        let parties = if state.membership_pending() {
            self.settle_membership()
        } else {
            self.parties()
        };
        if parties > 0 {
            state.next_generation()
        } else if !state.membership_pending()
            && state.stage() == Stage::Broken
            && state.cause() == Some(BrokenCause::Finished)
        {
            state
        } else {
            state.next_generation().finished()
        }
    }

    /// Applies the recorded membership changes to `parties`; the new count. Only while no
    /// generation can be joined (see `start_generation`), so it may run again if the CAS that
    /// follows fails: the changes are taken once.
    #[cold]
    fn settle_membership(&self) -> usize {
        let mut membership = self.membership();
        let parties = self.parties() + membership.added - membership.dropped;
        *membership = Membership::default();
        self.core().set_parties(parties);
        parties
    }

    fn membership(&self) -> crate::sync::MutexGuard<'_, Membership> {
        self.shared
            .membership
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the barrier is broken (Python's `broken`). A [finished](Barrier::is_finished)
    /// barrier is broken too: its waits fail.
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.core().load().stage() == Stage::Broken
    }

    /// Whether the action ended the run: it returned
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break), that generation was released, and
    /// later waits fail with [`BrokenCause::Finished`] until [`reset`](Barrier::reset).
    ///
    /// Every thread of the finishing generation sees `true` as soon as its `wait` returns, so
    /// `while barrier.wait().is_ok() && !barrier.is_finished() { step() }` stops every thread
    /// after the same step. See [`BarrierBuilder::action`] for an example.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        let state = self.core().load();
        state.stage() != Stage::Filling && state.cause() == Some(BrokenCause::Finished)
    }

    #[inline]
    pub(crate) fn mode(&self) -> &Mode {
        &self.shared.mode
    }
}

impl fmt::Debug for Barrier {
    /// `Barrier(waiters=N/P)` or `Barrier(broken)`, like Python's repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_broken() {
            f.write_str("Barrier(broken)")
        } else {
            write!(
                f,
                "Barrier(waiters={}/{})",
                self.n_waiting(),
                self.parties()
            )
        }
    }
}
