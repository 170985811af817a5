//! Disjoint `&mut` chunks of one slice, claimed by index from several workers.

use std::marker::PhantomData;

/// A `&'a mut [T]` cut into chunks of `chunk_len` elements (the last may be shorter), from
/// which workers claim chunks by index.
pub(crate) struct ChunksMut<'a, T> {
    ptr: *mut T,
    len: usize,
    chunk_len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `ChunksMut` hands out disjoint `&mut [T]` to other threads, which `&mut [T]: Send`
// allows when `T: Send`; two threads never get the same element (`claim`'s contract).
unsafe impl<T: Send> Send for ChunksMut<'_, T> {}
// SAFETY: as for `Send`: sharing the `ChunksMut` only lets threads claim disjoint chunks.
unsafe impl<T: Send> Sync for ChunksMut<'_, T> {}

impl<'a, T> ChunksMut<'a, T> {
    /// # Panics
    ///
    /// If `chunk_len == 0`.
    pub(crate) fn new(data: &'a mut [T], chunk_len: usize) -> ChunksMut<'a, T> {
        assert!(chunk_len > 0, "chunk_len must be at least 1");
        ChunksMut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            chunk_len,
            _borrow: PhantomData,
        }
    }

    /// The number of chunks.
    pub(crate) fn count(&self) -> usize {
        self.len.div_ceil(self.chunk_len)
    }

    /// Chunk `index`: elements `index * chunk_len ..` up to `chunk_len` of them.
    ///
    /// # Safety
    ///
    /// Each `index` is claimed at most once during the life of this `ChunksMut`.
    ///
    /// # Panics
    ///
    /// If `index >= self.count()`.
    pub(crate) unsafe fn claim(&self, index: usize) -> &'a mut [T] {
        assert!(
            index < self.count(),
            "chunk {index} out of {}",
            self.count()
        );
        let start = index * self.chunk_len;
        let len = self.chunk_len.min(self.len - start);
        // SAFETY: `start + len <= self.len`, so the range lies in the borrowed slice, which
        // lives for 'a; chunks of different indices do not overlap, and each index is claimed
        // once (this function's contract), so this is the only reference to these elements.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

impl<T> std::fmt::Debug for ChunksMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunksMut")
            .field("len", &self.len)
            .field("chunk_len", &self.chunk_len)
            .finish()
    }
}
