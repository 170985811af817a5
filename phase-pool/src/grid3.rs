//! [`Grid3`]: a double-buffered 3D grid swept plane by plane, first-touched by its owners.

use std::fmt;
use std::ops::Index;

use crate::double_buffer::DoubleBuffer;
use crate::pool::PhasePool;

/// A shared, read-only view of a `planes x rows x cols` grid stored plane-major, then
/// row-major (element `(i, j, k)` at `(i * rows + j) * cols + k`): the current buffer of a
/// [`Grid3`] during a sweep.
#[derive(Clone, Copy)]
pub struct Grid3View<'a, T> {
    data: &'a [T],
    planes: usize,
    rows: usize,
    cols: usize,
}

impl<'a, T> Grid3View<'a, T> {
    /// The number of planes (the slowest index).
    #[must_use]
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// The number of rows of a plane.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns of a row (the fastest index).
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The whole grid (`planes * rows * cols` elements).
    #[must_use]
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Plane `plane`, row-major (`rows * cols` elements).
    ///
    /// # Panics
    ///
    /// If `plane >= planes()`.
    #[must_use]
    pub fn plane(&self, plane: usize) -> &'a [T] {
        assert!(
            plane < self.planes,
            "plane {plane} out of range: the grid has {} planes",
            self.planes
        );
        let len = self.rows * self.cols;
        &self.data[plane * len..(plane + 1) * len]
    }

    /// Row `row` of plane `plane`.
    ///
    /// # Panics
    ///
    /// If `plane >= planes()` or `row >= rows()`.
    #[must_use]
    pub fn row(&self, plane: usize, row: usize) -> &'a [T] {
        assert!(
            row < self.rows,
            "row {row} out of range: the grid has {} rows",
            self.rows
        );
        &self.plane(plane)[row * self.cols..(row + 1) * self.cols]
    }
}

impl<T> Index<(usize, usize, usize)> for Grid3View<'_, T> {
    type Output = T;

    /// The element at `(plane, row, col)`.
    fn index(&self, (plane, row, col): (usize, usize, usize)) -> &T {
        assert!(
            col < self.cols,
            "column {col} out of range: the grid has {} columns",
            self.cols
        );
        &self.row(plane, row)[col]
    }
}

impl<T> fmt::Debug for Grid3View<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grid3View")
            .field("planes", &self.planes)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

/// A double-buffered `planes x rows x cols` grid for 3D stencil sweeps on a [`PhasePool`].
///
/// As [`Grid2`](crate::Grid2), with planes where `Grid2` has rows: each sweep is one phase in
/// which every worker gets a shared [`Grid3View`] of the current buffer and exclusive `&mut`
/// planes of the next one; worker `w` of `n` owns a contiguous block of about `planes / n`
/// planes ([`Schedule::Static`](crate::Schedule::Static)'s blocks, whatever the pool's
/// schedule), the same planes it wrote first when the grid was built. Reductions fold the
/// per-plane results in plane order. A grid with fewer planes than workers leaves the rest
/// idle. User code needs no `unsafe`.
///
/// # Examples
///
/// A 7-point average of the interior, checked against the serial double-buffered loop:
///
/// ```
/// use phase_pool::{Grid3, PhasePool};
///
/// let (p, r, c) = (5, 4, 6);
/// let init = |i: usize, j: usize, k: usize| (i * 31 + j * 7 + k) as f64;
/// let pool = PhasePool::new(3);
/// let mut grid = Grid3::new(&pool, p, r, c, init);
/// let seven_point = |a: &dyn Fn(usize, usize, usize) -> f64, i: usize, j: usize, k: usize| {
///     (a(i, j, k) + a(i - 1, j, k) + a(i + 1, j, k) + a(i, j - 1, k) + a(i, j + 1, k)
///         + a(i, j, k - 1) + a(i, j, k + 1)) / 7.0
/// };
/// for _ in 0..2 {
///     grid.step(&pool, |cur, i, next| {
///         if i == 0 || i == p - 1 {
///             return;
///         }
///         for j in 1..r - 1 {
///             for k in 1..c - 1 {
///                 next[j * c + k] = seven_point(&|i, j, k| cur[(i, j, k)], i, j, k);
///             }
///         }
///     });
/// }
///
/// let mut cur: Vec<f64> = (0..p * r * c).map(|x| init(x / (r * c), x / c % r, x % c)).collect();
/// let mut next = cur.clone();
/// for _ in 0..2 {
///     for i in 1..p - 1 {
///         for j in 1..r - 1 {
///             for k in 1..c - 1 {
///                 next[(i * r + j) * c + k] =
///                     seven_point(&|i, j, k| cur[(i * r + j) * c + k], i, j, k);
///             }
///         }
///     }
///     std::mem::swap(&mut cur, &mut next);
/// }
/// assert_eq!(grid.current().as_slice(), cur);
/// ```
pub struct Grid3<T> {
    planes: usize,
    rows: usize,
    cols: usize,
    buffers: DoubleBuffer<T>,
}

