//! [`Grid2`]: a double-buffered 2D grid swept in phases, first-touched by its owners.

use std::fmt;
use std::ops::Index;

use crate::double_buffer::DoubleBuffer;
use crate::pool::PhasePool;

/// A shared, read-only view of a row-major `rows x cols` grid: the current buffer of a
/// [`Grid2`] during a sweep.
#[derive(Clone, Copy)]
pub struct GridView<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T> GridView<'a, T> {
    /// The number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The whole grid, row-major (`rows * cols` elements).
    #[must_use]
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Row `row`.
    ///
    /// # Examples
    ///
    /// Each row becomes its sum with the row above it (row 0 is left as it is):
    ///
    /// ```
    /// use phase_pool::{Grid2, PhasePool};
    ///
    /// let pool = PhasePool::new(2);
    /// let mut grid = Grid2::new(&pool, 4, 3, |row, col| (row * 3 + col) as u32);
    /// grid.step(&pool, |cur, i, next| {
    ///     if i > 0 {
    ///         for ((n, above), here) in next.iter_mut().zip(cur.row(i - 1)).zip(cur.row(i)) {
    ///             *n = above + here;
    ///         }
    ///     }
    /// });
    /// let view = grid.current();
    /// assert_eq!(view.row(0), [0, 1, 2]);
    /// assert_eq!(view.row(1), [3, 5, 7]);
    /// assert_eq!(view.row(3), [15, 17, 19]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `row >= rows()`.
    #[must_use]
    pub fn row(&self, row: usize) -> &'a [T] {
        assert!(
            row < self.rows,
            "row {row} out of range: the grid has {} rows",
            self.rows
        );
        &self.data[row * self.cols..(row + 1) * self.cols]
    }
}

impl<T> Index<(usize, usize)> for GridView<'_, T> {
    type Output = T;

    /// The element at `(row, col)`.
    fn index(&self, (row, col): (usize, usize)) -> &T {
        assert!(
            col < self.cols,
            "column {col} out of range: the grid has {} columns",
            self.cols
        );
        &self.row(row)[col]
    }
}

impl<T> fmt::Debug for GridView<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GridView")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

/// A double-buffered, row-major `rows x cols` grid for stencil sweeps on a [`PhasePool`].
///
/// Each sweep ([`step`](Grid2::step), [`step_reduce`](Grid2::step_reduce)) is one phase: every
/// worker gets a shared [`GridView`] of the current buffer and exclusive `&mut` rows of the next
/// one, the rows it owns; at the end of the phase the buffers swap. Rows are owned as
/// [`Schedule::Static`](crate::Schedule::Static) deals them (worker `w` of `n` owns a contiguous block of about
/// `rows / n` rows), whatever the pool's schedule, and the same workers wrote them first when
/// the grid was built (first touch), so on a NUMA machine every worker sweeps memory local to
/// it. User code needs no `unsafe`.
///
/// A reduction folds the per-row results in row order, so it is bitwise reproducible and
/// independent of the number of threads; a time-step loop can stop on it without an extra
/// phase.
///
/// # Examples
///
/// The reference Jacobi sweep (see [`kernels`](crate::kernels)) until the residual is small:
///
/// ```
/// use phase_pool::{kernels, Grid2, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let n = 34;
/// let mut grid = Grid2::new(&pool, n, n, |i, j| kernels::jacobi_initial_value(i * n + j));
/// let mut steps = 0;
/// loop {
///     let residual = grid.step_reduce(&pool, 0.0, |cur, i, next_row| {
///         kernels::jacobi_row(cur.as_slice(), cur.cols(), i, next_row)
///     }, kernels::max_residual);
///     steps += 1;
///     if residual < 1e-3 || steps == 1000 {
///         break;
///     }
/// }
/// assert!(steps < 1000);
/// ```
pub struct Grid2<T> {
    rows: usize,
    cols: usize,
    buffers: DoubleBuffer<T>,
}

