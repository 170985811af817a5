//! Write-once result slots, one per chunk (or worker), filled during a phase and read by the
//! leader after it.

use crate::sync::UnsafeCell;

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
