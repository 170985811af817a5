//! The double buffer behind [`Grid1`](crate::Grid1), [`Grid2`](crate::Grid2) and
//! [`Grid3`](crate::Grid3): two vectors of the same length, cut into units (a block, a row, a
//! plane) that [`Schedule::Static`] deals to the workers, first touched by the worker that owns
//! each unit, and swept unit by unit in one phase, after which the buffers swap.

use crate::pool::PhasePool;
use crate::schedule::Schedule;

/// Two buffers of `len` elements cut into units of `unit` elements (the last unit may be
/// shorter): the current one, read by a sweep, and the next one, written by it.
pub(crate) struct DoubleBuffer<T> {
    current: Vec<T>,
    next: Vec<T>,
}

impl<T> DoubleBuffer<T> {
    /// The number of elements of each buffer.
    pub(crate) fn len(&self) -> usize {
        self.current.len()
    }
}

impl<T: Copy + Send + Sync> DoubleBuffer<T> {
    /// Both buffers, element `offset` of unit `u` set to `init_current(u, offset)` and
    /// `init_next(u, offset)` by the worker that owns unit `u`.
    pub(crate) fn new(
        pool: &PhasePool,
        len: usize,
        unit: usize,
        init_current: &(impl Fn(usize, usize) -> T + Sync),
        init_next: &(impl Fn(usize, usize) -> T + Sync),
    ) -> DoubleBuffer<T> {
        DoubleBuffer {
            current: first_touch(pool, len, unit, init_current),
            next: first_touch(pool, len, unit, init_next),
        }
    }

    pub(crate) fn current(&self) -> &[T] {
        &self.current
    }

    pub(crate) fn current_mut(&mut self) -> &mut [T] {
        &mut self.current
    }

    pub(crate) fn into_current(self) -> Vec<T> {
        self.current
    }

    /// One phase: `sweep(current, u, next_unit)` for every unit `u` of the next buffer, the
    /// results folded in unit order; then the buffers swap. With no elements, no phase runs and
    /// the result is `identity`. If the phase panics, the buffers do not swap.
    pub(crate) fn sweep<R, F, C>(
        &mut self,
        pool: &PhasePool,
        unit: usize,
        identity: R,
        sweep: F,
        combine: C,
    ) -> R
    where
        R: Send,
        F: Fn(&[T], usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        if self.current.is_empty() {
            return identity;
        }
        let current = &self.current[..];
        let result = pool.with_schedule(Schedule::Static).map_reduce_chunks_mut(
            &mut self.next,
            unit,
            identity,
            |u, next_unit| sweep(current, u, next_unit),
            combine,
        );
        std::mem::swap(&mut self.current, &mut self.next);
        result
    }
}

/// A vector of `len` elements, element `offset` of unit `u` (of `unit` elements; the last unit
/// may be shorter) set to `init(u, offset)` by the worker that owns unit `u` under
/// [`Schedule::Static`], so that its pages are first touched, and on a NUMA machine placed,
/// where that worker runs. What [`Grid2`](crate::Grid2) and [`Grid3`](crate::Grid3) allocate
/// their buffers with, for buffers of your own that later phases sweep with the static
/// schedule.
///
/// # Examples
///
/// ```
/// use phase_pool::{first_touch, PhasePool};
///
/// let pool = PhasePool::new(2);
/// // A 3 x 4 row-major grid, each row written by the worker that will sweep it.
/// let grid = first_touch(&pool, 12, 4, |row, col| 10 * row + col);
/// assert_eq!(grid[..5], [0, 1, 2, 3, 10]);
/// ```
///
/// # Panics
///
/// If `unit` is 0 while `len` is not; resumes a panic of `init`.
pub fn first_touch<T: Copy + Send + Sync>(
    pool: &PhasePool,
    len: usize,
    unit: usize,
    init: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    let mut buffer = Vec::with_capacity(len);
    if len == 0 {
        return buffer;
    }
    pool.with_schedule(Schedule::Static).for_each_chunk_mut(
        &mut buffer.spare_capacity_mut()[..len],
        unit,
        |u, cells| {
            for (offset, cell) in cells.iter_mut().enumerate() {
                cell.write(init(u, offset));
            }
        },
    );
    // SAFETY: the capacity is at least `len`, and `for_each_chunk_mut` returned normally, so it
    // ran the closure on every chunk of the first `len` elements, which wrote every element.
    unsafe { buffer.set_len(len) };
    buffer
}
