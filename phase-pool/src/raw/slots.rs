//! Write-once result slots, one per chunk (or worker), filled during a phase and read by the
//! leader after it.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::PoisonError;

use crate::raw::handoff::drop_payload;
use crate::sync::{Mutex, UnsafeCell};

/// `n` slots of `Option<T>`, each written by the one worker that owns its index during a phase,
/// then taken out in index order by the leader once the phase is over.
pub(crate) struct Slots<T> {
    cells: Box<[UnsafeCell<Option<T>>]>,
}

// SAFETY: values of `T` are written by workers and taken out by the leader (`T: Send`); no slot
// is ever read through a shared reference by two threads (`put`'s contract), so `T: Sync` is
// not needed.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T> Slots<T> {
    pub(crate) fn new(n: usize) -> Slots<T> {
        Slots {
            cells: (0..n).map(|_| UnsafeCell::new(None)).collect(),
        }
    }

    /// Stores `value` in slot `index`.
    ///
    /// # Safety
    ///
    /// No other thread accesses slot `index` concurrently: each index is put at most once
    /// while the `Slots` is shared.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub(crate) unsafe fn put(&self, index: usize, value: T) {
        // SAFETY: this thread is the only one accessing the slot (the contract above).
        self.cells[index].with_mut(|slot| unsafe { *slot = Some(value) });
    }

    /// The slots' values in index order, once the `Slots` is no longer shared.
    pub(crate) fn into_values(self) -> impl Iterator<Item = Option<T>> {
        self.cells
            .into_vec()
            .into_iter()
            .map(UnsafeCell::into_inner)
    }
}

impl<T> std::fmt::Debug for Slots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("len", &self.cells.len())
            .finish()
    }
}

/// [`Slots`] allocated by the first worker that needs one: for results that only a phase's
/// slow path produces (the pieces of a late worker's block, run by another worker).
pub(crate) struct LazySlots<T> {
    len: usize,
    slots: Mutex<Option<Box<Slots<T>>>>,
}

impl<T> LazySlots<T> {
    pub(crate) fn new(len: usize) -> LazySlots<T> {
        LazySlots {
            len,
            slots: Mutex::new(None),
        }
    }

    /// The slots, allocated on the first call.
    pub(crate) fn get(&self) -> &Slots<T> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slots: *const Slots<T> = &**slots.get_or_insert_with(|| Box::new(Slots::new(self.len)));
        // SAFETY: the box, once set, is neither replaced nor dropped while `self` lives (only
        // `take` and `Drop`, which need `&mut self`, reach it otherwise), and the `Slots` in it
        // is shared, not mutated (its cells have their own rules).
        unsafe { &*slots }
    }

    /// Moves out the values put in slots `range`, in index order (empty slots skipped).
    ///
    /// # Safety
    ///
    /// No other thread accesses the slots meanwhile: the phase that put them is over.
    pub(crate) unsafe fn take(&self, range: Range<usize>) -> impl Iterator<Item = T> + '_ {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slots: Option<*const Slots<T>> = slots.as_deref().map(|slots| slots as *const _);
        // SAFETY: as in `get`: the box outlives `&self`.
        let cells = slots.map_or(&[][..], |slots| unsafe { &(&(*slots).cells)[range] });
        cells.iter().filter_map(|cell| {
            // SAFETY: no other thread accesses the slots (the contract).
            cell.with_mut(|slot| unsafe { (*slot).take() })
        })
    }
}

impl<T> Drop for LazySlots<T> {
    fn drop(&mut self) {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The values are user values whose `Drop` may panic, and this may run while a phase's
        // panic unwinds: such a second panic is dropped, as at the end of a phase.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(slots))) {
            drop_payload(panic);
        }
    }
}

impl<T> std::fmt::Debug for LazySlots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySlots")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
