//! Fallible allocation of the storage a barrier's size asks for (seats, slots, tree nodes,
//! dissemination flags, placements).
//!
//! The number of parties comes from the user, so the memory it implies is requested, never
//! assumed: a request the allocator refuses, or a size that does not fit a `usize`, becomes
//! [`BuildError::OutOfMemory`] instead of an abort or a "capacity overflow" panic.

use std::mem::size_of;

use crate::error::BuildError;

/// Collects the first `len` items of `items` into storage reserved up front, or reports that a
/// barrier of `parties` parties cannot have it.
pub(crate) fn try_collect<T>(
    parties: usize,
    len: usize,
    items: impl Iterator<Item = T>,
) -> Result<Box<[T]>, BuildError> {
    let mut storage = Vec::new();
    storage
        .try_reserve_exact(len)
        .map_err(|_| out_of_memory::<T>(parties, Some(len)))?;
    // The reservation holds `len` items, so this neither reallocates nor fails.
    storage.extend(items.take(len));
    debug_assert_eq!(storage.len(), len, "fewer items than the storage holds");
    Ok(storage.into_boxed_slice())
}

/// The error for `len` items of `T` (`None`: a count that does not fit a `usize`).
pub(crate) fn out_of_memory<T>(parties: usize, len: Option<usize>) -> BuildError {
    BuildError::OutOfMemory {
        parties,
        bytes: len.map_or(usize::MAX, |len| len.saturating_mul(size_of::<T>())),
    }
}
