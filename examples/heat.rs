//! 2D heat diffusion on every core: a square plate whose top edge is held hot and whose other
//! edges are held cold, stepped in lockstep by a [`PhasePool`] until the temperature stops
//! changing, then drawn as a PNG heat map.
//!
//! ```text
//! cargo run --release --example heat                               # 352 x 352, heat.png
//! cargo run --release --example heat -- --size 1024 --steps 20000 --threads 2
//! cargo run --release --example heat -- --tolerance 1e-5 --output plate.png
//! cargo run --release --example heat -- --quick                    # CI: small, checks only
//! cargo run --release --example heat -- --quick --profile heat-profile.png
//! ```
//!
//! What it shows:
//!
//! - **One phase per time step.** The plate is a double-buffered [`Grid2`]; each step is one
//!   [`Grid2::step_reduce`]: every worker sweeps its own rows of the next buffer while reading
//!   the current one, and the same phase reduces the step's residual (the largest change of any
//!   point), so the loop stops on the tolerance without a second phase or a fork/join.
//! - **The library kernel.** With the explicit (forward Euler) scheme for `u_t = a (u_xx + u_yy)`
//!   and the time step `a dt / h^2 = 1/5` (stable: the limit is 1/4), the update
//!   `u + (w + e + n + s - 4u) / 5` is `(u + w + e + n + s) / 5`: the workspace's reference
//!   Jacobi kernel, [`kernels::jacobi_row`]. Boundary cells are never written, so the fixed
//!   edge temperatures stay put for free.
//! - **Determinism.** The residual is folded in row order, so results do not depend on the
//!   number of threads: the self-check steps a 64 x 64 plate on the pool and serially (with
//!   [`kernels::jacobi_step_serial`]) and requires the two to be bitwise equal, in the same
//!   number of steps.
//! - **Physics sanity.** The discrete heat equation obeys a maximum principle (every new value
//!   is a convex combination of old ones), so the field must stay within the boundary
//!   temperatures; and the plate is mirror-symmetric, so the field must be too (up to the
//!   rounding of a different summation order).
//!
//! Prints the steps taken, the final residual, the time and MLUP/s (million lattice-point
//! updates per second, `(n - 2)^2 * steps / seconds / 1e6`). Exits with 0 when every check
//! passes, 1 when one fails (or the PNG cannot be written), 2 on a bad flag.
//!
//! `--profile FILE.png` records a profile of the time steps (see `phase_pool::profile`), prints
//! its tables after the run and draws the timeline of the first steps, one row per worker.
//!
//! `--quick` runs a small plate for a few thousand steps without a progress bar and encodes the
//! heat map in memory (decoding it again to check it) unless `--output` is given.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use lockstep::pool::{kernels, Grid2, PhasePool};

#[path = "common/mod.rs"]
mod common;
#[path = "common/plate.rs"]
mod plate;

use plate::{
    check_heat_map_in_memory, check_physics, initial, parse_tolerance, write_heat_map, Run,
    CHECK_SIZE, COLD, DEFAULT_SIZE, DEFAULT_STEPS, HOT, QUICK_SIZE, QUICK_STEPS,
};

/// Steps between progress-bar updates (an update costs far more than a step of a small plate).
const PROGRESS_EVERY: usize = 256;

/// 2D heat diffusion on a phase-pool: hot top edge, cold other edges, stepped to steady state.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Grid points per side, boundary included [default: 352; 96 with --quick]
    #[arg(long, value_parser = common::at_least(3))]
    size: Option<usize>,

    /// Most time steps; stops earlier once the residual is below --tolerance
    /// [default: 500000; 3000 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    steps: Option<usize>,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Stop once no point changes by more than this in one step
    #[arg(
        long,
        default_value = "1e-7",
        value_parser = parse_tolerance,
        allow_negative_numbers = true
    )]
    tolerance: f64,

    /// Where to write the PNG heat map [default: heat.png; none with --quick]
    #[arg(long)]
    output: Option<PathBuf>,

    /// CI mode: a small plate, few steps, no progress bar, the PNG only checked in memory
    #[arg(long)]
    quick: bool,

    /// Profile the time steps: print where each step's time went (per worker: computing,
    /// waiting, waking up) and draw the timeline of the first steps into this PNG
    #[arg(long, value_name = "FILE.png")]
    profile: Option<PathBuf>,
}

