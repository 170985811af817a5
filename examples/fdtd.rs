//! PolyBench/C 4.2 `fdtd-2d` (2D finite-difference time-domain electromagnetics) in lockstep:
//! two phases per time step, separated by the pool's phase barrier.
//!
//! ```text
//! cargo run --release --example fdtd                  # PolyBench LARGE: 1000 x 1200, 500 steps
//! cargo run --release --example fdtd -- --nx 2000 --ny 2600 --tmax 100 --threads 4
//! cargo run --release --example fdtd -- --quick       # PolyBench MEDIUM: 200 x 240, 100 steps
//! ```
//!
//! The PolyBench kernel, time step `t`:
//!
//! ```text
//! ey[0][j]  = _fict_[t]                                                   (all j)
//! ey[i][j]  = ey[i][j] - 0.5 * (hz[i][j] - hz[i-1][j])                    (i >= 1)
//! ex[i][j]  = ex[i][j] - 0.5 * (hz[i][j] - hz[i][j-1])                    (j >= 1)
//! hz[i][j]  = hz[i][j] - 0.7 * (ex[i][j+1] - ex[i][j] + ey[i+1][j] - ey[i][j])
//!                                                               (i < nx-1, j < ny-1)
//! ```
//!
//! The electric fields read only `hz`, and `hz` reads only the new electric fields, so a step is
//! two phases: phase 1 updates `ey` and `ex` row by row (every worker reads `hz` rows `i` and
//! `i - 1`), the barrier at its end publishes them, and phase 2 updates `hz` row by row (reading
//! `ex` row `i` and `ey` rows `i` and `i + 1`, one of them another worker's). The electric
//! fields are stored row-interleaved, `[ex row i | ey row i]`, so one
//! [`for_each_chunk_mut`](lockstep::pool::PhasePool::for_each_chunk_mut) over chunks of
//! `2 * ny` hands each worker both fields of its rows, with no `unsafe`.
//!
//! The program then runs PolyBench's serial loop nest literally (three separate `nx x ny`
//! arrays) and checks that the pooled fields are bitwise equal to it. It exits with status 1 if
//! they differ and 2 on bad arguments.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::PhasePool;

/// PolyBench fdtd-2d on the pool, two phases per time step separated by the phase barrier,
/// checked bitwise against PolyBench's serial loop.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Rows [default: 1000, PolyBench LARGE; 200 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    nx: Option<usize>,

    /// Columns [default: 1200; 240 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    ny: Option<usize>,

    /// Time steps [default: 500; 100 with --quick]
    #[arg(long, value_name = "T", value_parser = common::at_least(1))]
    tmax: Option<usize>,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// CI mode: PolyBench MEDIUM, 200 x 240, 100 steps
    #[arg(long)]
    quick: bool,
}

/// PolyBench's `init_array`: `_fict_[t] = t`, `ex = i*(j+1)/nx`, `ey = i*(j+2)/ny`,
/// `hz = i*(j+3)/nx`, as `nx x ny` row-major arrays.
struct Fields {
    ex: Vec<f64>,
    ey: Vec<f64>,
    hz: Vec<f64>,
}

fn init_array(nx: usize, ny: usize) -> Fields {
    let (fx, fy) = (nx as f64, ny as f64);
    let mut fields = Fields {
        ex: Vec::with_capacity(nx * ny),
        ey: Vec::with_capacity(nx * ny),
        hz: Vec::with_capacity(nx * ny),
    };
    for i in 0..nx {
        for j in 0..ny {
            let i = i as f64;
            fields.ex.push(i * (j + 1) as f64 / fx);
            fields.ey.push(i * (j + 2) as f64 / fy);
            fields.hz.push(i * (j + 3) as f64 / fx);
        }
    }
    fields
}

fn fict(tmax: usize) -> Vec<f64> {
    (0..tmax).map(|t| t as f64).collect()
}

