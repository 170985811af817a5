//! A worker's report of one phase: the result values it leaves for the leader, the first few
//! on the cache line of its `done` word (so the line the leader's gather reads anyway brings
//! them along), the rest in a buffer the worker owns and reuses from phase to phase. A worker
//! that announces more values than fit on the line ([`Reporter::expect`]) puts them all in
//! that buffer: the leader polls the line while it waits, and a store to a polled line costs
//! the writer a transfer.
//!
//! Results kept in memory the leader allocates each phase cost the allocation, false sharing
//! where two workers' results meet, and two cache-line transfers per line on the critical
//! path: the worker's store must fetch a line the leader wrote or read, and the leader misses
//! again when it folds.

use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};

use crate::sync::UnsafeCell;

/// Words of values on the `done` line: 128 bytes less the `done` word, the two counts and
/// the spill buffer's `Vec`.
const INLINE_VALUE_WORDS: usize = 10;

/// The values a worker pushed in its last phase, in push order: the first `inline_len` in
/// the report itself, the rest in `spill`.
///
/// The counts are written when the worker's part starts and when it ends, never in between:
/// the leader polls this line while it waits for the worker, and every store to a line being
/// polled costs the writer a cache-line transfer.
struct Values {
    /// How many values the worker pushed this phase.
    count: usize,
    /// How many of them are in `inline`.
    inline_len: usize,
    /// Values past the inline room. Grown by the worker as needed and kept between phases,
    /// so a worker's results land in memory it touched first and the same lines every phase.
    spill: Vec<MaybeUninit<u64>>,
    inline: [MaybeUninit<u64>; INLINE_VALUE_WORDS],
}

/// A worker's results of one phase, all of one type `T` (of alignment at most 8:
/// [`Report::accepts`]), in the order they were pushed.
///
/// Written only by its worker during a phase ([`Report::start`], then [`Reporter::push`]),
/// read only by the leader once the worker's part is over ([`Report::take`]): after the
/// gather for a follower's report, after its own part for the leader's. The hand-off's `done`
/// edges order the two (see `handoff.rs`).
pub(crate) struct Report(UnsafeCell<Values>);

// SAFETY: the values in a report are written by one thread and moved out by another, never
// shared (callers push only `T: Send`, see `pool.rs`), and the two threads' accesses are
// ordered by the hand-off (the contracts of `start` and `take`).
unsafe impl Sync for Report {}

impl Report {
    pub(crate) fn new() -> Report {
        Report(UnsafeCell::new(Values {
            count: 0,
            inline_len: 0,
            spill: Vec::new(),
            inline: [MaybeUninit::uninit(); INLINE_VALUE_WORDS],
        }))
    }

    /// Whether a report can hold values of `T`: their alignment is at most a word's.
    pub(crate) const fn accepts<T>() -> bool {
        align_of::<T>() <= align_of::<u64>()
    }

    /// Starts the report's worker's part of a phase: empties the report and returns the handle
    /// through which the worker pushes values of `T`.
    ///
    /// # Safety
    ///
    /// Called by the report's worker during a phase, which then pushes only through the
    /// returned `Reporter` and drops it before its part of the phase ends; the leader does not
    /// access the report until then. Values of the previous phase that were not taken are
    /// leaked, and so are the values of a reporter that is forgotten instead of dropped (the
    /// report then counts none).
    ///
    /// # Panics
    ///
    /// If the report does not [accept](Self::accepts) values of `T`.
    pub(crate) unsafe fn start<T>(&self) -> Reporter<'_, T> {
        assert!(
            Self::accepts::<T>(),
            "phase-pool: internal error: a report holds values aligned to 8 bytes at most"
        );
        // SAFETY: the worker is the only thread accessing the report (the contract).
        self.0.with_mut(|values| unsafe { (*values).count = 0 });
        Reporter {
            report: self,
            count: Cell::new(0),
            inline_len: Cell::new(inline_capacity::<T>()),
            _values: PhantomData,
        }
    }

    /// The values of the last phase, moved out in push order; the ones not iterated are
    /// dropped with the iterator.
    ///
    /// # Safety
    ///
    /// Called by the leader once the report's worker's part of a phase is over (after the
    /// gather, or after its own part for the leader's report), in a phase in which the worker
    /// [started](Self::start) it for values of `T`; at most once per such phase, and not while
    /// the worker's part runs.
    pub(crate) unsafe fn take<T>(&self) -> Taken<'_, T> {
        // SAFETY: the worker's accesses happen before this (the contract).
        let count = self.0.with(|values| unsafe { (*values).count });
        Taken {
            report: self,
            next: 0,
            count,
            _values: PhantomData,
        }
    }
}

