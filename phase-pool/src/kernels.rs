//! The reference kernel of the workspace: 2D 5-point Jacobi with the max-norm residual in the
//! same sweep (PolyBench jacobi-2d's update, boundary fixed), serial and on a [`Grid2`].
//!
//! ```text
//! next[i][j] = 0.2 * (cur[i][j] + cur[i][j-1] + cur[i][j+1] + cur[i-1][j] + cur[i+1][j])
//! residual   = max over the interior of |next[i][j] - cur[i][j]|
//! ```
//!
//! The serial sweep ([`jacobi_step_serial`]) and the pooled one ([`jacobi_step`]) call the same
//! row kernel ([`jacobi_row`]), so they agree bitwise. The residual is a maximum written with
//! comparisons (`if d > m { d } else { m }`), not `f64::max` (whose NaN rules keep the loop
//! scalar), over eight independent accumulators so that the compiler vectorises it. A NaN
//! difference is ignored by the comparison.
//!
//! # Examples
//!
//! ```
//! use phase_pool::{kernels, PhasePool};
//!
//! let pool = PhasePool::new(2);
//! let n = 64;
//! let mut grid = kernels::jacobi_grid(&pool, n);
//! let mut cur = kernels::jacobi_initial(n);
//! let mut next = cur.clone();
//! for _ in 0..10 {
//!     let pooled = kernels::jacobi_step(&pool, &mut grid);
//!     let serial = kernels::jacobi_step_serial(&cur, &mut next, n);
//!     std::mem::swap(&mut cur, &mut next);
//!     assert_eq!(pooled.to_bits(), serial.to_bits());
//! }
//! assert_eq!(grid.current().as_slice(), &cur[..]);
//! ```

use crate::grid::Grid2;
use crate::pool::PhasePool;

/// Independent residual accumulators in [`jacobi_row`]: 8 `f64`s fill two AVX2 registers (or
/// one AVX-512 register), enough to keep the comparison chain off the critical path.
const LANES: usize = 8;

