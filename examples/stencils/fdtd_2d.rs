//! PolyBench fdtd-2d: per time step `t`, `ey[0][j] = fict[t]`,
//! `ey[i][j] -= 0.5 * (hz[i][j] - hz[i-1][j])` (`i >= 1`),
//! `ex[i][j] -= 0.5 * (hz[i][j] - hz[i][j-1])` (`j >= 1`), then
//! `hz[i][j] -= 0.7 * (ex[i][j+1] - ex[i][j] + ey[i+1][j] - ey[i][j])` (`i < nx-1, j < ny-1`).
//!
//! The electric fields read only `hz` and `hz` only the new electric fields, so a step is two
//! phases, in place. Lockstep stores the electric fields row-interleaved (`[ex row i | ey row
//! i]`), so one `for_each_chunk_mut` hands each worker both fields of its rows; rayon zips the
//! two fields' rows.

use lockstep::pool::{PhasePool, Schedule};
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "fdtd-2d",
    sizes: [
        Size {
            tsteps: 20,
            n: 20,
            m: 30,
        },
        Size {
            tsteps: 40,
            n: 60,
            m: 80,
        },
        Size {
            tsteps: 100,
            n: 200,
            m: 240,
        },
        Size {
            tsteps: 500,
            n: 1000,
            m: 1200,
        },
        Size {
            tsteps: 1000,
            n: 2000,
            m: 2600,
        },
    ],
    dumped: &[("ex", 0), ("ey", 1), ("hz", 2)],
    init,
    serial,
    rayon,
    lockstep,
    omp,
    updates: |s| {
        let (nx, ny) = (s.n, s.m);
        let e = ny + nx.saturating_sub(1) * ny + nx * ny.saturating_sub(1);
        (s.tsteps * (e + nx.saturating_sub(1) * ny.saturating_sub(1))) as f64
    },
    // PolyBench breaks its fdtd-2d lines at `(i * nx + j) % 20 == 0`.
    dump_rows: |s| (s.m, s.n),
};

fn init(s: Size) -> Arrays {
    let (nx, ny) = (s.n, s.m);
    let field = |add: usize, div: usize| -> Vec<f64> {
        (0..nx * ny)
            .map(|x| ((x / ny) as f64 * ((x % ny) + add) as f64) / div as f64)
            .collect()
    };
    let fict = (0..s.tsteps).map(|t| t as f64).collect();
    vec![field(1, nx), field(2, ny), field(3, nx), fict]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let [ex, ey, hz, fict] = &mut arrays[..] else {
        unreachable!()
    };
    let (nx, ny) = (s.n, s.m);
    for t in 0..s.tsteps {
        if nx > 0 {
            for j in 0..ny {
                ey[j] = fict[t];
            }
        }
        for i in 1..nx {
            for j in 0..ny {
                ey[i * ny + j] = ey[i * ny + j] - 0.5 * (hz[i * ny + j] - hz[(i - 1) * ny + j]);
            }
        }
        for i in 0..nx {
            for j in 1..ny {
                ex[i * ny + j] = ex[i * ny + j] - 0.5 * (hz[i * ny + j] - hz[i * ny + j - 1]);
            }
        }
        for i in 0..nx.saturating_sub(1) {
            for j in 0..ny.saturating_sub(1) {
                hz[i * ny + j] = hz[i * ny + j]
                    - 0.7
                        * (ex[i * ny + j + 1] - ex[i * ny + j] + ey[(i + 1) * ny + j]
                            - ey[i * ny + j]);
            }
        }
    }
}

/// Row `i` of the electric fields at step value `drive` (`fict[t]`).
fn e_row(i: usize, ny: usize, drive: f64, hz: &[f64], ex: &mut [f64], ey: &mut [f64]) {
    let h = &hz[i * ny..(i + 1) * ny];
    if i == 0 {
        ey.fill(drive);
    } else {
        let above = &hz[(i - 1) * ny..i * ny];
        for j in 0..ny {
            ey[j] = ey[j] - 0.5 * (h[j] - above[j]);
        }
    }
    for j in 1..ny {
        ex[j] = ex[j] - 0.5 * (h[j] - h[j - 1]);
    }
}

