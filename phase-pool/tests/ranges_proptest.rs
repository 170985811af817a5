//! Random shapes against the data-parallel contract: for every schedule, thread count, chunk
//! length (up to `usize::MAX`) and range (anywhere in `0..=usize::MAX`), every index and chunk
//! is visited exactly once, and every reduction equals the serial fold in chunk order bitwise
//! (floating-point sums, so any other order shows).
//!
//! Huge ranges are not materialised: `map_reduce_index` reports the span each `map` got, and the
//! fold checks that the spans, combined in order, tile the input exactly.

mod common;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use proptest::prelude::*;

use common::{floats, pool, watchdog};
use phase_pool::{Grid2, Schedule};

/// Few cases, little shrinking: each case builds a pool, and the whole file should take
/// seconds on two cores. No regression files: a failure prints its inputs.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The most chunks a huge `map_reduce_index` range is cut into (the chunk length grows to
/// keep to it), so that `map` runs a bounded number of times.
const MAX_CHUNKS: usize = 4096;

fn threads() -> impl Strategy<Value = usize> {
    1..=5usize
}

/// Lengths near the edges of `usize`, where `i * len` and `start + len` overflow.
fn huge() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(usize::MAX),
        Just(usize::MAX - 1),
        Just(usize::MAX / 2 + 1),
        Just(usize::MAX / 2),
        Just(usize::MAX / 3),
        (1..usize::BITS).prop_map(|bit| 1usize << bit),
        any::<usize>(),
    ]
}

fn chunk_len() -> impl Strategy<Value = usize> {
    prop_oneof![1..=70usize, huge().prop_map(|len| len.max(1))]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        Just(Schedule::Static),
        Just(Schedule::Guided),
        prop_oneof![0..=9usize, huge()].prop_map(|chunk| Schedule::Dynamic { chunk }),
    ]
}

/// A range of at most `max_len` indices anywhere in `0..=usize::MAX`, often at its top end; or
/// a reversed (empty) one.
fn short_range(max_len: usize) -> impl Strategy<Value = Range<usize>> {
    (0..=max_len, any::<usize>(), 0..4u8).prop_map(move |(len, start, at)| match at {
        0 => usize::MAX - len..usize::MAX,
        1 => start.min(usize::MAX - len)..start.min(usize::MAX - len) + len,
        2 => 0..len,
        _ => start..start / 2,
    })
}

/// Any range in `0..=usize::MAX`: the full one, ones touching either end, random ones.
fn any_range() -> impl Strategy<Value = Range<usize>> {
    prop_oneof![
        Just(0..usize::MAX),
        Just(1..usize::MAX),
        Just(usize::MAX - 1..usize::MAX),
        Just(usize::MAX..usize::MAX),
        huge().prop_map(|start| start..usize::MAX),
        huge().prop_map(|end| 0..end),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| a.min(b)..a.max(b)),
        short_range(300),
    ]
}

/// A chunk's value: magnitudes from 1e-10 to 1e9, so that a sum in any other order differs.
fn value(lo: usize, hi: usize) -> f64 {
    let mantissa = ((lo ^ hi.rotate_left(17)) % 1013) as f64 + 0.5;
    mantissa * 10f64.powi((((lo / 3) ^ hi) % 20) as i32 - 10)
}

/// The chunks of `range` by `chunk_len`, in order, computed serially with checked arithmetic.
fn serial_chunks(range: Range<usize>, chunk_len: usize) -> impl Iterator<Item = Range<usize>> {
    let end = range.end;
    let mut next = (range.start < end).then_some(range.start);
    std::iter::from_fn(move || {
        let lo = next?;
        let hi = lo.checked_add(chunk_len).map_or(end, |hi| hi.min(end));
        next = (hi < end).then_some(hi);
        Some(lo..hi)
    })
}

/// What one `map` of `map_reduce_index` saw, and the fold of such pieces.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    /// The indices covered, `None` for the identity.
    span: Option<(usize, usize)>,
    sum: f64,
    /// Two pieces that were not adjacent were combined.
    gap: bool,
}

impl Piece {
    const IDENTITY: Piece = Piece {
        span: None,
        sum: 0.0,
        gap: false,
    };