/// How many values of `T` fit on the `done` line (`usize::MAX` for zero-sized types).
const fn inline_capacity<T>() -> usize {
    match size_of::<T>() {
        0 => usize::MAX,
        size => INLINE_VALUE_WORDS * size_of::<u64>() / size,
    }
}

impl Values {
    /// Where spilled value `index` of `T` goes, the spill buffer grown to hold it. `T` is
    /// accepted by reports.
    fn spill_slot<T>(&mut self, index: usize) -> *mut T {
        let words = ((index + 1) * size_of::<T>()).div_ceil(size_of::<u64>());
        if self.spill.len() < words {
            // Moves the values already spilled bitwise, as a move of a `T` is.
            let len = words.max(2 * self.spill.len()).max(16);
            self.spill.resize(len, MaybeUninit::uninit());
        }
        // In bounds (just grown), and aligned: the buffer starts on a word, `T`'s alignment is
        // at most a word's, and its size is a multiple of its alignment.
        self.spill.as_mut_ptr().cast::<T>().wrapping_add(index)
    }

    /// Where value `index` of `T` is, once a [`Reporter`] put it there and published the
    /// counts.
    fn slot<T>(&self, index: usize) -> *const T {
        if index < self.inline_len {
            self.inline.as_ptr().cast::<T>().wrapping_add(index)
        } else {
            self.spill
                .as_ptr()
                .cast::<T>()
                .wrapping_add(index - self.inline_len)
        }
    }
}

/// A worker's handle on its report during a phase, from [`Report::start`]: values of `T`
/// pushed here reach the leader when the worker's part is over. Dropping it ends the
/// worker's report (it publishes the counts).
pub(crate) struct Reporter<'a, T> {
    report: &'a Report,
    /// Values pushed so far.
    count: Cell<usize>,
    /// Values with an index below this go on the `done` line, the others to the spill buffer.
    inline_len: Cell<usize>,
    /// `fn() -> T`: a reporter moves `T`s into the report but holds none itself.
    _values: PhantomData<fn() -> T>,
}

impl<T> Reporter<'_, T> {
    /// Announces `len` more values: if they would not all fit on the `done` line, they go to
    /// the spill buffer, which the leader does not poll while it waits.
    pub(crate) fn expect(&self, len: usize) {
        let count = self.count.get();
        if count.saturating_add(len) > self.inline_len.get() {
            self.inline_len.set(self.inline_len.get().min(count));
        }
    }

    /// Appends `value` to the report.
    pub(crate) fn push(&self, value: T) {
        let index = self.count.get();
        let inline_len = self.inline_len.get();
        self.report.0.with_mut(|values| {
            // SAFETY: the report's worker is the only thread accessing it during its part of
            // the phase, `start` checked that reports accept `T`, and every value pushed since
            // is a `T` (`start`'s contract).
            let values = unsafe { &mut *values };
            let slot = if index < inline_len {
                // In bounds: `inline_len` values of `T` fit in the array (`inline_capacity`).
                values.inline.as_mut_ptr().cast::<T>().wrapping_add(index)
            } else {
                values.spill_slot::<T>(index - inline_len)
            };
            // SAFETY: the slot of a new value, in bounds and aligned for a `T`.
            unsafe { slot.write(value) };
        });
        self.count.set(index + 1);
    }
}

