//! PolyBench jacobi-2d: `tsteps` times
//! `B[i][j] = 0.2 * (A[i][j] + A[i][j-1] + A[i][j+1] + A[i+1][j] + A[i-1][j])` over the
//! interior, then the same from `B` into `A`. Lockstep runs it on a [`Grid2`] (one phase per
//! sweep, rows per worker).

use lockstep::pool::{Grid2, PhasePool};
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "jacobi-2d",
    sizes: [
        Size::square(20, 30),
        Size::square(40, 90),
        Size::square(100, 250),
        Size::square(500, 1300),
        Size::square(1000, 2800),
    ],
    dumped: &[("A", 0)],
    init,
    serial,
    rayon,
    lockstep,
    omp,
    updates: |s| (2 * s.tsteps * s.n.saturating_sub(2).pow(2)) as f64,
    dump_rows: |s| (s.n, s.n),
};

fn init(s: Size) -> Arrays {
    let n = s.n;
    let a = (0..n * n)
        .map(|x| ((x / n) as f64 * ((x % n) + 2) as f64 + 2.0) / n as f64)
        .collect();
    let b = (0..n * n)
        .map(|x| ((x / n) as f64 * ((x % n) + 3) as f64 + 3.0) / n as f64)
        .collect();
    vec![a, b]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    let n = s.n;
    for _ in 0..s.tsteps {
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                b[i * n + j] = 0.2
                    * (a[i * n + j]
                        + a[i * n + j - 1]
                        + a[i * n + 1 + j]
                        + a[(1 + i) * n + j]
                        + a[(i - 1) * n + j]);
            }
        }
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                a[i * n + j] = 0.2
                    * (b[i * n + j]
                        + b[i * n + j - 1]
                        + b[i * n + 1 + j]
                        + b[(1 + i) * n + j]
                        + b[(i - 1) * n + j]);
            }
        }
    }
}

/// Row `i` of the sweep from `x` (`n` columns) into `out`, skipping the boundary.
fn row(x: &[f64], n: usize, i: usize, out: &mut [f64]) {
    if i == 0 || i + 1 >= n {
        return;
    }
    let (up, here, down) = (
        &x[(i - 1) * n..i * n],
        &x[i * n..(i + 1) * n],
        &x[(i + 1) * n..(i + 2) * n],
    );
    for j in 1..n - 1 {
        out[j] = 0.2 * (here[j] + here[j - 1] + here[j + 1] + down[j] + up[j]);
    }
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
        b.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, out)| row(a, n, i, out));
        a.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, out)| row(b, n, i, out));
    }
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    let n = s.n;
    let (a, b) = (&arrays[0], &arrays[1]);
    let mut grid = Grid2::with_next(pool, n, n, |i, j| a[i * n + j], |i, j| b[i * n + j]);
    let start = std::time::Instant::now();
    for _ in 0..2 * s.tsteps {
        grid.step(pool, |cur, i, out| row(cur.as_slice(), n, i, out));
    }
    let seconds = start.elapsed().as_secs_f64();
    arrays[0] = grid.into_current();
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    omp_peers::jacobi_2d(s.n, s.tsteps, threads, a, b)
}
