//! [`Seat`]: a fixed place at a seated barrier, for one thread.

use std::cell::Cell;
use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

use std::panic::resume_unwind;
use std::time::Instant;

use crate::algo::{Dissemination, Gather, Reached, COMPLETER_SEAT};
use crate::arrival::Arrival;
use crate::barrier::{Barrier, Mode};
use crate::core::{broken, Core};
use crate::error::{BrokenBarrierError, BrokenCause, LeaveError};
use crate::seated::SeatTable;
use crate::state::{Stage, State};
use crate::sync::{AtomicU64, Ordering};
use crate::topology;
use crate::wait::{deadline_after, Parker, TimedOut};

/// One thread's fixed place at a barrier built with
/// [`BarrierBuilder::build_seated`](crate::BarrierBuilder::build_seated).
///
/// Scalable barriers (combining tree, dissemination) need a fixed identity per thread: each
/// thread owns one `Seat` (it is `Send`, not `Clone`) and waits through it. Every semantic of
/// [`Barrier::wait`] holds through seats (the action, timeouts, `reset`, `abort`, one outcome per
/// generation), except that the index is not the arrival order: it is a permutation of
/// `0..parties` in which the seat that completed the generation, and ran the action, gets
/// `parties - 1` (the root's last arriver in a tree; seat 0 in dissemination, whose seats leave
/// on their own when there is no action).
///
/// Dropping a seat aborts its barrier: with a party gone no generation can complete again, and
/// the other seats get an error instead of waiting forever. A seat of a central or tree barrier
/// can instead [`leave`](Seat::leave) it, and the others go on with one party fewer.
///
/// # Examples
///
/// ```
/// use barrier_core::{Algorithm, Barrier};
///
/// let (barrier, seats) = Barrier::builder(4)
///     .algorithm(Algorithm::Dissemination)
///     .build_seated()?;
/// std::thread::scope(|s| {
///     for seat in seats {
///         s.spawn(move || {
///             seat.pin(); // optional: pin this thread to the seat's core
///             for _ in 0..100 {
///                 seat.wait().unwrap();
///             }
///         });
///     }
/// });
/// assert!(barrier.is_broken(), "dropped seats abort the barrier");
/// # Ok::<(), barrier_core::BuildError>(())
/// ```
pub struct Seat {
    barrier: Barrier,
    index: usize,
    /// The generation this seat joins next. Every seat passes through every generation, by
    /// waiting in it or by acknowledging its failure, so the seats' counts agree (see
    /// `README.md`, "Seats").
    generation: Cell<u64>,
    /// The parties of the generation this seat last joined, and its rank among them (its
    /// index, until seats leave a tree): refreshed when it joins one whose parties differ.
    parties: Cell<usize>,
    rank: Cell<usize>,
    /// Whether an [`Arrival`] of this seat is not waited for yet.
    arrival_open: Cell<bool>,
    /// Whether the seat left ([`Seat::leave`]): then dropping it aborts nothing.
    left: Cell<bool>,
}

impl Seat {
    pub(crate) fn new(barrier: Barrier, index: usize) -> Seat {
        Seat {
            parties: Cell::new(barrier.parties()),
            rank: Cell::new(index),
            barrier,
            index,
            generation: Cell::new(0),
            arrival_open: Cell::new(false),
            left: Cell::new(false),
        }
    }

    /// The barrier's shared core.
    #[inline]
    fn shared(&self) -> &Core {
        self.barrier.core()
    }

    /// This seat's number, in `0..parties`.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The barrier this seat belongs to (for `reset`, `abort`, `n_waiting`, ...).
    #[must_use]
    pub fn barrier(&self) -> &Barrier {
        &self.barrier
    }

    /// The core the builder's [`Placement`](crate::Placement) assigned to this seat, if any.
    #[must_use]
    pub fn core(&self) -> Option<usize> {
        match self.barrier.mode() {
            Mode::Seated(seated) => seated.cores[self.index],
            Mode::Anonymous(_) => None,
        }
    }

    /// Pins the calling thread to [`core`](Seat::core). Returns the core, or `None` when the
    /// placement assigned none or the operating system refused (pinning is a performance hint;
    /// the barrier works either way).
    pub fn pin(&self) -> Option<usize> {
        self.core()
            .filter(|&core| topology::pin_current_thread(core))
    }

