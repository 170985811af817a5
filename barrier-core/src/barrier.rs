//! [`Barrier`]: the public handle of every barrier, with the semantics of Python's
//! `threading.Barrier` and the split-phase, membership and termination additions. It
//! dispatches to the central algorithm (`central.rs`) or, for a seated barrier, to the seated
//! protocol (`seated.rs`); both are written on the shared core (`core.rs`).
//!
//! The protocol (states, transitions, orderings, races) is written down in `README.md` beside
//! this file.

use std::fmt;
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::arrival::Arrival;
use crate::builder::BarrierBuilder;
use crate::central::{Arrived, Central, Change};
use crate::core::Core;
use crate::error::{BrokenBarrierError, BrokenCause, MembershipError};
use crate::profile::{BarrierProfile, Counters};
use crate::seated::SeatTable;
use crate::state::Stage;
use crate::sync::Arc;
use crate::wait::Budget;

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
    mode: Mode,
}

/// How threads arrive.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Any thread calls `wait`; arrivals count in the state word (the central algorithm).
    Anonymous(Central),
    /// Fixed seats gather through a scalable algorithm; see `seat.rs`.
    Seated(Box<SeatTable>),
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
        let central = self.central("wait");
        self.core()
            .profiled(None, || central.wait(self.core(), timeout))
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
    #[inline]
    pub fn arrive(&self) -> Result<Arrival<'_>, BrokenBarrierError> {
        let arrived = self.central("arrive").arrive(self.core())?;
        Ok(self.arrival(arrived))
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
        let arrived = self
            .central("arrive_and_drop")
            .arrive_and_drop(self.core())?;
        Ok(self.arrival(arrived))
    }

    /// The [`Arrival`] of an arrival at the central algorithm.
    #[inline]
    fn arrival(&self, arrived: Arrived) -> Arrival<'_> {
        match arrived {
            Arrived::Waiting { generation, index } => {
                let full = self.core().widen(generation);
                Arrival::central(self, full, generation, index)
            }
            Arrived::Released { generation, index } => {
                Arrival::released(self.core().widen(generation), index)
            }
        }
    }

    /// Whether generation `generation` (the state word's field) of an anonymous barrier, which
    /// the caller joined and has not left, was released.
    #[inline]
    pub(crate) fn is_released(&self, generation: u64) -> bool {
        Central::is_released(self.core(), generation)
    }

    /// Waits for the outcome of generation `generation` (the state word's field) of an
    /// anonymous barrier, which the caller joined.
    #[inline]
    pub(crate) fn await_decision(
        &self,
        generation: u64,
        deadline: Option<Instant>,
    ) -> Result<(), BrokenBarrierError> {
        self.central("wait")
            .await_decision(self.core(), generation, deadline)
    }

    /// One party leaves without arriving (a central seat leaving a broken or resetting
    /// barrier): from the generation after the reset on.
    pub(crate) fn drop_party(&self) {
        self.central("leave").drop_party(self.core());
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
        match &self.shared.mode {
            Mode::Seated(seated) => Err(MembershipError::Seated {
                algorithm: seated.algorithm_name(),
            }),
            Mode::Anonymous(central) => central.record_change(self.core(), Change::Add(k)),
        }
    }

    /// The central algorithm of an anonymous barrier, for `operation`; a seated barrier's
    /// threads must go through their seats.
    #[inline]
    fn central(&self, operation: &str) -> &Central {
        match &self.shared.mode {
            Mode::Anonymous(central) => central,
            Mode::Seated(_) => refuse_seated(operation),
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
        match &self.shared.mode {
            Mode::Seated(seated) => seated.reset(self.core()),
            Mode::Anonymous(central) => central.reset(self.core()),
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
        match &self.shared.mode {
            Mode::Seated(seated) => seated.abort(self.core()),
            Mode::Anonymous(central) => central.abort(self.core()),
        }
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
            Mode::Anonymous(_) => state.count(),
            Mode::Seated(seated) => seated.n_waiting(self.parties()),
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
            Mode::Anonymous(_) => self.core().full_generation(self.core().load()),
            Mode::Seated(seated) => seated.generation(self.core().load()),
        }
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

#[cold]
fn refuse_seated(operation: &str) -> ! {
    panic!(
        "Barrier::{operation} on a barrier built with build_seated(): its algorithm needs a \
         fixed identity per thread, so {operation} through the thread's Seat instead"
    );
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