impl<T> Drop for Reporter<'_, T> {
    fn drop(&mut self) {
        let (count, inline_len) = (self.count.get(), self.inline_len.get());
        self.report.0.with_mut(|values| {
            // SAFETY: as in `push`; the values `0..count` were written where `slot` will look.
            unsafe {
                (*values).count = count;
                (*values).inline_len = inline_len.min(count);
            }
        });
    }
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
        // SAFETY: values `0..count` were pushed as `T` in the phase, whose pushes happen before
        // this (`take`'s contract), and each is read once (`next` moved past it first).
        Some(
            self.report
                .0
                .with(|values| unsafe { (*values).slot::<T>(index).read() }),
        )
    }
}

impl<T> Drop for Taken<'_, T> {
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
    use std::rc::Rc;

    use super::*;

    #[test]
    fn reports_accept_values_aligned_to_a_word_at_most() {
        assert!(Report::accepts::<u64>());
        assert!(Report::accepts::<(u8, [u16; 3])>());
        assert!(Report::accepts::<()>());
        assert!(!Report::accepts::<u128>());
        assert_eq!(inline_capacity::<u64>(), 10);
        assert_eq!(inline_capacity::<[u8; 3]>(), 26);
        assert_eq!(inline_capacity::<()>(), usize::MAX);
    }

    /// Pushes `len` values made by `make`, announcing the ones after the first `announce_at`
    /// (if any) with `expect`, and takes them back; `id` recovers the index from a value.
    fn round_trip<T>(
        report: &Report,
        len: usize,
        announce_at: Option<usize>,
        make: impl Fn(usize) -> T,
        id: impl Fn(&T) -> usize,
    ) {
        // SAFETY: one thread plays both the worker and the leader, in turn.
        unsafe {
            let reporter = report.start::<T>();
            for index in 0..len {
                if announce_at == Some(index) {
                    reporter.expect(len - index);
                }
                reporter.push(make(index));
            }
            drop(reporter);
            let ids: Vec<usize> = report.take::<T>().map(|value| id(&value)).collect();
            assert_eq!(
                ids,
                (0..len).collect::<Vec<_>>(),
                "{len} values, {announce_at:?}"
            );
        }
    }

    #[test]
    fn values_come_out_in_push_order_inline_and_spilled() {
        let report = Report::new();
        for len in [0, 1, 10, 11, 100, 3, 1000, 5] {
            for announce_at in [None, Some(0), Some(len / 2)] {
                round_trip(&report, len, announce_at, |i| i as u64, |&v| v as usize);
                let small = |i| (i as u8, [i as u16; 3]);
                round_trip(&report, len, announce_at, small, |v| v.1[0] as usize);
                round_trip(&report, len, announce_at, |i| [i; 9], |v| v[8]);
            }
        }
    }

    #[test]
    fn announced_values_that_do_not_fit_all_go_to_the_spill_buffer() {
        let report = Report::new();
        // SAFETY: one thread plays both the worker and the leader, in turn.
        unsafe {
            let reporter = report.start::<u64>();
            reporter.expect(11);
            assert_eq!(reporter.inline_len.get(), 0);
            reporter.expect(1);
            assert_eq!(
                reporter.inline_len.get(),
                0,
                "the placement never moves back"
            );
            drop(reporter);
            let reporter = report.start::<u64>();
            reporter.expect(10);
            assert_eq!(reporter.inline_len.get(), 10, "10 values fit on the line");
        }
    }

    #[test]
    fn values_not_taken_are_dropped_with_the_iterator() {
        let report = Report::new();
        let counter = Rc::new(());
        // SAFETY: one thread plays both the worker and the leader, in turn.
        unsafe {
            let reporter = report.start();
            for value in 0..30 {
                reporter.push((value, Rc::clone(&counter)));
            }
            drop(reporter);
            let mut taken = report.take::<(i32, Rc<()>)>();
            assert_eq!(taken.next().unwrap().0, 0);
            assert_eq!(Rc::strong_count(&counter), 30);
            drop(taken);
        }
        assert_eq!(
            Rc::strong_count(&counter),
            1,
            "the values not taken were dropped"
        );
        // SAFETY: as above, a new phase.
        unsafe {
            drop(report.start::<u8>());
            assert_eq!(report.take::<u8>().count(), 0);
        }
    }
}
