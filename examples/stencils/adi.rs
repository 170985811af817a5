//! PolyBench adi (alternating direction implicit): per time step a column sweep, a
//! tridiagonal solve down every column `i` of `u` into column `i` of `v`, then a row sweep, a
//! solve along every row `i` of `v` into row `i` of `u`. Two phases per step, the first reading
//! `u` across its rows (transposed access).
//!
//! The parallel versions store `v` transposed (`vt[i][j] = v[j][i]`), so that the column sweep
//! writes rows of `vt` (whole rows per worker) and the row sweep reads it across, and keep `p`
//! and `q`, PolyBench's per-row scratch arrays, as one scratch row per worker; the arithmetic is
//! PolyBench's, so `u` equals the serial loop's bitwise.

use lockstep::pool::{PhasePool, Schedule};
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "adi",
    sizes: [
        Size::square(20, 20),
        Size::square(40, 60),
        Size::square(100, 200),
        Size::square(500, 1000),
        Size::square(1000, 2000),
    ],
    dumped: &[("u", 0)],
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
    let u = (0..n * n)
        .map(|x| (x / n + n - x % n) as f64 / n as f64)
        .collect();
    vec![u, vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n]]
}

/// PolyBench's coefficients `(a, b, c, d, e, f)`.
fn coefficients(s: Size) -> [f64; 6] {
    let dx = 1.0 / s.n as f64;
    let dy = 1.0 / s.n as f64;
    let dt = 1.0 / s.tsteps as f64;
    let (b1, b2) = (2.0, 1.0);
    let mul1 = b1 * dt / (dx * dx);
    let mul2 = b2 * dt / (dy * dy);
    let a = -mul1 / 2.0;
    let b = 1.0 + mul1;
    let c = a;
    let d = -mul2 / 2.0;
    let e = 1.0 + mul2;
    let f = d;
    [a, b, c, d, e, f]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let [u, v, p, q] = &mut arrays[..] else {
        unreachable!()
    };
    let n = s.n;
    if n < 3 {
        return;
    }
    let [a, b, c, d, e, f] = coefficients(s);
    for _ in 1..=s.tsteps {
        // Column sweep.
        for i in 1..n - 1 {
            v[i] = 1.0;
            p[i * n] = 0.0;
            q[i * n] = v[i];
            for j in 1..n - 1 {
                p[i * n + j] = -c / (a * p[i * n + j - 1] + b);
                q[i * n + j] = (-d * u[j * n + i - 1] + (1.0 + 2.0 * d) * u[j * n + i]
                    - f * u[j * n + i + 1]
                    - a * q[i * n + j - 1])
                    / (a * p[i * n + j - 1] + b);
            }
            v[(n - 1) * n + i] = 1.0;
            for j in (1..n - 1).rev() {
                v[j * n + i] = p[i * n + j] * v[(j + 1) * n + i] + q[i * n + j];
            }
        }
        // Row sweep.
        for i in 1..n - 1 {
            u[i * n] = 1.0;
            p[i * n] = 0.0;
            q[i * n] = u[i * n];
            for j in 1..n - 1 {
                p[i * n + j] = -f / (d * p[i * n + j - 1] + e);
                q[i * n + j] = (-a * v[(i - 1) * n + j] + (1.0 + 2.0 * a) * v[i * n + j]
                    - c * v[(i + 1) * n + j]
                    - d * q[i * n + j - 1])
                    / (d * p[i * n + j - 1] + e);
            }
            u[i * n + n - 1] = 1.0;
            for j in (1..n - 1).rev() {
                u[i * n + j] = p[i * n + j] * u[i * n + j + 1] + q[i * n + j];
            }
        }
    }
}

