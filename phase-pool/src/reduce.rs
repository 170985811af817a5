//! Combine functions for reductions ([`PhasePool::map_reduce_chunks_mut`](crate::PhasePool),
//! [`Ctx::reduce`](crate::Ctx::reduce), ...).
//!
//! `min` and `max` are written with one comparison, so they vectorise and are exactly
//! associative; with a NaN they keep the left operand (`max(NaN, x) == NaN`,
//! `max(x, NaN) == x`). The `_loc` forms carry an index (a location) and keep the smaller index
//! on ties, so they are deterministic whatever the fold order.
//!
//! # Examples
//!
//! ```
//! use phase_pool::{reduce, PhasePool};
//!
//! let pool = PhasePool::new(3);
//! let data = [3.0, -1.0, 7.5, 7.5, 2.0];
//! let (value, index) = pool.map_reduce_index(data.len(), 2, (f64::NEG_INFINITY, usize::MAX),
//!     |r| r.map(|i| (data[i], i)).fold((f64::NEG_INFINITY, usize::MAX), reduce::max_loc),
//!     reduce::max_loc);
//! assert_eq!((value, index), (7.5, 2));
//! ```

use std::ops::Add;

/// `a + b`.
///
/// # Examples
///
/// ```
/// use phase_pool::{reduce, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let square_sum = |r: std::ops::Range<usize>| r.map(|i| (i * i) as u64).sum::<u64>();
/// let squares = pool.map_reduce_index(1..101, 16, 0, square_sum, reduce::sum);
/// assert_eq!(squares, (1..101u64).map(|i| i * i).sum());
/// ```
#[inline]
pub fn sum<T: Add<Output = T>>(a: T, b: T) -> T {
    a + b
}

/// The smaller of `a` and `b`: `b` if `b < a`, else `a`.
///
/// # Examples
///
/// ```
/// use phase_pool::{reduce, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let mut v: Vec<f64> = (0..500).map(|i| (i as f64 * 0.37).sin()).collect();
/// let serial = v.iter().copied().fold(f64::INFINITY, reduce::min);
/// let smallest = pool.map_reduce_chunks_mut(&mut v, 32, f64::INFINITY,
///     |_, c| c.iter().copied().fold(f64::INFINITY, reduce::min), reduce::min);
/// assert_eq!(smallest, serial);
/// // A NaN on the right is ignored, one on the left is kept (as for `max`).
/// assert_eq!(reduce::min(1.0, f64::NAN), 1.0);
/// assert!(reduce::min(f64::NAN, 1.0).is_nan());
/// ```
#[inline]
pub fn min<T: PartialOrd>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

/// The larger of `a` and `b`: `b` if `b > a`, else `a`.
///
/// # Examples
///
/// ```
/// use phase_pool::reduce;
///
/// assert_eq!(reduce::max(2, 5), 5);
/// // A NaN on the right is ignored, one on the left is kept: start folds from a number.
/// assert_eq!(reduce::max(1.0, f64::NAN), 1.0);
/// assert!(reduce::max(f64::NAN, 1.0).is_nan());
/// let largest = [0.5, f64::NAN, 2.0, -1.0].into_iter().fold(f64::NEG_INFINITY, reduce::max);
/// assert_eq!(largest, 2.0);
/// ```
///
/// See also [the crate's example](crate#example), a pooled maximum.
#[inline]
pub fn max<T: PartialOrd>(a: T, b: T) -> T {
    if b > a {
        b
    } else {
        a
    }
}

/// The `(value, index)` with the smaller value; on equal values, the smaller index.
#[inline]
///
/// # Examples
///
/// ```
/// use phase_pool::{reduce, PhasePool};
///
/// let pool = PhasePool::new(2);
/// let values = [3.0, -1.0, 4.0, -1.0, 5.0];
/// let (smallest, at) = pool.map_reduce_index(
///     values.len(),
///     2,
///     (f64::INFINITY, usize::MAX),
///     |range| range.map(|i| (values[i], i)).fold((f64::INFINITY, usize::MAX), reduce::min_loc),
///     reduce::min_loc,
/// );
/// assert_eq!((smallest, at), (-1.0, 1), "ties go to the first index");
/// ```
pub fn min_loc<T: PartialOrd>(a: (T, usize), b: (T, usize)) -> (T, usize) {
    if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) {
        b
    } else {
        a
    }
}

/// The `(value, index)` with the larger value; on equal values, the smaller index.
///
/// See [the module's example](crate::reduce#examples), whose maximum appears twice, and the
/// one on [`min_loc`].
#[inline]
pub fn max_loc<T: PartialOrd>(a: (T, usize), b: (T, usize)) -> (T, usize) {
    if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loc_forms_prefer_the_smaller_index() {
        assert_eq!(max_loc((1.0, 5), (1.0, 2)), (1.0, 2));
        assert_eq!(max_loc((1.0, 2), (1.0, 5)), (1.0, 2));
        assert_eq!(min_loc((0, 9), (0, 1)), (0, 1));
        assert_eq!(min_loc((-1, 9), (0, 1)), (-1, 9));
    }

    #[test]
    fn min_max_sum() {
        assert_eq!(max(1, 2), 2);
        assert_eq!(min(1.5, -2.0), -2.0);
        assert_eq!(sum(2u8, 3), 5);
    }
}