impl<T: Copy + Send + Sync> Grid2<T> {
    /// A `rows x cols` grid with both buffers set to `init(row, col)`, each row written first by
    /// the worker that owns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{Grid2, PhasePool};
    ///
    /// let pool = PhasePool::new(2);
    /// let grid = Grid2::new(&pool, 3, 4, |row, col| 10 * row + col);
    /// assert_eq!((grid.rows(), grid.cols()), (3, 4));
    /// let view = grid.current();
    /// let row_major: Vec<usize> = (0..3).flat_map(|r| (0..4).map(move |c| 10 * r + c)).collect();
    /// assert_eq!(view.as_slice(), row_major);
    /// assert_eq!(view.row(2), [20, 21, 22, 23]);
    /// assert_eq!(view[(1, 3)], 13);
    /// ```
    ///
    /// # Panics
    ///
    /// If `rows * cols` overflows; resumes a panic of `init`.
    pub fn new(
        pool: &PhasePool,
        rows: usize,
        cols: usize,
        init: impl Fn(usize, usize) -> T + Sync,
    ) -> Grid2<T> {
        Grid2::with_next(pool, rows, cols, &init, &init)
    }

    /// A `rows x cols` grid with the current buffer set to `init(row, col)` and the next one to
    /// `init_next(row, col)`, each row written first by the worker that owns it.
    ///
    /// The next buffer's initial values are what the first sweep leaves where it writes nothing
    /// (see [`step`](Grid2::step)); a kernel whose two arrays start different (PolyBench's
    /// jacobi-2d) sets both.
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::{Grid2, PhasePool};
    ///
    /// let pool = PhasePool::new(2);
    /// let mut grid = Grid2::with_next(&pool, 2, 2, |_, _| 1, |_, _| 7);
    /// grid.step(&pool, |_, _, _| {}); // writes nothing
    /// assert_eq!(grid.current().as_slice(), [7; 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `rows * cols` overflows; resumes a panic of `init` or `init_next`.
    pub fn with_next(
        pool: &PhasePool,
        rows: usize,
        cols: usize,
        init: impl Fn(usize, usize) -> T + Sync,
        init_next: impl Fn(usize, usize) -> T + Sync,
    ) -> Grid2<T> {
        let len = rows
            .checked_mul(cols)
            .unwrap_or_else(|| panic!("a {rows} x {cols} grid has too many elements"));
        Grid2 {
            rows,
            cols,
            buffers: DoubleBuffer::new(pool, len, cols, &init, &init_next),
        }
    }

    /// A `rows x cols` grid with both buffers copied from the row-major `data`, each row
    /// copied by the worker that owns it.
    ///
    /// # Panics
    ///
    /// If `data.len() != rows * cols`.
    pub fn from_slice(pool: &PhasePool, rows: usize, cols: usize, data: &[T]) -> Grid2<T> {
        assert!(
            rows.checked_mul(cols) == Some(data.len()),
            "Grid2::from_slice: {} elements do not make a {rows} x {cols} grid",
            data.len()
        );
        Grid2::new(pool, rows, cols, |r, c| data[r * cols + c])
    }

