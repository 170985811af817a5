//! A worker's report of one phase: a few result values it leaves for the leader on the cache
//! line of its `done` word, so that the line the leader's gather reads anyway brings them
//! along.
//!
//! Results kept elsewhere cost two cache-line transfers per worker and phase, both on the
//! critical path: the worker's store must fetch the line the leader read last phase before its
//! `done` store may become visible, and the leader misses again when it reads the result.

use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};

use crate::sync::UnsafeCell;

/// Words of a [`Report`]: the 128-byte line of a `done` word, less that word.
const WORDS: usize = 15;
/// Words before the values: the number of values.
const HEADER_WORDS: usize = 1;

/// Room for up to 112 bytes of values of one type, in the order they were pushed.
///
/// Written only by its worker during a phase ([`clear`](Report::clear) first, then
/// [`push`](Report::push)), read only by the leader after the phase's gather
/// ([`Report::take`]): the hand-off's `done` edges order the two (see `handoff.rs`).
pub(crate) struct Report(UnsafeCell<[MaybeUninit<u64>; WORDS]>);

// SAFETY: the values in a report are written by one thread and moved out by another, never
// shared (`T: Send` is required by `push`'s callers, see `parallel.rs`), and the accesses of the
// two threads are ordered by the hand-off (the contracts of `push` and `take`).
unsafe impl Sync for Report {}

impl Report {
    pub(crate) fn new() -> Report {
        Report(UnsafeCell::new([MaybeUninit::uninit(); WORDS]))
    }

    /// Whether `len` values of `T` fit.
    pub(crate) const fn fits<T>(len: usize) -> bool {
        len <= Self::capacity::<T>()
    }

    /// How many values of `T` fit: 0 if `T`'s alignment is more than a word's.
    pub(crate) const fn capacity<T>() -> usize {
        if align_of::<T>() > align_of::<u64>() {
            0
        } else if size_of::<T>() == 0 {
            usize::MAX
        } else {
            (WORDS - HEADER_WORDS) * size_of::<u64>() / size_of::<T>()
        }
    }

    /// Starts the report's worker's part of a phase: empties the report and returns the handle
    /// through which the worker pushes values of `T`.
    ///
    /// # Safety
    ///
    /// Called by the report's worker during a phase, which then pushes only through the
    /// returned `Reporter` (until the phase ends); the leader does not access the report until
    /// the phase's gather. Values of the previous phase that were not taken are leaked.
    pub(crate) unsafe fn start<T>(&self) -> Reporter<'_, T> {
        // SAFETY: the worker is the only thread accessing the report (the contract).
        self.0
            .with_mut(|words| unsafe { (*words)[0] = MaybeUninit::new(0) });
        Reporter {
            report: self,
            _values: PhantomData,
        }
    }

    /// The values of the last phase, moved out in push order; the ones not iterated are
    /// dropped with the iterator.
    ///
    /// # Safety
    ///
    /// Called by the leader after the gather of a phase in which the report's worker
    /// [started](Self::start) it for values of `T`, at most once per such phase, and never
    /// during a phase.
    pub(crate) unsafe fn take<T>(&self) -> Taken<'_, T> {
        // SAFETY: the worker's accesses happen before the gather, and the leader's happen
        // before the next publication (the contract).
        let count = self
            .0
            .with(|words| unsafe { (*words.cast::<MaybeUninit<u64>>()).assume_init() });
        Taken {
            report: self,
            next: 0,
            count: count as usize,
            _values: PhantomData,
        }
    }
}

/// A worker's handle on its report during a phase, from [`Report::start`]: values of `T`
/// pushed here reach the leader after the gather.
pub(crate) struct Reporter<'a, T> {
    report: &'a Report,
    /// `fn() -> T`: a reporter moves `T`s into the report but holds none itself.
    _values: PhantomData<fn() -> T>,
}

impl<T> Reporter<'_, T> {
    /// Appends `value` to the report.
    ///
    /// # Panics
    ///
    /// If the report already holds [`Report::capacity::<T>()`](Report::capacity) values (an
    /// internal error: callers check that what they push fits).
    pub(crate) fn push(&self, value: T) {
        self.report.0.with_mut(|words| {
            let words = words.cast::<MaybeUninit<u64>>();
            // SAFETY: the report's worker is the only thread accessing it during the phase,
            // `start` wrote the count, and every value pushed since is a `T` (`start`'s
            // contract); the value goes to index `count`, below the capacity (checked).
            unsafe {
                let count = (*words).assume_init() as usize;
                assert!(
                    count < Report::capacity::<T>(),
                    "phase-pool: internal error: a report holds at most {} values of this type",
                    Report::capacity::<T>()
                );
                values::<T>(words).add(count).write(value);
                *words = MaybeUninit::new(count as u64 + 1);
            }
        });
    }
}

