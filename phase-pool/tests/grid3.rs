//! Grid3 (and Grid1) against serial double-buffered loops, over thread counts and shapes,
//! degenerate ones (a zero or a one in any dimension) included.

use phase_pool::{reduce, Grid1, Grid3, PhasePool};

const THREADS: [usize; 7] = [1, 2, 3, 4, 5, 8, 13];

fn init(i: usize, j: usize, k: usize) -> f64 {
    ((i * 7919 + j * 104_729 + k * 31) % 1000) as f64 / 100.0
}

/// The 7-point update at `(i, j, k)` of the plane-major grid `a`, with the largest change.
fn seven_point(a: &dyn Fn(usize, usize, usize) -> f64, i: usize, j: usize, k: usize) -> f64 {
    0.125 * (a(i + 1, j, k) - 2.0 * a(i, j, k) + a(i - 1, j, k))
        + 0.125 * (a(i, j + 1, k) - 2.0 * a(i, j, k) + a(i, j - 1, k))
        + 0.125 * (a(i, j, k + 1) - 2.0 * a(i, j, k) + a(i, j, k - 1))
        + a(i, j, k)
}

/// `steps` serial sweeps; the final grid and the sum of each sweep's interior.
fn serial(shape: (usize, usize, usize), steps: usize) -> (Vec<f64>, Vec<f64>) {
    let (p, r, c) = shape;
    let at = |i: usize, j: usize, k: usize| (i * r + j) * c + k;
    let mut cur: Vec<f64> = (0..p * r * c)
        .map(|x| init(x / (r * c), x / c % r, x % c))
        .collect();
    let mut next: Vec<f64> = cur.iter().map(|x| x + 1.0).collect();
    let mut sums = Vec::new();
    for _ in 0..steps {
        let mut sum = 0.0;
        for i in 1..p.saturating_sub(1) {
            let mut plane = 0.0;
            for j in 1..r.saturating_sub(1) {
                for k in 1..c.saturating_sub(1) {
                    let v = seven_point(&|i, j, k| cur[at(i, j, k)], i, j, k);
                    next[at(i, j, k)] = v;
                    plane += v;
                }
            }
            sum += plane;
        }
        sums.push(sum);
        std::mem::swap(&mut cur, &mut next);
    }
    (cur, sums)
}

#[test]
fn grid3_matches_the_serial_loop() {
    let shapes = [
        (0, 0, 0),
        (0, 4, 4),
        (4, 0, 4),
        (4, 4, 0),
        (1, 1, 1),
        (1, 5, 5),
        (5, 1, 5),
        (5, 5, 1),
        (2, 3, 3),
        (3, 3, 3),
        (4, 5, 6),
        (7, 3, 9),
        (11, 6, 5),
        (17, 4, 4),
    ];
    for threads in THREADS {
        let pool = PhasePool::new(threads);
        for &(p, r, c) in &shapes {
            let steps = 3;
            let (expected, sums) = serial((p, r, c), steps);
            let mut grid = Grid3::with_next(&pool, p, r, c, init, |i, j, k| init(i, j, k) + 1.0);
            assert_eq!((grid.planes(), grid.rows(), grid.cols()), (p, r, c));
            for (step, &expected_sum) in sums.iter().enumerate() {
                let sum = grid.step_reduce(
                    &pool,
                    0.0,
                    |cur, i, next| {
                        assert_eq!(next.len(), r * c);
                        assert_eq!((cur.planes(), cur.rows(), cur.cols()), (p, r, c));
                        let mut plane = 0.0;
                        if i == 0 || i + 1 >= p {
                            return plane;
                        }
                        for j in 1..r.saturating_sub(1) {
                            for k in 1..c.saturating_sub(1) {
                                let v = seven_point(&|i, j, k| cur[(i, j, k)], i, j, k);
                                next[j * c + k] = v;
                                plane += v;
                            }
                        }
                        plane
                    },
                    |a, b| a + b,
                );
                let case = format!("{p} x {r} x {c}, {threads} threads, step {step}");
                if p * r * c > 0 {
                    assert_eq!(sum.to_bits(), expected_sum.to_bits(), "sum, {case}");
                }
            }
            let case = format!("{p} x {r} x {c}, {threads} threads");
            assert_eq!(grid.current().as_slice(), &expected[..], "{case}");
            if p * r * c > 0 {
                assert_eq!(grid.current().plane(p - 1).len(), r * c);
                assert_eq!(
                    grid.current().row(p - 1, r - 1),
                    &expected[(p * r - 1) * c..]
                );
            }
            assert_eq!(grid.into_current(), expected, "{case}");
        }
    }
}

#[test]
fn grid3_from_slice_and_view_index_agree() {
    let pool = PhasePool::new(3);
    let (p, r, c) = (3, 4, 5);
    let data: Vec<usize> = (0..p * r * c).collect();
    let grid = Grid3::from_slice(&pool, p, r, c, &data);
    let view = grid.current();
    for i in 0..p {
        for j in 0..r {
            for k in 0..c {
                assert_eq!(view[(i, j, k)], (i * r + j) * c + k);
            }
        }
    }
    assert_eq!(view.plane(1), &data[r * c..2 * r * c]);
}

#[test]
fn grid3_step_without_writes_exposes_the_next_buffer() {
    let pool = PhasePool::new(2);
    let mut grid = Grid3::with_next(&pool, 2, 2, 2, |_, _, _| 1, |_, _, _| 2);
    grid.step(&pool, |_, _, _| {});
    assert_eq!(grid.current().as_slice(), [2; 8]);
    grid.step(&pool, |_, _, _| {});
    assert_eq!(grid.current().as_slice(), [1; 8]);
}

#[test]
fn grid1_matches_the_serial_loop() {
    for threads in THREADS {
        let pool = PhasePool::new(threads);
        for len in [0, 1, 2, 3, 4, 7, 30, 121] {
            for block in [1, 2, 5, 64] {
                let init = |i: usize| ((i * 37) % 11) as f64;
                let init_next = |i: usize| (i % 3) as f64;
                let mut a: Vec<f64> = (0..len).map(init).collect();
                let mut b: Vec<f64> = (0..len).map(init_next).collect();
                let mut grid = Grid1::with_next(&pool, len, block, init, init_next);
                assert_eq!(
                    (grid.len(), grid.block(), grid.is_empty()),
                    (len, block, len == 0)
                );
                for _ in 0..4 {
                    let mut largest = 0.0f64;
                    for i in 1..len.saturating_sub(1) {
                        b[i] = 0.33333 * (a[i - 1] + a[i] + a[i + 1]);
                        largest = largest.max(b[i]);
                    }
                    std::mem::swap(&mut a, &mut b);
                    let got = grid.step_reduce(
                        &pool,
                        0.0,
                        |cur, start, next| {
                            let mut largest = 0.0f64;
                            for (offset, x) in next.iter_mut().enumerate() {
                                let i = start + offset;
                                if i > 0 && i + 1 < len {
                                    *x = 0.33333 * (cur[i - 1] + cur[i] + cur[i + 1]);
                                    largest = largest.max(*x);
                                }
                            }
                            largest
                        },
                        reduce::max,
                    );
                    if len > 0 {
                        assert_eq!(got, largest);
                    }
                }
                assert_eq!(
                    grid.current(),
                    &a[..],
                    "len {len}, block {block}, {threads} threads"
                );
            }
        }
    }
}
