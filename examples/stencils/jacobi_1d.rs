//! PolyBench jacobi-1d: `tsteps` times `B[i] = 0.33333 * (A[i-1] + A[i] + A[i+1])` over the
//! interior, then the same from `B` into `A`. Lockstep runs it on a [`Grid1`] (one phase per
//! sweep, one block per worker).

use lockstep::pool::{Grid1, PhasePool};
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "jacobi-1d",
    sizes: [
        Size::square(20, 30),
        Size::square(40, 120),
        Size::square(100, 400),
        Size::square(500, 2000),
        Size::square(1000, 4000),
    ],
    dumped: &[("A", 0)],
    init,
    serial,
    rayon,
    lockstep,
    omp,
    updates: |s| (2 * s.tsteps * s.n.saturating_sub(2)) as f64,
    dump_rows: |s| (s.n, s.n),
};

fn init(s: Size) -> Arrays {
    let n = s.n as f64;
    let a = (0..s.n).map(|i| (i as f64 + 2.0) / n).collect();
    let b = (0..s.n).map(|i| (i as f64 + 3.0) / n).collect();
    vec![a, b]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    let n = s.n;
    for _ in 0..s.tsteps {
        for i in 1..n.saturating_sub(1) {
            b[i] = 0.33333 * (a[i - 1] + a[i] + a[i + 1]);
        }
        for i in 1..n.saturating_sub(1) {
            a[i] = 0.33333 * (b[i - 1] + b[i] + b[i + 1]);
        }
    }
}

/// One sweep of `out = x[first..first + out.len()]` from `x`, skipping the boundary.
fn sweep(x: &[f64], first: usize, out: &mut [f64]) {
    let n = x.len();
    for (offset, y) in out.iter_mut().enumerate() {
        let i = first + offset;
        if i > 0 && i + 1 < n {
            *y = 0.33333 * (x[i - 1] + x[i] + x[i + 1]);
        }
    }
}

fn rayon(s: Size, arrays: &mut Arrays) {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    let block = s.n.div_ceil(rayon::current_num_threads()).max(1);
    for _ in 0..s.tsteps {
        b.par_chunks_mut(block)
            .enumerate()
            .for_each(|(c, out)| sweep(a, c * block, out));
        a.par_chunks_mut(block)
            .enumerate()
            .for_each(|(c, out)| sweep(b, c * block, out));
    }
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    let block = s.n.div_ceil(pool.num_threads()).max(1);
    let (a, b) = (&arrays[0], &arrays[1]);
    let mut grid = Grid1::with_next(pool, s.n, block, |i| a[i], |i| b[i]);
    let start = std::time::Instant::now();
    for _ in 0..2 * s.tsteps {
        grid.step(pool, sweep);
    }
    let seconds = start.elapsed().as_secs_f64();
    // After an even number of sweeps the current buffer is `A`.
    arrays[0] = grid.into_current();
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    let [a, b] = &mut arrays[..] else {
        unreachable!()
    };
    omp_peers::jacobi_1d(s.n, s.tsteps, threads, a, b)
}