impl<T: Copy + Send + Sync> Grid3<T> {
    /// A `planes x rows x cols` grid with both buffers set to `init(plane, row, col)`, each plane
    /// written first by the worker that owns it.
    ///
    /// # Panics
    ///
    /// If `planes * rows * cols` overflows; resumes a panic of `init`.
    pub fn new(
        pool: &PhasePool,
        planes: usize,
        rows: usize,
        cols: usize,
        init: impl Fn(usize, usize, usize) -> T + Sync,
    ) -> Grid3<T> {
        Grid3::with_next(pool, planes, rows, cols, &init, &init)
    }

    /// A grid with the current buffer set to `init(plane, row, col)` and the next one to
    /// `init_next(plane, row, col)` (what the first sweep leaves where it writes nothing).
    ///
    /// # Panics
    ///
    /// If `planes * rows * cols` overflows; resumes a panic of `init` or `init_next`.
    pub fn with_next(
        pool: &PhasePool,
        planes: usize,
        rows: usize,
        cols: usize,
        init: impl Fn(usize, usize, usize) -> T + Sync,
        init_next: impl Fn(usize, usize, usize) -> T + Sync,
    ) -> Grid3<T> {
        let plane = rows.checked_mul(cols);
        let len = plane.and_then(|plane| plane.checked_mul(planes));
        let (Some(plane), Some(len)) = (plane, len) else {
            panic!("a {planes} x {rows} x {cols} grid has too many elements");
        };
        // With `plane == 0` the grid is empty and neither closure runs.
        let at = |init: &dyn Fn(usize, usize, usize) -> T, i: usize, offset: usize| {
            init(i, offset / cols, offset % cols)
        };
        let current = |i, offset| at(&init, i, offset);
        let next = |i, offset| at(&init_next, i, offset);
        Grid3 {
            planes,
            rows,
            cols,
            buffers: DoubleBuffer::new(pool, len, plane.max(1), &current, &next),
        }
    }

    /// A grid with both buffers copied from `data` (plane-major, then row-major), each plane
    /// copied by the worker that owns it.
    ///
    /// # Panics
    ///
    /// If `data.len() != planes * rows * cols`.
    pub fn from_slice(
        pool: &PhasePool,
        planes: usize,
        rows: usize,
        cols: usize,
        data: &[T],
    ) -> Grid3<T> {
        assert!(
            rows.checked_mul(cols).and_then(|p| p.checked_mul(planes)) == Some(data.len()),
            "Grid3::from_slice: {} elements do not make a {planes} x {rows} x {cols} grid",
            data.len()
        );
        Grid3::new(pool, planes, rows, cols, |i, j, k| {
            data[(i * rows + j) * cols + k]
        })
    }

    /// The number of planes.
    #[must_use]
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// The number of rows of a plane.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns of a row.
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// A view of the current buffer: the result of the last sweep (before any, `init`'s
    /// values).
    #[must_use]
    pub fn current(&self) -> Grid3View<'_, T> {
        Grid3View {
            data: self.buffers.current(),
            planes: self.planes,
            rows: self.rows,
            cols: self.cols,
        }
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

    /// One sweep: `sweep(current, plane, next_plane)` for every plane, in parallel, writes the
    /// next buffer (`next_plane` is row-major, `rows * cols` elements); then the buffers swap.
    /// Elements that `sweep` leaves alone keep the value they had two sweeps ago.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `sweep`, once every worker has stopped; the buffers are then not
    /// swapped.
    pub fn step<F>(&mut self, pool: &PhasePool, sweep: F)
    where
        F: Fn(Grid3View<'_, T>, usize, &mut [T]) + Sync,
    {
        self.step_reduce(pool, (), sweep, |(), ()| ());
    }

    /// One sweep with a reduction: as [`step`](Grid3::step), where `sweep` returns a result per
    /// plane, folded in plane order: `combine(..combine(identity, r0).., r_last)`.
    ///
    /// # Panics
    ///
    /// As [`step`](Grid3::step); a panic of `combine` resumes after the phase, before the swap.
    pub fn step_reduce<R, F, C>(&mut self, pool: &PhasePool, identity: R, sweep: F, combine: C) -> R
    where
        R: Send,
        F: Fn(Grid3View<'_, T>, usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        let (planes, rows, cols) = (self.planes, self.rows, self.cols);
        self.buffers.sweep(
            pool,
            rows * cols,
            identity,
            |data, plane, next_plane| {
                let view = Grid3View {
                    data,
                    planes,
                    rows,
                    cols,
                };
                sweep(view, plane, next_plane)
            },
            combine,
        )
    }
}

impl<T> fmt::Debug for Grid3<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grid3")
            .field("planes", &self.planes)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}