/// The initial value of element `k = i * n + j`:
/// `((k as u64).wrapping_mul(2654435761) % 1000) as f64 / 1000.0`.
#[must_use]
pub fn jacobi_initial_value(k: usize) -> f64 {
    ((k as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0
}

/// The initial `n x n` grid, row-major.
#[must_use]
pub fn jacobi_initial(n: usize) -> Vec<f64> {
    (0..n * n).map(jacobi_initial_value).collect()
}

/// The residual fold: the larger of `a` and `b` by comparison (`b` if `b > a`, else `a`).
#[must_use]
#[inline]
pub fn max_residual(a: f64, b: f64) -> f64 {
    crate::reduce::max(a, b)
}

/// Sweeps row `i` of the row-major grid `cur` (`cols` columns) into `next_row` and returns the
/// row's residual, `max |next - cur|` over its interior.
///
/// Writes only the interior `next_row[1..cols - 1]`; the boundary rows (`i == 0` and the last)
/// and grids narrower than 3 are left alone and return 0.
///
/// # Panics
///
/// If `cols == 0`, `cur.len()` is not a multiple of `cols`, `i` is not a row of `cur`, or
/// `next_row.len() != cols`.
///
/// # Examples
///
/// One hot cell in a 3 x 3 grid: the only interior element gets a fifth of it.
///
/// ```
/// use phase_pool::kernels;
///
/// let cur = [
///     0.0, 0.0, 0.0, //
///     0.0, 1.0, 0.0, //
///     0.0, 0.0, 0.0, //
/// ];
/// let mut next_row = [9.0; 3];
/// let residual = kernels::jacobi_row(&cur, 3, 1, &mut next_row);
/// assert_eq!(next_row, [9.0, 0.2 * 1.0, 9.0], "only the interior is written");
/// assert_eq!(residual, (0.2_f64 - 1.0).abs());
///
/// // A boundary row is left alone.
/// let mut top = [9.0; 3];
/// assert_eq!(kernels::jacobi_row(&cur, 3, 0, &mut top), 0.0);
/// assert_eq!(top, [9.0; 3]);
/// ```
#[inline]
pub fn jacobi_row(cur: &[f64], cols: usize, i: usize, next_row: &mut [f64]) -> f64 {
    assert!(
        cols > 0 && cur.len() % cols == 0,
        "jacobi_row: {} elements do not make rows of {cols} columns",
        cur.len()
    );
    let rows = cur.len() / cols;
    assert!(
        i < rows,
        "jacobi_row: row {i} out of range: the grid has {rows} rows"
    );
    assert_eq!(
        next_row.len(),
        cols,
        "jacobi_row: next_row must hold one row of {cols} columns"
    );
    if i == 0 || i + 1 == rows || cols < 3 {
        return 0.0;
    }
    let m = cols - 2;
    let up = &cur[(i - 1) * cols + 1..][..m];
    let down = &cur[(i + 1) * cols + 1..][..m];
    let row = &cur[i * cols..][..cols];
    let (west, centre, east) = (&row[..m], &row[1..][..m], &row[2..][..m]);
    let out = &mut next_row[1..][..m];

    let mut acc = [0.0f64; LANES];
    let full = m - m % LANES;
    for base in (0..full).step_by(LANES) {
        for (lane, max) in acc.iter_mut().enumerate() {
            let j = base + lane;
            let new = 0.2 * (centre[j] + west[j] + east[j] + up[j] + down[j]);
            out[j] = new;
            let d = (new - centre[j]).abs();
            *max = if d > *max { d } else { *max };
        }
    }
    for j in full..m {
        let new = 0.2 * (centre[j] + west[j] + east[j] + up[j] + down[j]);
        out[j] = new;
        let d = (new - centre[j]).abs();
        acc[0] = if d > acc[0] { d } else { acc[0] };
    }
    acc.into_iter().fold(0.0, max_residual)
}

/// One serial sweep of the `n x n` grid `cur` into `next`; returns the residual.
///
/// `next`'s boundary must already hold the fixed boundary values (start with a copy of `cur`):
/// the sweep writes only the interior.
///
/// # Panics
///
/// If `cur` or `next` does not hold `n * n` elements.
///
/// # Examples
///
/// Five sweeps, bit for bit the same as the textbook loop
/// ([`jacobi_step_plain`]); see [the module's example](self#examples) for the pooled sweep:
///
/// ```
/// use phase_pool::kernels;
///
/// let n = 16;
/// let mut cur = kernels::jacobi_initial(n);
/// let mut next = cur.clone(); // holds the boundary values, which sweeps do not write
/// let (mut plain_cur, mut plain_next) = (cur.clone(), cur.clone());
/// for _ in 0..5 {
///     let residual = kernels::jacobi_step_serial(&cur, &mut next, n);
///     let plain = kernels::jacobi_step_plain(&plain_cur, &mut plain_next, n);
///     assert_eq!(residual.to_bits(), plain.to_bits());
///     std::mem::swap(&mut cur, &mut next);
///     std::mem::swap(&mut plain_cur, &mut plain_next);
/// }
/// assert_eq!(cur, plain_cur);
/// assert_eq!(cur[..n], kernels::jacobi_initial(n)[..n], "the top row is fixed");
/// ```
pub fn jacobi_step_serial(cur: &[f64], next: &mut [f64], n: usize) -> f64 {
    check_square(cur.len(), n, "cur");
    check_square(next.len(), n, "next");
    if n == 0 {
        return 0.0;
    }
    next.chunks_mut(n)
        .enumerate()
        .map(|(i, next_row)| jacobi_row(cur, n, i, next_row))
        .fold(0.0, max_residual)
}

/// The textbook loop of the same sweep (2D indexing, `f64::max`): the reference a kernel of
/// your own can be checked and timed against. It gives the same grid and residual as
/// [`jacobi_step_serial`], bit for bit; part of the stable API.
///
/// # Panics
///
/// As [`jacobi_step_serial`].
pub fn jacobi_step_plain(cur: &[f64], next: &mut [f64], n: usize) -> f64 {
    check_square(cur.len(), n, "cur");
    check_square(next.len(), n, "next");
    let mut residual = 0.0f64;
    for i in 1..n.saturating_sub(1) {
        for j in 1..n - 1 {
            let new = 0.2
                * (cur[i * n + j]
                    + cur[i * n + j - 1]
                    + cur[i * n + j + 1]
                    + cur[(i - 1) * n + j]
                    + cur[(i + 1) * n + j]);
            next[i * n + j] = new;
            residual = residual.max((new - cur[i * n + j]).abs());
        }
    }
    residual
}

fn check_square(len: usize, n: usize, what: &str) {
    assert!(
        n.checked_mul(n) == Some(len),
        "jacobi: {what} holds {len} elements, an {n} x {n} grid needs n * n"
    );
}

/// The initial `n x n` grid as a [`Grid2`], first-touched by the owning workers.
#[must_use]
pub fn jacobi_grid(pool: &PhasePool, n: usize) -> Grid2<f64> {
    Grid2::new(pool, n, n, |i, j| jacobi_initial_value(i * n + j))
}

/// One pooled sweep of `grid` (one phase); returns the residual, bitwise equal to
/// [`jacobi_step_serial`]'s on the same grid.
pub fn jacobi_step(pool: &PhasePool, grid: &mut Grid2<f64>) -> f64 {
    grid.step_reduce(
        pool,
        0.0,
        |cur, i, next_row| jacobi_row(cur.as_slice(), cur.cols(), i, next_row),
        max_residual,
    )
}

/// Sweeps `grid` until the residual drops below `tolerance` or after `max_steps` sweeps, one
/// phase per sweep (the test reads the sweep's own reduction). Returns the number of sweeps and
/// the last residual (`0.0` if `max_steps == 0`).
///
/// # Examples
///
/// The pooled solve matches the serial kernel bit for bit:
///
/// ```
/// use phase_pool::{kernels, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let n = 33;
/// let mut grid = kernels::jacobi_grid(&pool, n);
/// let (steps, residual) = kernels::jacobi_solve(&pool, &mut grid, 1e-3, 10_000);
///
/// let mut cur = kernels::jacobi_initial(n);
/// let mut next = cur.clone();
/// let mut serial = f64::INFINITY;
/// for _ in 0..steps {
///     serial = kernels::jacobi_step_serial(&cur, &mut next, n);
///     std::mem::swap(&mut cur, &mut next);
/// }
/// assert!(residual < 1e-3);
/// assert_eq!(serial.to_bits(), residual.to_bits());
/// assert_eq!(grid.current().as_slice(), &cur[..]);
/// ```
pub fn jacobi_solve(
    pool: &PhasePool,
    grid: &mut Grid2<f64>,
    tolerance: f64,
    max_steps: usize,
) -> (usize, f64) {
    let mut residual = 0.0;
    for step in 1..=max_steps {
        residual = jacobi_step(pool, grid);
        if residual < tolerance {
            return (step, residual);
        }
    }
    (max_steps, residual)
}
