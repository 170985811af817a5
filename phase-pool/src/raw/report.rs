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
        align_of::<T>() <= align_of::<u64>()
            && match size_of::<T>().checked_mul(len) {
                Some(bytes) => bytes <= (WORDS - HEADER_WORDS) * size_of::<u64>(),
                None => false,
            }
    }

    /// Starts a phase's report: no values yet.
    ///
    /// # Safety
    ///
    /// Called by the report's worker during a phase; the leader does not access the report
    /// until the phase's gather. Values of the previous phase that were not taken are leaked.
    pub(crate) unsafe fn clear(&self) {
        // SAFETY: the worker is the only thread accessing the report (the contract).
        self.0
            .with_mut(|words| unsafe { (*words)[0] = MaybeUninit::new(0) });
    }

    /// Appends `value`.
    ///
    /// # Safety
    ///
    /// As [`clear`](Self::clear), which was called earlier in this phase, every value pushed
    /// since is a `T`, and `fits::<T>(pushed + 1)`.
    pub(crate) unsafe fn push<T>(&self, value: T) {
        self.0.with_mut(|words| {
            let words = words.cast::<MaybeUninit<u64>>();
            // SAFETY: the worker is the only thread accessing the report, and `clear` wrote
            // the count (the contract).
            unsafe {
                let count = (*words).assume_init();
                values::<T>(words).add(count as usize).write(value);
                *words = MaybeUninit::new(count + 1);
            }
        });
    }

    /// The values of the last phase, moved out in push order; the ones not iterated are
    /// dropped with the iterator.
    ///
    /// # Safety
    ///
    /// Called by the leader after the gather of a phase in which the report's worker cleared
    /// it and pushed only values of `T`, at most once per such phase, and never during a phase.
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
        assert!(
            !Report::fits::<[u8; 2]>(usize::MAX),
            "overflowing sizes do not fit"
        );
    }

    #[test]
    fn values_come_out_in_push_order_and_the_rest_is_dropped() {
        use std::rc::Rc;
        let report = Report::new();
        let counter = Rc::new(());
        // SAFETY: one thread plays both the worker and the leader, in turn.
        unsafe {
            report.clear();
            for value in 0..3 {
                report.push((value, Rc::clone(&counter)));
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
            report.clear();
            assert_eq!(report.take::<u8>().count(), 0);
        }
    }
}