    /// Waits for every seat, with the barrier's default timeout; see [`Barrier::wait`].
    ///
    /// Returns this seat's index for the generation: the indices of one generation are a
    /// permutation of `0..parties`, and the seat that completed it (and ran the action) gets
    /// `parties - 1`. See [the example on `Seat`](Seat#examples) and
    /// [the one on `build_seated`](crate::BarrierBuilder::build_seated).
    ///
    /// # Errors
    ///
    /// As [`Barrier::wait`].
    ///
    /// # Panics
    ///
    /// As [`Barrier::wait`]: resumes the action's panic in the completing seat; panics if
    /// called from inside the barrier's own action.
    #[inline]
    pub fn wait(&self) -> Result<usize, BrokenBarrierError> {
        self.wait_with(self.shared().default_timeout())
    }

    /// Like [`wait`](Seat::wait), with `timeout` instead of the default; see
    /// [`Barrier::wait_timeout`].
    ///
    /// # Examples
    ///
    /// A seat that gives up fails the generation for every seat; after a reset the seats meet
    /// again:
    ///
    /// ```
    /// use std::time::Duration;
    /// use barrier_core::{Algorithm, Barrier, BrokenCause};
    ///
    /// let (barrier, seats) = Barrier::builder(2)
    ///     .algorithm(Algorithm::Tree { fan_in: 2 })
    ///     .build_seated()?;
    /// // Seat 1 is late: seat 0 stops waiting after 1 ms.
    /// let error = seats[0].wait_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(error.cause(), BrokenCause::TimedOut);
    /// assert_eq!(seats[1].wait().unwrap_err().cause(), BrokenCause::TimedOut);
    ///
    /// barrier.reset();
    /// let indices: Vec<usize> = std::thread::scope(|s| {
    ///     let handles: Vec<_> = seats
    ///         .into_iter()
    ///         .map(|seat| s.spawn(move || seat.wait_timeout(Duration::from_secs(60)).unwrap()))
    ///         .collect();
    ///     handles.into_iter().map(|h| h.join().unwrap()).collect()
    /// });
    /// assert_eq!(indices.iter().sum::<usize>(), 1, "indices 0 and 1, once each");
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Barrier::wait`].
    #[inline]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        self.wait_with(Some(timeout))
    }

    #[inline]
    fn wait_with(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrierError> {
        if self.arrival_open.get() {
            self.refuse("wait");
        }
        match self.barrier.mode() {
            Mode::Anonymous(_) => self.barrier.wait_with(timeout),
            Mode::Seated(seated) => self
                .shared()
                .profiled(Some(self.index), || self.wait_seated(seated, timeout)),
        }
    }

    /// Counts this seat into its next generation and returns at once (split-phase; see
    /// [`Barrier::arrive`]). One arrival per seat at a time: the seat cannot arrive or wait
    /// again before that arrival is waited for (or dropped).
    ///
    /// On a tree, the seat's part of the gathering is done here: the seat that completes the
    /// generation runs the action inside `arrive`, and the others are released without waiting
    /// for this seat's `wait`. A dissemination seat sends its first round's signals here; its
    /// later rounds need signals that others send in their waits, so the generation is
    /// released once every seat waits, and seat 0 runs the action in its wait. With up to 4
    /// seats there is one round, so every signal goes out at `arrive`.
    ///
    /// See [`Arrival`] for an example.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken (or finished) when the seat arrives.
    ///
    /// # Panics
    ///
    /// If this seat's previous arrival is still open; otherwise as [`wait`](Seat::wait).
    ///
    /// ```should_panic
    /// let (_barrier, seats) = barrier_core::Barrier::builder(2).build_seated().unwrap();
    /// let arrival = seats[0].arrive().unwrap();
    /// let _ = seats[0].arrive(); // panics: the first arrival is open
    /// # drop(arrival);
    /// ```
    #[inline]
    pub fn arrive(&self) -> Result<Arrival<'_>, BrokenBarrierError> {
        if self.arrival_open.get() {
            self.refuse("arrive");
        }
        let seated = match self.barrier.mode() {
            Mode::Anonymous(_) => {
                let (arrival, open) = self.barrier.arrive()?.through(self);
                self.arrival_open.set(open);
                return Ok(arrival);
            }
            Mode::Seated(seated) => seated,
        };
        match &seated.gather {
            Gather::Tree(tree) => {
                let generation = self.join(seated)?;
                if tree.arrive(self.index, generation) == Reached::Completer {
                    // Released here (an action's panic resumes here).
                    let index = self.complete(seated, generation)?;
                    return Ok(Arrival::released(generation, index));
                }
                self.arrival_open.set(true);
                Ok(Arrival::seated(self, generation))
            }
            Gather::Dissemination(dissemination) => {
                let generation = self.join(seated)?;
                if dissemination.rounds() == 0 {
                    // A team of one: nothing to signal; it completes here.
                    let index = self.disseminate(seated, dissemination, generation, false, None)?;
                    return Ok(Arrival::released(generation, index));
                }
                self.signal(seated, dissemination, generation, 0);
                self.arrival_open.set(true);
                Ok(Arrival::seated(self, generation))
            }
        }
    }

    /// This seat's open arrival is being waited for: the seat may arrive and wait again after.
    #[inline]
    pub(crate) fn close_arrival(&self) {
        self.arrival_open.set(false);
    }

    #[cold]
    fn refuse(&self, operation: &str) -> ! {
        panic!(
            "Seat::{operation} on seat {} while its last arrival is open: wait for that arrival \
             (or drop it) first",
            self.index
        );
    }

    /// Arrives in the seat's next generation and leaves the barrier for good, without breaking
    /// it: from the next generation on it has one party fewer ([`Barrier::arrive_and_drop`]),
    /// so a thread can stop early while the others go on. Waits for that generation's
    /// outcome. On a broken barrier the seat leaves without arriving, from the generation
    /// after the reset on. (Dropping a seat instead aborts the barrier.)
    ///
    /// Seats of [`Algorithm::Central`](crate::Algorithm::Central) and
    /// [`Algorithm::Tree`](crate::Algorithm::Tree) barriers can leave, and so can those that
    /// [`Algorithm::Auto`](crate::Algorithm::Auto) seats on them (up to 2 parties, or more
    /// parties than cores): a tree counts a seat that left as always arrived. From the next
    /// generation on, the indices are a permutation of the smaller `0..parties`. A
    /// dissemination barrier's rounds pair fixed partners, so its seats cannot leave.
    ///
    /// # Examples
    ///
    /// ```
    /// use barrier_core::{Algorithm, Barrier};
    ///
    /// let (barrier, mut seats) = Barrier::builder(3)
    ///     .algorithm(Algorithm::Tree { fan_in: 2 })
    ///     .build_seated()?;
    /// let leaver = seats.pop().unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || leaver.leave().unwrap());
    ///     for seat in seats {
    ///         s.spawn(move || {
    ///             for _ in 0..4 {
    ///                 seat.wait().unwrap();
    ///             }
    ///             seat.leave().unwrap();
    ///         });
    ///     }
    /// });
    /// assert_eq!(barrier.parties(), 0);
    /// assert!(barrier.is_finished(), "the last party left");
    /// # Ok::<(), barrier_core::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LeaveError::Seated`], which gives the seat back, on a dissemination barrier;
    /// [`LeaveError::Broken`] if the generation it arrived in failed, or the barrier was broken
    /// (it has left either way).
    ///
    /// # Panics
    ///
    /// If this seat's arrival is open; as [`wait`](Seat::wait) otherwise.
    pub fn leave(self) -> Result<(), LeaveError> {
        if self.arrival_open.get() {
            self.refuse("leave");
        }
        if let Mode::Seated(seated) = self.barrier.mode() {
            if !seated.can_depart() {
                let algorithm = seated.algorithm_name();
                return Err(LeaveError::Seated {
                    seat: self,
                    algorithm,
                });
            }
            self.left.set(true);
            return self.depart(seated).map_err(LeaveError::Broken);
        }
        self.left.set(true);
        match self.barrier.arrive_and_drop() {
            Ok(arrival) => arrival.wait().map(|_| ()).map_err(LeaveError::Broken),
            Err(broken) => {
                self.barrier.drop_party();
                Err(LeaveError::Broken(broken))
            }
        }
    }

    /// [`leave`](Seat::leave) on a tree: records the departure, so that whoever starts the next
    /// generation applies it, then arrives in this seat's generation and waits for its
    /// outcome. A broken barrier is left without arriving: the departure waits for the reset.
    fn depart(&self, seated: &SeatTable) -> Result<(), BrokenBarrierError> {
        loop {
            let generation = self.generation.get();
            let state = self.shared().load();
            match state.stage() {
                Stage::Filling => {}
                // A reset drains: join the generation after it, as `wait` would.
                Stage::Resetting => {
                    self.enter_failed(state)?;
                    continue;
                }
                Stage::Broken => {
                    let mut departures = seated.departures();
                    // Under the lock no generation starts: if the state is still this
                    // failure, the reset that ends it applies the departure.
                    if self.shared().load() != state {
                        continue;
                    }
                    seated.record_departure(&mut departures, self.index);
                    drop(departures);
                    self.acknowledge(state);
                    return Err(broken(state));
                }
            }
            self.refresh_rank(seated);
            // Recorded before the arrival, so whoever decides this generation sees it.
            seated.record_departure(&mut seated.departures(), self.index);
            if !seated.arrive(self.index, generation) {
                let recorded = self.shared().wait_for_state(None, |state| {
                    state.is_seated_failure_of(generation).then_some(state)
                });
                let state = recorded.unwrap_or_else(|_| unreachable!("waited without a deadline"));
                self.acknowledge(state);
                return Err(broken(state));
            }
            let deadline = deadline_after(self.shared().default_timeout());
            return self.gather(seated, generation, deadline).map(drop);
        }
    }

    /// Whether generation `generation`, which this seat arrived in, was released.
    pub(crate) fn is_released(&self, generation: u64) -> bool {
        match self.barrier.mode() {
            Mode::Seated(seated) => match &seated.gather {
                // A dissemination seat's later rounds need its own signals, sent when it waits.
                Gather::Dissemination(_) if !seated.releases() => false,
                _ => seated.poll_release(generation).is_some(),
            },
            Mode::Anonymous(_) => unreachable!("an anonymous barrier's arrival is not a seat's"),
        }
    }

    /// Waits for the release of `generation`, which this seat arrived in (a tree seat that did
    /// not complete it).
    #[inline]
    pub(crate) fn await_release(
        &self,
        generation: u64,
        deadline: Option<Instant>,
    ) -> Result<usize, BrokenBarrierError> {
        self.close_arrival();
        match self.barrier.mode() {
            Mode::Seated(seated) => match &seated.gather {
                Gather::Tree(_) => self.wait_release(seated, generation, deadline),
                Gather::Dissemination(dissemination) => {
                    self.disseminate(seated, dissemination, generation, true, deadline)
                }
            },
            Mode::Anonymous(_) => unreachable!("an anonymous barrier's arrival is not a seat's"),
        }
    }

    #[inline]
    fn wait_seated(
        &self,
        seated: &SeatTable,
        timeout: Option<Duration>,
    ) -> Result<usize, BrokenBarrierError> {
        let generation = self.join(seated)?;
        self.gather(seated, generation, deadline_after(timeout))
    }

    /// Arrives in this seat's next generation (first handling a failure found on the way);
    /// returns the generation.
    #[inline]
    fn join(&self, seated: &SeatTable) -> Result<u64, BrokenBarrierError> {
        loop {
            let generation = self.generation.get();
            // Episodes never write the state word: this load hits the cache unless something
            // failed.
            let state = self.shared().load();
            if state.stage() != Stage::Filling {
                self.enter_failed(state)?;
                continue;
            }
            self.refresh_rank(seated);
            if !seated.arrive(self.index, generation) {
                // A failure claimed this seat's place: wait until it is recorded, then handle
                // it like any failure found on entry.
                let recorded = self.shared().wait_for_state(None, |state| {
                    state.is_seated_failure_of(generation).then_some(state)
                });
                let state = recorded.unwrap_or_else(|_| unreachable!("waited without a deadline"));
                self.enter_failed(state)?;
                continue;
            }
            return Ok(generation);
        }
    }

    /// Before joining a generation (its start published its parties): refreshes this seat's
    /// parties and rank if seats have left since it last joined one.
    #[inline]
    fn refresh_rank(&self, seated: &SeatTable) {
        let parties = self.shared().parties();
        if parties != self.parties.get() {
            self.parties.set(parties);
            self.rank.set(seated.rank(self.index));
        }
    }

    /// The barrier is broken or resetting as this seat enters: acknowledges the failure if it
    /// is of this seat's generation, then fails (broken) or waits for the reset to drain
    /// (`Ok`: enter again).
    #[cold]
    fn enter_failed(&self, state: State) -> Result<(), BrokenBarrierError> {
        self.shared().assert_not_in_action("wait");
        self.acknowledge(state);
        if state.stage() == Stage::Broken {
            return Err(broken(state));
        }
        let changed = self
            .shared()
            .wait_for_state(None, |now| (now != state).then_some(()));
        changed.unwrap_or_else(|_| unreachable!("waited without a deadline"));
        Ok(())
    }

    /// Gathers with the others in `generation`, which this seat has arrived in.
    #[inline]
    fn gather(
        &self,
        seated: &SeatTable,
        generation: u64,
        deadline: Option<Instant>,
    ) -> Result<usize, BrokenBarrierError> {
        match &seated.gather {
            Gather::Tree(tree) => {
                if tree.arrive(self.index, generation) == Reached::Completer {
                    self.complete(seated, generation)
                } else {
                    self.wait_release(seated, generation, deadline)
                }
            }
            Gather::Dissemination(dissemination) => {
                self.disseminate(seated, dissemination, generation, false, deadline)
            }
        }
    }

    /// Runs this seat's dissemination rounds of `generation` (round 0's signals already sent
    /// when `signalled`), then completes it or waits for its release, as the barrier needs.
    fn disseminate(
        &self,
        seated: &SeatTable,
        dissemination: &Dissemination,
        generation: u64,
        signalled: bool,
        deadline: Option<Instant>,
    ) -> Result<usize, BrokenBarrierError> {
        let mut deadline = deadline;
        let mut wait_for_flag = |flag: &AtomicU64, signal: u64| {
            // Acquire: pairs with the partner's Release store of the flag. Polled alone first:
            // a signal that is already there (or comes within a few polls) needs none of the
            // waiting machinery, nor a look at the state word (a failure is seen by a later
            // round's wait; if every round's signal is there, every seat arrived, and no
            // failure can take the generation any more).
            let arrived = || (flag.load(Ordering::Acquire) >= signal).then_some(());
            if self.shared().poll_briefly(arrived).is_some() {
                return true;
            }
            let poll = |state: State| {
                if flag.load(Ordering::Acquire) >= signal {
                    Some(true)
                } else {
                    state.is_seated_failure_of(generation).then_some(false)
                }
            };
            let parker = seated.flag_parker(self.index);
            self.wait_or_time_out(seated, generation, parker, &mut deadline, poll)
        };
        let finished = (0..dissemination.rounds()).all(|round| {
            if round > 0 || !signalled {
                self.signal(seated, dissemination, generation, round);
            }
            dissemination.await_signals(self.index, generation, round, &mut wait_for_flag)
        });
        if !finished {
            return Err(self.leave_failed());
        }
        if !seated.releases() {
            // Every seat has arrived and nothing runs before the release: done.
            self.generation.set(generation + 1);
            let (rank, parties) = (self.rank.get(), self.parties.get());
            return Ok(SeatTable::index(rank, COMPLETER_SEAT, parties));
        }
        if self.index == COMPLETER_SEAT {
            self.complete(seated, generation)
        } else {
            self.wait_release(seated, generation, deadline)
        }
    }

    /// Sends this seat's dissemination signals of `round` in `generation`, waking each partner
    /// if it parked.
    fn signal(
        &self,
        seated: &SeatTable,
        dissemination: &Dissemination,
        generation: u64,
        round: usize,
    ) {
        dissemination.signal(self.index, generation, round, |partner| {
            self.shared().notify_flag(seated.flag_parker(partner));
        });
    }

    /// Waits for the completer's release of `generation`, which this seat arrived in and did
    /// not complete.
    #[inline]
    fn wait_release(
        &self,
        seated: &SeatTable,
        generation: u64,
        deadline: Option<Instant>,
    ) -> Result<usize, BrokenBarrierError> {
        let (rank, parties) = (self.rank.get(), self.parties.get());
        // As for a dissemination flag: the release word alone first.
        if let Some(completer) = self
            .shared()
            .poll_briefly(|| seated.poll_release(generation))
        {
            self.generation.set(generation + 1);
            return Ok(SeatTable::index(rank, completer, parties));
        }
        let mut deadline = deadline;
        let poll = |state: State| match seated.poll_release(generation) {
            Some(completer) => Some(Some(completer)),
            None => state.is_seated_failure_of(generation).then_some(None),
        };
        let parker = self.shared().parker();
        match self.wait_or_time_out(seated, generation, parker, &mut deadline, poll) {
            Some(completer) => {
                self.generation.set(generation + 1);
                Ok(SeatTable::index(rank, completer, parties))
            }
            None => Err(self.leave_failed()),
        }
    }

    /// Waits until `poll` maps the state word to `Some`, parked (if it parks) on `parker`.
    /// When the deadline passes first, fails the generation, unless every seat has arrived
    /// (then it completes, and the wait goes on without a deadline, as a timeout during the
    /// action is ignored).
    fn wait_or_time_out<T>(
        &self,
        seated: &SeatTable,
        generation: u64,
        parker: &Parker,
        deadline: &mut Option<Instant>,
        mut poll: impl FnMut(State) -> Option<T>,
    ) -> T {
        loop {
            match self
                .shared()
                .wait_for_state_on(parker, *deadline, &mut poll)
            {
                Ok(ready) => return ready,
                Err(TimedOut) => {
                    seated.fail(self.shared(), generation, BrokenCause::TimedOut);
                    *deadline = None;
                }
            }
        }
    }

    /// The completer of `generation` runs the action, then releases the others, or records the
    /// action's panic as the generation's failure and resumes it.
    fn complete(&self, seated: &SeatTable, generation: u64) -> Result<usize, BrokenBarrierError> {
        let parties = self.parties.get();
        let outcome = match self.shared().action() {
            Some(action) => action.run(),
            None => Ok(ControlFlow::Continue(())),
        };
        self.generation.set(generation + 1);
        match outcome {
            Ok(flow) => {
                // Nobody can join the next generation before this release: the departures
                // recorded in this one take effect now.
                let left = if seated.departing() {
                    seated.apply_departures(self.shared(), &mut seated.departures())
                } else {
                    parties
                };
                if flow.is_break() || left == 0 {
                    // Nobody can pass this generation before its release, so every seat is
                    // still to join the next one: fail that one now, before the release, so
                    // that each seat sees the end as soon as its wait returns.
                    seated.finish(self.shared(), generation + 1);
                }
                seated.publish_release(generation, self.rank.get());
                self.shared().notify();
                Ok(parties - 1)
            }
            Err(panic) => {
                // Every seat arrived and abort/reset wait for the action, so nothing else can
                // have failed this generation. The completer counts itself out at once.
                let recorded = seated.record_failure(
                    self.shared(),
                    generation,
                    Stage::Broken,
                    BrokenCause::ActionPanicked,
                    parties - 1,
                );
                debug_assert!(recorded, "generation {generation} failed during its action");
                resume_unwind(panic)
            }
        }
    }

    /// This seat's generation failed while it waited in it: acknowledges and reports the cause.
    #[cold]
    fn leave_failed(&self) -> BrokenBarrierError {
        let state = self.shared().load();
        debug_assert!(state.is_seated_failure_of(self.generation.get()));
        self.acknowledge(state);
        broken(state)
    }

    /// Acknowledges the failure recorded in `state` if it is of this seat's generation (each
    /// seat acknowledges each failed generation once), moving on to the next generation.
    fn acknowledge(&self, state: State) {
        let generation = self.generation.get();
        if state.is_seated_failure_of(generation) {
            self.generation.set(generation + 1);
            let Mode::Seated(seated) = self.barrier.mode() else {
                unreachable!("only a seated barrier's seats acknowledge")
            };
            // Held across the CAS that may start the next generation (see
            // `SeatTable::departures`).
            let mut departures = seated.departures();
            self.shared().leave(state.generation(), |drained| {
                seated.start_generation(self.shared(), drained, &mut departures)
            });
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if self.left.get() {
            return;
        }
        self.barrier.abort();
        if let Mode::Seated(_) = self.barrier.mode() {
            // Count this seat out of the failed generation, so a reset can still complete.
            self.acknowledge(self.shared().load());
        }
    }
}

impl fmt::Debug for Seat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seat")
            .field("index", &self.index)
            .field("barrier", &self.barrier)
            .finish()
    }
}