/// The column sweep of column `i` of `u` into `out`, row `i` of `vt`.
fn column(
    k: &[f64; 6],
    n: usize,
    u: &[f64],
    i: usize,
    out: &mut [f64],
    p: &mut [f64],
    q: &mut [f64],
) {
    let [a, b, c, d, _, f] = *k;
    out[0] = 1.0;
    p[0] = 0.0;
    q[0] = out[0];
    for j in 1..n - 1 {
        p[j] = -c / (a * p[j - 1] + b);
        q[j] = (-d * u[j * n + i - 1] + (1.0 + 2.0 * d) * u[j * n + i]
            - f * u[j * n + i + 1]
            - a * q[j - 1])
            / (a * p[j - 1] + b);
    }
    out[n - 1] = 1.0;
    for j in (1..n - 1).rev() {
        out[j] = p[j] * out[j + 1] + q[j];
    }
}

/// The row sweep of row `i` of `v` (column `i` of `vt`) into `out`, row `i` of `u`.
fn row(
    k: &[f64; 6],
    n: usize,
    vt: &[f64],
    i: usize,
    out: &mut [f64],
    p: &mut [f64],
    q: &mut [f64],
) {
    let [a, _, c, d, e, f] = *k;
    out[0] = 1.0;
    p[0] = 0.0;
    q[0] = out[0];
    for j in 1..n - 1 {
        p[j] = -f / (d * p[j - 1] + e);
        q[j] = (-a * vt[j * n + i - 1] + (1.0 + 2.0 * a) * vt[j * n + i]
            - c * vt[j * n + i + 1]
            - d * q[j - 1])
            / (d * p[j - 1] + e);
    }
    out[n - 1] = 1.0;
    for j in (1..n - 1).rev() {
        out[j] = p[j] * out[j + 1] + q[j];
    }
}

/// A sweep over the interior rows `first..first + rows` of `out` (rows of `n`), with one pair
/// of scratch rows for the block.
type Sweep = fn(&[f64; 6], usize, &[f64], usize, &mut [f64], &mut [f64], &mut [f64]);

fn block(k: &[f64; 6], n: usize, sweep: Sweep, from: &[f64], first: usize, out: &mut [f64]) {
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    for (r, out_row) in out.chunks_mut(n).enumerate() {
        let i = first + r;
        if i > 0 && i + 1 < n {
            sweep(k, n, from, i, out_row, &mut p, &mut q);
        }
    }
}

fn rayon(s: Size, arrays: &mut Arrays) {
    let n = s.n;
    if n < 3 {
        return;
    }
    let k = coefficients(s);
    let mut vt = vec![0.0; n * n];
    let u = &mut arrays[0];
    let rows = n.div_ceil(rayon::current_num_threads());
    for _ in 1..=s.tsteps {
        vt.par_chunks_mut(rows * n)
            .enumerate()
            .for_each(|(c, out)| block(&k, n, column, u, c * rows, out));
        u.par_chunks_mut(rows * n)
            .enumerate()
            .for_each(|(c, out)| block(&k, n, row, &vt, c * rows, out));
    }
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    let n = s.n;
    if n < 3 {
        return 0.0;
    }
    let k = coefficients(s);
    let rows = n.div_ceil(pool.num_threads());
    // Labels tell the phases apart in a profile (and cost nothing without one).
    let labels = pool;
    let pool = pool.with_schedule(Schedule::Static);
    labels.set_label(Some("first touch"));
    let mut vt = vec![0.0; n * n];
    pool.for_each_chunk_mut(&mut vt, rows * n, |_, block| block.fill(0.0));
    let u = &mut arrays[0];
    let start = std::time::Instant::now();
    for _ in 1..=s.tsteps {
        let from = &u[..];
        labels.set_label(Some("column sweep"));
        pool.for_each_chunk_mut(&mut vt, rows * n, |c, out| {
            block(&k, n, column, from, c * rows, out)
        });
        let from = &vt[..];
        labels.set_label(Some("row sweep"));
        pool.for_each_chunk_mut(u, rows * n, |c, out| block(&k, n, row, from, c * rows, out));
    }
    let seconds = start.elapsed().as_secs_f64();
    labels.set_label(None);
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    let n = s.n;
    if n < 3 {
        return 0.0;
    }
    let mut vt = vec![0.0; n * n];
    omp_peers::adi(n, s.tsteps, threads, &mut arrays[0], &mut vt)
}