/// Steps `plate` on `pool` until the residual falls below `tolerance` or after `max_steps`
/// steps, one phase per step; `progress(step, residual)` is called every [`PROGRESS_EVERY`]
/// steps.
fn simulate(
    pool: &PhasePool,
    plate: &mut Grid2<f64>,
    max_steps: usize,
    tolerance: f64,
    mut progress: impl FnMut(usize, f64),
) -> Run {
    let mut residual = 0.0;
    for step in 1..=max_steps {
        // One phase: every worker sweeps its rows of the next buffer and returns the largest
        // change in each row; the pool folds the rows' results in row order and swaps buffers.
        residual = plate.step_reduce(
            pool,
            0.0,
            |cur, i, next_row| kernels::jacobi_row(cur.as_slice(), cur.cols(), i, next_row),
            kernels::max_residual,
        );
        if residual < tolerance {
            return Run {
                steps: step,
                residual,
                converged: true,
            };
        }
        if step % PROGRESS_EVERY == 0 {
            progress(step, residual);
        }
    }
    Run {
        steps: max_steps,
        residual,
        converged: false,
    }
}

/// The same simulation on one thread, with plain vectors: the reference for the self-check.
fn simulate_serial(n: usize, max_steps: usize, tolerance: f64) -> (Vec<f64>, Run) {
    let mut cur: Vec<f64> = (0..n * n).map(|k| initial(k / n, k % n)).collect();
    let mut next = cur.clone(); // the sweep writes only the interior: next needs the boundary
    let mut residual = 0.0;
    for step in 1..=max_steps {
        residual = kernels::jacobi_step_serial(&cur, &mut next, n);
        std::mem::swap(&mut cur, &mut next);
        if residual < tolerance {
            let run = Run {
                steps: step,
                residual,
                converged: true,
            };
            return (cur, run);
        }
    }
    let run = Run {
        steps: max_steps,
        residual,
        converged: false,
    };
    (cur, run)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let n = common::or_default(args.size, args.quick, DEFAULT_SIZE, QUICK_SIZE);
    let max_steps = common::or_default(args.steps, args.quick, DEFAULT_STEPS, QUICK_STEPS);
    let output = match (&args.output, args.quick) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(PathBuf::from("heat.png")),
        (None, true) => None,
    };

    let pool = match common::build_pool_profiled(args.threads, args.profile.is_some()) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("heat: cannot start the worker pool: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "heat: {n} x {n} plate, top edge at {HOT}, other edges at {COLD}; {} threads; \
         at most {max_steps} steps, tolerance {:e}",
        pool.num_threads(),
        args.tolerance
    );

    // The plate's rows are first written by the workers that will sweep them.
    let mut plate = Grid2::new(&pool, n, n, initial);
    let bar = if args.quick {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(max_steps as u64).with_style(
            ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} steps, {msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        )
    };

    let start = Instant::now();
    let run = simulate(
        &pool,
        &mut plate,
        max_steps,
        args.tolerance,
        |step, residual| {
            bar.set_position(step as u64);
            bar.set_message(format!("residual {residual:.3e}"));
        },
    );
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let updates = ((n - 2) * (n - 2)) as f64 * run.steps as f64;
    println!(
        "{} after {} steps: residual {:.3e} (tolerance {:e})",
        if run.converged {
            "converged"
        } else {
            "stopped at the step limit"
        },
        run.steps,
        run.residual,
        args.tolerance
    );
    println!(
        "time {seconds:.2} s, {:.0} MLUP/s on {} threads",
        updates / seconds / 1e6,
        pool.num_threads()
    );

    // Before the self-check's phases, which are not the run's.
    let picture = args.profile.as_deref();
    let mut ok = common::report_profile("heat", &pool, picture, &mut std::io::stdout());
    ok &= check_physics(plate.current().as_slice(), n);
    ok &= check_against_serial(&pool, max_steps, args.tolerance);
    ok &= match &output {
        Some(path) => write_heat_map("heat", path, plate.current().as_slice(), n),
        None => check_heat_map_in_memory(plate.current().as_slice(), n),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("heat: a check failed");
        ExitCode::FAILURE
    }
}

/// The maximum principle and the mirror symmetry of the final field.
/// Steps a small plate on the pool and serially; both must agree bitwise, step count included.
fn check_against_serial(pool: &PhasePool, max_steps: usize, tolerance: f64) -> bool {
    let n = CHECK_SIZE;
    let mut plate = Grid2::new(pool, n, n, initial);
    let pooled = simulate(pool, &mut plate, max_steps, tolerance, |_, _| {});
    let (serial_field, serial) = simulate_serial(n, max_steps, tolerance);
    let same_run = pooled.steps == serial.steps
        && pooled.converged == serial.converged
        && pooled.residual.to_bits() == serial.residual.to_bits();
    let same_field = plate
        .current()
        .as_slice()
        .iter()
        .zip(&serial_field)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    if same_run && same_field {
        println!(
            "check: pool result equals the serial reference ({n} x {n}, {} steps, bitwise)",
            pooled.steps
        );
        true
    } else {
        eprintln!(
            "check FAILED: on {n} x {n} the pool gave {pooled:?}, the serial reference \
             {serial:?}; fields equal: {same_field}"
        );
        false
    }
}
