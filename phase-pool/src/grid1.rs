//! [`Grid1`]: a double-buffered 1D grid swept in blocks, first-touched by its owners.

use std::fmt;

use crate::double_buffer::DoubleBuffer;
use crate::pool::PhasePool;

/// A double-buffered vector of `len` elements for 1D stencil sweeps on a [`PhasePool`], cut
/// into blocks of `block` elements (the last one may be shorter).
///
/// As [`Grid2`](crate::Grid2), with blocks where `Grid2` has rows: each sweep is one phase in
/// which every worker reads the whole current buffer and writes its blocks of the next one,
/// which it first touched; results fold in block order.
///
/// # Examples
///
/// A 3-point average of the interior:
///
/// ```
/// use phase_pool::{Grid1, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let n = 10;
/// let mut grid = Grid1::new(&pool, n, 4, |i| (i * i) as f64);
/// grid.step(&pool, |cur, start, next| {
///     for (offset, x) in next.iter_mut().enumerate() {
///         let i = start + offset;
///         if i > 0 && i < n - 1 {
///             *x = (cur[i - 1] + cur[i] + cur[i + 1]) / 3.0;
///         }
///     }
/// });
/// assert_eq!(grid.current()[0], 0.0);
/// assert_eq!(grid.current()[2], (1.0 + 4.0 + 9.0) / 3.0);
/// ```
pub struct Grid1<T> {
    block: usize,
    buffers: DoubleBuffer<T>,
}

impl<T: Copy + Send + Sync> Grid1<T> {
    /// A grid of `len` elements in blocks of `block`, both buffers set to `init(i)`.
    ///
    /// # Panics
    ///
    /// If `block == 0`; resumes a panic of `init`.
    pub fn new(
        pool: &PhasePool,
        len: usize,
        block: usize,
        init: impl Fn(usize) -> T + Sync,
    ) -> Grid1<T> {
        Grid1::with_next(pool, len, block, &init, &init)
    }

    /// A grid with the current buffer set to `init(i)` and the next one to `init_next(i)`
    /// (what the first sweep leaves where it writes nothing).
    ///
    /// # Panics
    ///
    /// If `block == 0`; resumes a panic of `init` or `init_next`.
    pub fn with_next(
        pool: &PhasePool,
        len: usize,
        block: usize,
        init: impl Fn(usize) -> T + Sync,
        init_next: impl Fn(usize) -> T + Sync,
    ) -> Grid1<T> {
        assert!(block > 0, "Grid1: the block length must be at least 1");
        let current = |b: usize, offset: usize| init(b * block + offset);
        let next = |b: usize, offset: usize| init_next(b * block + offset);
        Grid1 {
            block,
            buffers: DoubleBuffer::new(pool, len, block, &current, &next),
        }
    }

    /// The number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buffers.current().len()
    }

    /// Whether the grid has no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block length.
    #[must_use]
    pub fn block(&self) -> usize {
        self.block
    }

    /// The current buffer: the result of the last sweep (before any, `init`'s values).
    #[must_use]
    pub fn current(&self) -> &[T] {
        self.buffers.current()
    }

    /// The current buffer, for changes between sweeps; the next sweep reads it.
    pub fn current_mut(&mut self) -> &mut [T] {
        self.buffers.current_mut()
    }

    /// The current buffer.
    #[must_use]
    pub fn into_current(self) -> Vec<T> {
        self.buffers.into_current()
    }

    /// One sweep: `sweep(current, start, next_block)` for every block, in parallel, where
    /// `next_block` is `next[start..start + next_block.len()]`; then the buffers swap.
    /// Elements that `sweep` leaves alone keep the value they had two sweeps ago.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `sweep`, once every worker has stopped; the buffers are then not
    /// swapped.
    pub fn step<F>(&mut self, pool: &PhasePool, sweep: F)
    where
        F: Fn(&[T], usize, &mut [T]) + Sync,
    {
        self.step_reduce(pool, (), sweep, |(), ()| ());
    }

    /// One sweep with a reduction over the blocks' results, folded in block order.
    ///
    /// # Panics
    ///
    /// As [`step`](Grid1::step).
    pub fn step_reduce<R, F, C>(&mut self, pool: &PhasePool, identity: R, sweep: F, combine: C) -> R
    where
        R: Send,
        F: Fn(&[T], usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        let block = self.block;
        self.buffers.sweep(
            pool,
            block,
            identity,
            |cur, b, next| sweep(cur, b * block, next),
            combine,
        )
    }
}

impl<T> fmt::Debug for Grid1<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grid1")
            .field("len", &self.buffers.len())
            .field("block", &self.block)
            .finish()
    }
}