    fn combine(a: Piece, b: Piece) -> Piece {
        let (span, gap) = match (a.span, b.span) {
            (None, span) | (span, None) => (span, false),
            (Some((lo, mid)), Some((mid2, hi))) => (Some((lo, hi)), mid != mid2),
        };
        Piece {
            span,
            sum: a.sum + b.sum,
            gap: a.gap || b.gap || gap,
        }
    }
}

#[test]
fn map_reduce_index_tiles_any_range_in_order() {
    watchdog(|| {
        proptest!(config(), |(threads in threads(), chunk_len in chunk_len(),
                              schedule in schedule(), range in any_range())| {
            let len = range.end.saturating_sub(range.start);
            let chunk_len = chunk_len.max(len.div_ceil(MAX_CHUNKS));
            let pool = pool(threads);
            let bad_chunk = AtomicBool::new(false);
            let calls = AtomicUsize::new(0);
            let (start, end) = (range.start, range.end);
            let folded = pool.with_schedule(schedule).map_reduce_index(
                range.clone(),
                chunk_len,
                Piece::IDENTITY,
                |r: Range<usize>| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    // Chunk `i` is `start + i * chunk_len..`, `chunk_len` long but the last.
                    let inside = start <= r.start && r.start < r.end && r.end <= end;
                    let on_grid = inside
                        && (r.start - start) % chunk_len == 0
                        && (r.end - r.start == chunk_len || r.end == end);
                    if !on_grid {
                        bad_chunk.store(true, Ordering::Relaxed);
                    }
                    Piece { span: Some((r.start, r.end)), sum: value(r.start, r.end), gap: false }
                },
                Piece::combine,
            );
            let serial: Vec<Range<usize>> = serial_chunks(range.clone(), chunk_len).collect();
            let sum = serial.iter().fold(0.0, |a, r| a + value(r.start, r.end));
            prop_assert!(!bad_chunk.load(Ordering::Relaxed), "a chunk not on the grid");
            prop_assert!(!folded.gap, "chunks folded out of order or with a gap");
            prop_assert_eq!(calls.load(Ordering::Relaxed), serial.len());
            prop_assert_eq!(folded.span, (start < end).then_some((start, end)));
            prop_assert_eq!(folded.sum.to_bits(), sum.to_bits());
        });
    });
}

#[test]
fn for_each_index_visits_every_index_once() {
    watchdog(|| {
        proptest!(config(), |(threads in threads(), schedule in schedule(),
                              range in short_range(2000))| {
            let pool = pool(threads);
            let len = range.end.saturating_sub(range.start);
            let visits: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
            let outside = AtomicBool::new(false);
            let start = range.start;
            pool.with_schedule(schedule).for_each_index(range.clone(), |i| {
                match i.checked_sub(start).and_then(|k| visits.get(k)) {
                    Some(count) => { count.fetch_add(1, Ordering::Relaxed); }
                    None => outside.store(true, Ordering::Relaxed),
                }
            });
            prop_assert!(!outside.load(Ordering::Relaxed), "an index outside {:?}", range);
            let counts: Vec<u32> = visits.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            prop_assert!(counts.iter().all(|&c| c == 1), "visits {:?}", counts);
        });
    });
}

#[test]
fn for_each_chunk_mut_hands_out_every_chunk_once() {
    watchdog(|| {
        proptest!(config(), |(threads in threads(), schedule in schedule(),
                              chunk_len in chunk_len(), len in 0..=300usize)| {
            let pool = pool(threads);
            // Per element: (times visited, chunk index that visited it last).
            let mut data = vec![(0u32, usize::MAX); len];
            let wrong_len = AtomicBool::new(false);
            let calls = AtomicUsize::new(0);
            pool.with_schedule(schedule).for_each_chunk_mut(&mut data, chunk_len, |i, chunk| {
                calls.fetch_add(1, Ordering::Relaxed);
                let expected = i
                    .checked_mul(chunk_len)
                    .and_then(|first| len.checked_sub(first))
                    .map(|rest| rest.min(chunk_len));
                if expected != Some(chunk.len()) || chunk.is_empty() {
                    wrong_len.store(true, Ordering::Relaxed);
                }
                for element in chunk {
                    element.0 += 1;
                    element.1 = i;
                }
            });
            prop_assert!(!wrong_len.load(Ordering::Relaxed), "a chunk of the wrong length");
            prop_assert_eq!(calls.load(Ordering::Relaxed), len.div_ceil(chunk_len));
            for (k, &(visits, chunk)) in data.iter().enumerate() {
                prop_assert_eq!((visits, chunk), (1, k / chunk_len), "element {}", k);
            }
        });
    });
}