/// PolyBench's `kernel_fdtd_2d`, loop for loop.
#[allow(
    clippy::assign_op_pattern,
    clippy::needless_range_loop,
    reason = "PolyBench's loop nest and statements, as in the C source"
)]
fn kernel_serial(tmax: usize, nx: usize, ny: usize, f: &mut Fields, fict: &[f64]) {
    let Fields { ex, ey, hz } = f;
    for t in 0..tmax {
        for j in 0..ny {
            ey[j] = fict[t];
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
        for i in 0..nx - 1 {
            for j in 0..ny - 1 {
                hz[i * ny + j] = hz[i * ny + j]
                    - 0.7
                        * (ex[i * ny + j + 1] - ex[i * ny + j] + ey[(i + 1) * ny + j]
                            - ey[i * ny + j]);
            }
        }
    }
}

/// The pooled fields: `e` holds row `i` of `ex` then row `i` of `ey` (`2 * ny` values per row).
struct Pooled {
    e: Vec<f64>,
    hz: Vec<f64>,
}

impl Pooled {
    fn from_fields(f: &Fields, ny: usize) -> Pooled {
        let e =
            f.ex.chunks(ny)
                .zip(f.ey.chunks(ny))
                .flat_map(|(ex, ey)| ex.iter().chain(ey))
                .copied()
                .collect();
        Pooled {
            e,
            hz: f.hz.clone(),
        }
    }
}

/// `ex` row `i` and `ey` row `i` of the interleaved electric fields.
fn e_rows(e: &[f64], i: usize, ny: usize) -> (&[f64], &[f64]) {
    e[2 * ny * i..2 * ny * (i + 1)].split_at(ny)
}

/// The time loop on the pool: two phases per step.
#[allow(
    clippy::assign_op_pattern,
    reason = "PolyBench's statements, as in the C source and the serial loop"
)]
fn kernel_pooled(pool: &PhasePool, nx: usize, ny: usize, p: &mut Pooled, fict: &[f64]) {
    let Pooled { e, hz } = p;
    for &source in fict {
        // Phase 1: the electric fields, from hz.
        let hz_shared: &[f64] = hz;
        pool.for_each_chunk_mut(e, 2 * ny, |i, row| {
            let (ex, ey) = row.split_at_mut(ny);
            let hz_i = &hz_shared[i * ny..(i + 1) * ny];
            if i == 0 {
                ey.fill(source);
            } else {
                let hz_up = &hz_shared[(i - 1) * ny..i * ny];
                for j in 0..ny {
                    ey[j] = ey[j] - 0.5 * (hz_i[j] - hz_up[j]);
                }
            }
            for j in 1..ny {
                ex[j] = ex[j] - 0.5 * (hz_i[j] - hz_i[j - 1]);
            }
        });
        // The barrier that ends phase 1 publishes every worker's ex and ey rows to phase 2.
        // Phase 2: hz, from the new ex and ey (ey row i + 1 may be another worker's).
        let e_shared: &[f64] = e;
        pool.for_each_chunk_mut(hz, ny, |i, hz_i| {
            if i + 1 < nx {
                let (ex_i, ey_i) = e_rows(e_shared, i, ny);
                let (_, ey_down) = e_rows(e_shared, i + 1, ny);
                for j in 0..ny - 1 {
                    hz_i[j] = hz_i[j] - 0.7 * (ex_i[j + 1] - ex_i[j] + ey_down[j] - ey_i[j]);
                }
            }
        });
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pool = match common::pool_or_exit("fdtd", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let nx = common::or_default(args.nx, args.quick, 1000, 200);
    let ny = common::or_default(args.ny, args.quick, 1200, 240);
    let tmax = common::or_default(args.tmax, args.quick, 500, 100);
    println!(
        "fdtd-2d: {nx} x {ny} grid, {tmax} time steps, {} threads, 2 phases per step",
        pool.num_threads()
    );
    let fict = fict(tmax);
    let mut reference = init_array(nx, ny);
    let mut pooled = Pooled::from_fields(&reference, ny);

    let start = Instant::now();
    kernel_pooled(&pool, nx, ny, &mut pooled, &fict);
    let pooled_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    kernel_serial(tmax, nx, ny, &mut reference, &fict);
    let serial_s = start.elapsed().as_secs_f64();

    // ey: nx*ny, ex: nx*(ny-1), hz: (nx-1)*(ny-1) updates per step.
    let updates = (tmax * (nx * ny + nx * (ny - 1) + (nx - 1) * (ny - 1))) as f64;
    println!(
        "pool:   {pooled_s:.3} s ({:.1} M cell updates/s)\nserial: {serial_s:.3} s ({:.1} M cell \
         updates/s), speedup {:.2}x",
        updates / pooled_s / 1e6,
        updates / serial_s / 1e6,
        serial_s / pooled_s
    );
    let checksum: f64 = reference.hz.iter().sum();
    println!("sum of hz: {checksum:.10e}");

    let mut mismatch = None;
    'rows: for i in 0..nx {
        let (ex, ey) = e_rows(&pooled.e, i, ny);
        let row = i * ny..(i + 1) * ny;
        let pairs = [
            ("ex", ex, &reference.ex[row.clone()]),
            ("ey", ey, &reference.ey[row.clone()]),
            ("hz", &pooled.hz[row.clone()], &reference.hz[row]),
        ];
        for (name, got, want) in pairs {
            if let Some(j) = (0..ny).find(|&j| got[j].to_bits() != want[j].to_bits()) {
                mismatch = Some(format!("{name}[{i}][{j}]: {:e} vs {:e}", got[j], want[j]));
                break 'rows;
            }
        }
    }
    match mismatch {
        None => {
            println!("check: ex, ey, hz equal PolyBench's serial loop, bitwise: ok");
            ExitCode::SUCCESS
        }
        Some(what) => {
            println!("check: pool differs from the serial loop at {what}: FAILED");
            ExitCode::FAILURE
        }
    }
}
