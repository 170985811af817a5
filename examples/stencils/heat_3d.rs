//! PolyBench heat-3d: `tsteps` times the 7-point update
//! `B = 0.125 * (A[i+1] - 2 A + A[i-1]) + 0.125 * (.. j ..) + 0.125 * (.. k ..) + A` over the
//! interior of an `n x n x n` grid, then the same from `B` into `A`. Lockstep runs it on a
//! [`Grid3`] (one phase per sweep, planes per worker).

use lockstep::pool::{Grid3, PhasePool};
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "heat-3d",
    sizes: [
        Size::square(20, 10),
        Size::square(40, 20),
        Size::square(100, 40),
        Size::square(500, 120),
        Size::square(1000, 200),
    ],
    dumped: &[("A", 0)],
    init,
    serial,
    rayon,
    lockstep,
    omp,
    updates: |s| (2 * s.tsteps * s.n.saturating_sub(2).pow(3)) as f64,
    dump_rows: |s| (s.n, s.n),
};

fn init(s: Size) -> Arrays {
    let n = s.n;
    let a: Vec<f64> = (0..n * n * n)
        .map(|x| {
            let (i, j, k) = (x / (n * n), x / n % n, x % n);
            (i + j + (n - k)) as f64 * 10.0 / n as f64
        })
        .collect();
    vec![a.clone(), a]
}

/// The update of element `x` of `a` (`n` per row, `p = n * n` per plane).
#[inline]
fn update(a: &[f64], x: usize, n: usize, p: usize) -> f64 {
    0.125 * (a[x + p] - 2.0 * a[x] + a[x - p])
        + 0.125 * (a[x + n] - 2.0 * a[x] + a[x - n])
        + 0.125 * (a[x + 1] - 2.0 * a[x] + a[x - 1])
        + a[x]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    let (n, p) = (s.n, s.n * s.n);
    for _ in 1..=s.tsteps {
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                for k in 1..n - 1 {
                    b[i * p + j * n + k] = update(a, i * p + j * n + k, n, p);
                }
            }
        }
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                for k in 1..n - 1 {
                    a[i * p + j * n + k] = update(b, i * p + j * n + k, n, p);
                }
            }
        }
    }
}

/// Plane `i` of the sweep from `x` into `out` (one plane), skipping the boundary. The same
/// sums as [`update`] in the same order, over rows sliced to the interior's length so that the
/// compiler drops the bounds checks and vectorises the loop.
fn plane(x: &[f64], n: usize, i: usize, out: &mut [f64]) {
    if i == 0 || i + 1 >= n {
        return;
    }
    let p = n * n;
    let m = n - 2;
    let (below, here, above) = (
        &x[(i - 1) * p..i * p],
        &x[i * p..(i + 1) * p],
        &x[(i + 1) * p..(i + 2) * p],
    );
    for j in 1..n - 1 {
        let row = |plane, j, shift| interior(plane, j * n + shift, m);
        let (centre, west, east) = (row(here, j, 1), row(here, j, 0), row(here, j, 2));
        let (north, south) = (row(here, j - 1, 1), row(here, j + 1, 1));
        let (down, up) = (row(below, j, 1), row(above, j, 1));
        let out = &mut out[j * n + 1..][..m];
        for k in 0..m {
            let c = centre[k];
            out[k] = 0.125 * (up[k] - 2.0 * c + down[k])
                + 0.125 * (south[k] - 2.0 * c + north[k])
                + 0.125 * (east[k] - 2.0 * c + west[k])
                + c;
        }
    }
}

/// The `m` values of `plane` from `start`.
fn interior(plane: &[f64], start: usize, m: usize) -> &[f64] {
    &plane[start..][..m]
}

fn rayon(s: Size, arrays: &mut Arrays) {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    let n = s.n;
    if n == 0 {
        return;
    }
    for _ in 0..s.tsteps {
        b.par_chunks_mut(n * n)
            .enumerate()
            .for_each(|(i, out)| plane(a, n, i, out));
        a.par_chunks_mut(n * n)
            .enumerate()
            .for_each(|(i, out)| plane(b, n, i, out));
    }
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    let n = s.n;
    let mut grid = Grid3::from_slice(pool, n, n, n, &arrays[0]);
    let start = std::time::Instant::now();
    for _ in 0..2 * s.tsteps {
        grid.step(pool, |cur, i, out| plane(cur.as_slice(), n, i, out));
    }
    let seconds = start.elapsed().as_secs_f64();
    arrays[0] = grid.into_current();
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    omp_peers::heat_3d(s.n, s.tsteps, threads, a, b)
}