#[test]
fn map_reduce_chunks_mut_equals_the_serial_fold() {
    watchdog(|| {
        proptest!(config(), |(threads in threads(), schedule in schedule(),
                              chunk_len in chunk_len(), len in 0..=300usize)| {
            let pool = pool(threads);
            let original = floats(len);
            let mut data = original.clone();
            // (first chunk, next chunk, sum): the fold checks that chunks come in order.
            let folded = pool.with_schedule(schedule).map_reduce_chunks_mut(
                &mut data,
                chunk_len,
                (0usize, 0usize, 0.0f64, true),
                |i, chunk| {
                    let sum = chunk.iter().sum::<f64>();
                    for x in chunk.iter_mut() {
                        *x += 1.0;
                    }
                    (i, i + 1, sum, true)
                },
                |a, b| (a.0, b.1, a.2 + b.2, a.3 && b.3 && a.1 == b.0),
            );
            let chunks = len.div_ceil(chunk_len);
            let serial = original
                .chunks(chunk_len)
                .map(|c| c.iter().sum::<f64>())
                .fold(0.0, |a, b| a + b);
            prop_assert!(folded.3, "chunks folded out of order");
            prop_assert_eq!(folded.1, chunks);
            prop_assert_eq!(folded.2.to_bits(), serial.to_bits());
            for (k, (&x, &x0)) in data.iter().zip(&original).enumerate() {
                prop_assert_eq!(x.to_bits(), (x0 + 1.0).to_bits(), "element {} visited once", k);
            }
        });
    });
}

/// The serial reference of [`grid_sweeps_equal_the_serial_loop`]'s stencil.
fn stencil(cur: &[f64], rows: usize, cols: usize, i: usize, j: usize) -> f64 {
    let at = |i: usize, j: usize| cur[i * cols + j];
    let up = at(i.checked_sub(1).unwrap_or(rows - 1), j);
    let down = at((i + 1) % rows, j);
    let left = at(i, j.checked_sub(1).unwrap_or(cols - 1));
    let right = at(i, (j + 1) % cols);
    0.5 * at(i, j) + 0.125 * (up + down + left + right) + 1e-3 * (i * cols + j) as f64
}

#[test]
fn grid_sweeps_equal_the_serial_loop() {
    watchdog(|| {
        proptest!(config(), |(threads in threads(), rows in 0..20usize, cols in 0..20usize,
                              steps in 1..4usize, seed in any::<u64>())| {
            let pool = pool(threads);
            let init = |i: usize, j: usize| {
                let k = (i * 31 + j) as u64 ^ seed;
                (k.wrapping_mul(2654435761) % 1000) as f64 * 10f64.powi((k % 9) as i32 - 4)
            };
            let mut grid = Grid2::new(&pool, rows, cols, init);
            let mut cur: Vec<f64> = (0..rows * cols).map(|k| init(k / cols, k % cols)).collect();
            let mut next = cur.clone();
            for step in 0..steps {
                let pooled = grid.step_reduce(&pool, 0.0, |view, i, next_row| {
                    let mut row_sum = 0.0;
                    for (j, x) in next_row.iter_mut().enumerate() {
                        *x = stencil(view.as_slice(), rows, cols, i, j);
                        row_sum += *x;
                    }
                    row_sum
                }, |a, b| a + b);
                let mut serial = 0.0;
                for i in 0..rows {
                    let mut row_sum = 0.0;
                    for j in 0..cols {
                        next[i * cols + j] = stencil(&cur, rows, cols, i, j);
                        row_sum += next[i * cols + j];
                    }
                    serial += row_sum;
                }
                std::mem::swap(&mut cur, &mut next);
                prop_assert_eq!(pooled.to_bits(), serial.to_bits(), "step {}", step);
                let same = grid
                    .current()
                    .as_slice()
                    .iter()
                    .zip(&cur)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                prop_assert!(same, "step {}: the grids differ", step);
            }
        });
    });
}