    /// The number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// A view of the current buffer: the result of the last sweep (before any, `init`'s
    /// values). See [the example on `new`](Grid2::new) and the one on
    /// [`step`](Grid2::step).
    #[must_use]
    pub fn current(&self) -> GridView<'_, T> {
        GridView {
            data: self.buffers.current(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// The current buffer, row-major, for changes between sweeps (such as new boundary
    /// values); the next sweep reads it.
    pub fn current_mut(&mut self) -> &mut [T] {
        self.buffers.current_mut()
    }

    /// The current buffer, row-major.
    #[must_use]
    pub fn into_current(self) -> Vec<T> {
        self.buffers.into_current()
    }

    /// One sweep: `sweep(current, row, next_row)` for every row, in parallel, writes the next
    /// buffer; then the buffers swap.
    ///
    /// Elements of `next_row` that `sweep` leaves alone keep the value they had two sweeps ago
    /// (initially `init`'s), which keeps fixed boundaries fixed for free.
    ///
    /// A grid without elements (no rows or no columns) runs no phase: `sweep` is not called,
    /// since every row it would be handed is empty.
    ///
    /// # Examples
    ///
    /// Three smoothing sweeps of the interior below a hot top edge, checked against the serial
    /// double-buffered loop:
    ///
    /// ```
    /// use phase_pool::{Grid2, PhasePool};
    ///
    /// let n = 5;
    /// let hot_top = |i: usize, _: usize| if i == 0 { 100 } else { 0 };
    /// let pool = PhasePool::new(3);
    /// let mut grid = Grid2::new(&pool, n, n, hot_top);
    /// for _ in 0..3 {
    ///     grid.step(&pool, |cur, i, next| {
    ///         if i == 0 || i == n - 1 {
    ///             return; // boundary rows: left alone, so they stay as `init` set them
    ///         }
    ///         for j in 1..n - 1 {
    ///             let (up, down) = (cur[(i - 1, j)], cur[(i + 1, j)]);
    ///             next[j] = (up + down + cur[(i, j - 1)] + cur[(i, j + 1)]) / 4;
    ///         }
    ///     });
    /// }
    ///
    /// let mut cur: Vec<i32> = (0..n * n).map(|k| hot_top(k / n, k % n)).collect();
    /// let mut next = cur.clone();
    /// for _ in 0..3 {
    ///     for i in 1..n - 1 {
    ///         for j in 1..n - 1 {
    ///             let at = |i: usize, j: usize| cur[i * n + j];
    ///             let (up, down) = (at(i - 1, j), at(i + 1, j));
    ///             next[i * n + j] = (up + down + at(i, j - 1) + at(i, j + 1)) / 4;
    ///         }
    ///     }
    ///     std::mem::swap(&mut cur, &mut next);
    /// }
    /// assert_eq!(grid.current().as_slice(), cur);
    /// assert_eq!(grid.current().row(0), [100; 5], "the boundary stays fixed");
    /// assert!(grid.current()[(1, 2)] > 0, "heat came in");
    /// ```
    ///
    /// # Panics
    ///
    /// Resumes a panic of `sweep`, once every worker has stopped; the buffers are then not
    /// swapped (the current one is unchanged, the next one partly written).
    pub fn step<F>(&mut self, pool: &PhasePool, sweep: F)
    where
        F: Fn(GridView<'_, T>, usize, &mut [T]) + Sync,
    {
        self.step_reduce(
            pool,
            (),
            |cur, row, next| sweep(cur, row, next),
            |(), ()| (),
        );
    }

    /// One sweep with a reduction: as [`step`](Grid2::step), where `sweep` returns a result per
    /// row, folded in row order: `combine(..combine(identity, r0).., r_last)`.
    ///
    /// # Examples
    ///
    /// A heat-diffusion sweep with a hot top edge and the largest change reduced in the same
    /// phase; the user code has no `unsafe`:
    ///
    /// ```
    /// use phase_pool::{reduce, Grid2, PhasePool};
    ///
    /// let pool = PhasePool::new(2);
    /// let n = 16;
    /// let mut grid = Grid2::new(&pool, n, n, |i, _| if i == 0 { 1.0_f64 } else { 0.0 });
    /// let mut change = f64::INFINITY;
    /// while change > 1e-6 {
    ///     change = grid.step_reduce(&pool, 0.0, |cur, i, next| {
    ///         if i == 0 || i == n - 1 {
    ///             return 0.0; // fixed boundary rows
    ///         }
    ///         let mut largest = 0.0_f64;
    ///         for j in 1..n - 1 {
    ///             let v = 0.25 * (cur[(i - 1, j)] + cur[(i + 1, j)] + cur[(i, j - 1)] + cur[(i, j + 1)]);
    ///             largest = largest.max((v - cur[(i, j)]).abs());
    ///             next[j] = v;
    ///         }
    ///         largest
    ///     }, reduce::max);
    /// }
    /// let field = grid.current();
    /// assert!(field[(1, n / 2)] > field[(n - 2, n / 2)], "heat flows from the top");
    /// ```
    ///
    /// # Panics
    ///
    /// As [`step`](Grid2::step); a panic of `combine` resumes after the phase, before the
    /// swap.
    pub fn step_reduce<R, F, C>(&mut self, pool: &PhasePool, identity: R, sweep: F, combine: C) -> R
    where
        R: Send,
        F: Fn(GridView<'_, T>, usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        let (rows, cols) = (self.rows, self.cols);
        self.buffers.sweep(
            pool,
            cols,
            identity,
            |data, row, next_row| sweep(GridView { data, rows, cols }, row, next_row),
            combine,
        )
    }
}

impl<T> fmt::Debug for Grid2<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grid2")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}