/// Row `i < nx - 1` of `hz` from row `i` of `ex` and rows `i`, `i + 1` of `ey`.
fn h_row(ny: usize, ex: &[f64], ey: &[f64], ey_below: &[f64], hz: &mut [f64]) {
    for j in 0..ny - 1 {
        hz[j] = hz[j] - 0.7 * (ex[j + 1] - ex[j] + ey_below[j] - ey[j]);
    }
}

fn rayon(s: Size, arrays: &mut Arrays) {
    let [ex, ey, hz, fict] = &mut arrays[..] else {
        unreachable!()
    };
    let (nx, ny) = (s.n, s.m);
    if nx == 0 || ny == 0 {
        return;
    }
    for &drive in &fict[..s.tsteps] {
        ex.par_chunks_mut(ny)
            .zip(ey.par_chunks_mut(ny))
            .enumerate()
            .for_each(|(i, (ex, ey))| e_row(i, ny, drive, hz, ex, ey));
        hz[..(nx - 1) * ny]
            .par_chunks_mut(ny)
            .enumerate()
            .for_each(|(i, h)| {
                let (ex, ey) = (&ex[i * ny..(i + 1) * ny], &ey[i * ny..(i + 2) * ny]);
                h_row(ny, ex, &ey[..ny], &ey[ny..], h);
            });
    }
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    let (nx, ny) = (s.n, s.m);
    if nx == 0 || ny == 0 {
        return 0.0;
    }
    // Labels tell the phases apart in a profile (and cost nothing without one).
    let labels = pool;
    let pool = pool.with_schedule(Schedule::Static);
    labels.set_label(Some("copy in"));
    // [ex row i | ey row i] for every i.
    let mut e = vec![0.0; 2 * nx * ny];
    pool.for_each_chunk_mut(&mut e, 2 * ny, |i, row| {
        row[..ny].copy_from_slice(&arrays[0][i * ny..(i + 1) * ny]);
        row[ny..].copy_from_slice(&arrays[1][i * ny..(i + 1) * ny]);
    });
    let mut hz = arrays[2].clone();
    let fict = &arrays[3];
    let start = std::time::Instant::now();
    for &drive in &fict[..s.tsteps] {
        let h = &hz[..];
        labels.set_label(Some("E update"));
        pool.for_each_chunk_mut(&mut e, 2 * ny, |i, row| {
            let (ex, ey) = row.split_at_mut(ny);
            e_row(i, ny, drive, h, ex, ey);
        });
        let e = &e[..];
        labels.set_label(Some("H update"));
        pool.for_each_chunk_mut(&mut hz[..(nx - 1) * ny], ny, |i, h| {
            let (row, below) = (&e[2 * i * ny..2 * (i + 1) * ny], &e[2 * (i + 1) * ny..]);
            h_row(ny, &row[..ny], &row[ny..], &below[ny..2 * ny], h);
        });
    }
    let seconds = start.elapsed().as_secs_f64();
    labels.set_label(None);
    for i in 0..nx {
        arrays[0][i * ny..(i + 1) * ny].copy_from_slice(&e[2 * i * ny..(2 * i + 1) * ny]);
        arrays[1][i * ny..(i + 1) * ny].copy_from_slice(&e[(2 * i + 1) * ny..(2 * i + 2) * ny]);
    }
    arrays[2] = hz;
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    let [ex, ey, hz, fict] = &mut arrays[..] else {
        unreachable!()
    };
    omp_peers::fdtd_2d(
        s.tsteps,
        s.n,
        s.m,
        threads,
        omp_peers::Fields { ex, ey, hz },
        fict,
    )
}