/// The values of several reports, report by report, each in push order: what
/// [`Report::take`] gives for each in turn. The values not iterated are dropped with the
/// iterator.
///
/// # Safety
///
/// As [`Report::take`], for every report of `reports`.
pub(crate) unsafe fn take_all<'a, T, I>(reports: I) -> TakenAll<'a, T, I>
where
    I: Iterator<Item = &'a Report>,
{
    TakenAll {
        reports,
        current: None,
    }
}

/// Where the values of `T` start in a report's words (aligned: `T`'s alignment is at most a
/// word's, which `fits` checks).
fn values<T>(words: *mut MaybeUninit<u64>) -> *mut T {
    words.wrapping_add(HEADER_WORDS).cast()
}

/// The values of a [`Report`], moved out by [`Report::take`].
pub(crate) struct Taken<'a, T> {
    report: &'a Report,
    next: usize,
    count: usize,
    _values: PhantomData<T>,
}

impl<T> Iterator for Taken<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next == self.count {
            return None;
        }
        let index = self.next;
        self.next += 1;
        // SAFETY: values `0..count` were pushed as `T` in the phase (`take`'s contract) and
        // each is read once (`next` moves past it first).
        Some(
            self.report
                .0
                .with(|words| unsafe { values::<T>(words.cast_mut().cast()).add(index).read() }),
        )
    }
}

impl<T> Drop for Taken<'_, T> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

/// The values of several reports, from [`take_all`].
pub(crate) struct TakenAll<'a, T, I: Iterator<Item = &'a Report>> {
    reports: I,
    current: Option<Taken<'a, T>>,
}

impl<'a, T, I: Iterator<Item = &'a Report>> Iterator for TakenAll<'a, T, I> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(value) = self.current.as_mut().and_then(Iterator::next) {
                return Some(value);
            }
            let report = self.reports.next()?;
            // SAFETY: `take_all`'s contract covers every report of `reports`, each taken once
            // (the iterator moves past it).
            self.current = Some(unsafe { report.take() });
        }
    }
}

impl<'a, T, I: Iterator<Item = &'a Report>> Drop for TakenAll<'a, T, I> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(lockstep_loom)))]
mod tests {
    use super::*;

    #[test]
    fn fits_counts_bytes_and_alignment() {
        assert!(Report::fits::<u64>(14));
        assert!(!Report::fits::<u64>(15));
        assert!(Report::fits::<Option<f64>>(7));
        assert!(!Report::fits::<Option<f64>>(8));
        assert!(Report::fits::<()>(usize::MAX));
        assert!(
            !Report::fits::<u128>(1),
            "16-byte alignment is more than a word's"
        );
        assert!(!Report::fits::<[u8; 2]>(usize::MAX));
        assert_eq!(Report::capacity::<[u8; 3]>(), 37);
    }

    #[test]
    fn values_come_out_in_push_order_and_the_rest_is_dropped() {
        use std::rc::Rc;
        let report = Report::new();
        let counter = Rc::new(());
        // SAFETY: one thread plays both the worker and the leader, in turn.
        unsafe {
            let reporter = report.start();
            for value in 0..3 {
                reporter.push((value, Rc::clone(&counter)));
            }
            let mut taken = report.take::<(i32, Rc<()>)>();
            assert_eq!(taken.next().unwrap().0, 0);
            assert_eq!(Rc::strong_count(&counter), 3);
            drop(taken);
        }
        assert_eq!(
            Rc::strong_count(&counter),
            1,
            "the values not taken were dropped"
        );
        // SAFETY: as above, a new phase.
        unsafe {
            report.start::<u8>();
            assert_eq!(report.take::<u8>().count(), 0);
        }
    }

    #[test]
    #[should_panic(expected = "at most 14 values")]
    fn pushing_past_the_capacity_is_refused() {
        let report = Report::new();
        // SAFETY: one thread; the values are `u64`s (leaked by the panic, which is fine).
        let reporter = unsafe { report.start::<u64>() };
        for value in 0..15 {
            reporter.push(value);
        }
    }
}
