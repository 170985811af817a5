//! A Poisson solve to a tolerance with Jacobi iteration on a [`PhasePool`], stopping on the
//! residual that each sweep reduces: one phase per iteration, no extra phase for the test.
//!
//! ```text
//! cargo run --release --example jacobi                       # 128 x 128, tolerance 1e-10
//! cargo run --release --example jacobi -- --size 256 --tolerance 1e-9 --threads 2
//! cargo run --release --example jacobi -- --quick            # CI: 32 x 32
//! ```
//!
//! The problem: `-(u_xx + u_yy) = f` on the unit square with `u = 0` on the boundary and
//! `f = 2 pi^2 sin(pi x) sin(pi y)`, whose exact solution is `u = sin(pi x) sin(pi y)`. On an
//! `n x n` grid (boundary included, spacing `h = 1 / (n - 1)`) the 5-point Jacobi update is
//!
//! ```text
//! next[i][j] = (cur[i-1][j] + cur[i+1][j] + cur[i][j-1] + cur[i][j+1] + h^2 f[i][j]) / 4
//! residual   = max over the interior of |next[i][j] - cur[i][j]|
//! ```
//!
//! What it shows:
//!
//! - **Your own stencil on a [`Grid2`].** The row kernel ([`poisson_row`]) is ordinary safe
//!   code over slices; [`Grid2::step_reduce`] hands each worker the current grid and its own
//!   rows of the next one, folds the rows' residuals in row order and swaps the buffers.
//! - **Stopping on a reduction.** The loop reads the residual of the sweep it just did.
//! - **Determinism.** The same row kernel run serially over plain vectors must take the same
//!   number of iterations and give a bitwise-equal grid and residual, whatever `--threads`.
//! - **The answer.** The error against the exact solution must be within the expected bound:
//!   the discretisation error of the 5-point Laplacian for this `u`, `|1 - 2 pi^2 h^2 /
//!   (8 sin^2(pi h / 2))|` (about `pi^2 h^2 / 12`), plus the iteration error, about
//!   `residual / (1 - cos(pi h))` (Jacobi's slowest mode shrinks by `cos(pi h)` a sweep), with
//!   a factor of 2 of slack.
//!
//! Exits with 0 when every check passes, 1 when one fails (or the solve does not converge
//! within `--max-iterations`), 2 on a bad flag.

use std::f64::consts::PI;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::{reduce, Grid2, PhasePool};

#[path = "common/mod.rs"]
mod common;

const DEFAULT_SIZE: usize = 128;
const QUICK_SIZE: usize = 32;
/// Slack on the error bound (see the module docs).
const BOUND_SLACK: f64 = 2.0;

/// Poisson solve by Jacobi iteration on a phase-pool, checked against a serial solve and the
/// exact solution.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Grid points per side, boundary included [default: 128; 32 with --quick]
    #[arg(long, value_parser = common::at_least(3))]
    size: Option<usize>,

    /// Stop once no point changes by more than this in one sweep
    #[arg(
        long,
        default_value = "1e-10",
        value_parser = parse_tolerance,
        allow_negative_numbers = true
    )]
    tolerance: f64,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Give up (and fail) after this many sweeps
    #[arg(
        long,
        default_value_t = 2_000_000,
        value_parser = common::at_least(1)
    )]
    max_iterations: usize,

    /// CI mode: a small grid
    #[arg(long)]
    quick: bool,
}

fn parse_tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 => Ok(t),
        Ok(_) => Err("the tolerance must be a finite number > 0".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The problem on an `n x n` grid: `h^2 f` at every point (row-major), and the exact solution.
struct Problem {
    n: usize,
    h: f64,
    /// `h^2 f(x, y)` at every grid point, row-major.
    scaled_source: Vec<f64>,
}

impl Problem {
    fn new(n: usize) -> Problem {
        let h = 1.0 / (n - 1) as f64;
        let scaled_source = (0..n * n)
            .map(|k| h * h * 2.0 * PI * PI * Problem::mode(n, k))
            .collect();
        Problem {
            n,
            h,
            scaled_source,
        }
    }

    /// `sin(pi x) sin(pi y)` at point `k = i * n + j`: the exact solution, and `f / (2 pi^2)`.
    fn mode(n: usize, k: usize) -> f64 {
        let h = 1.0 / (n - 1) as f64;
        let (x, y) = ((k % n) as f64 * h, (k / n) as f64 * h);
        (PI * x).sin() * (PI * y).sin()
    }
}

/// One Jacobi sweep of row `i` of the row-major grid `cur` (`n` columns) into `next_row`;
/// returns the row's residual. Boundary rows and columns are left alone (they stay 0).
fn poisson_row(
    cur: &[f64],
    scaled_source: &[f64],
    n: usize,
    i: usize,
    next_row: &mut [f64],
) -> f64 {
    let rows = cur.len() / n;
    if i == 0 || i + 1 == rows {
        return 0.0;
    }
    let up = &cur[(i - 1) * n..i * n];
    let row = &cur[i * n..(i + 1) * n];
    let down = &cur[(i + 1) * n..(i + 2) * n];
    let source = &scaled_source[i * n..(i + 1) * n];
    let mut residual = 0.0;
    for j in 1..n - 1 {
        let new = 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1] + source[j]);
        residual = reduce::max(residual, (new - row[j]).abs());
        next_row[j] = new;
    }
    residual
}

/// The outcome of a solve: sweeps done, the last sweep's residual, whether it converged.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Solve {
    iterations: usize,
    residual: f64,
    converged: bool,
}

/// Jacobi on the pool: one phase per sweep, stopping on the sweep's own reduced residual.
fn solve_pooled(
    pool: &PhasePool,
    problem: &Problem,
    tolerance: f64,
    max_iterations: usize,
) -> (Vec<f64>, Solve) {
    let n = problem.n;
    let mut grid = Grid2::new(pool, n, n, |_, _| 0.0);
    let mut residual = 0.0;
    for iteration in 1..=max_iterations {
        residual = grid.step_reduce(
            pool,
            0.0,
            |cur, i, next_row| poisson_row(cur.as_slice(), &problem.scaled_source, n, i, next_row),
            reduce::max,
        );
        if residual < tolerance {
            let solve = Solve {
                iterations: iteration,
                residual,
                converged: true,
            };
            return (grid.into_current(), solve);
        }
    }
    let solve = Solve {
        iterations: max_iterations,
        residual,
        converged: false,
    };
    (grid.into_current(), solve)
}

/// The same iteration on one thread, rows in order, residuals folded in the same order.
fn solve_serial(problem: &Problem, tolerance: f64, max_iterations: usize) -> (Vec<f64>, Solve) {
    let n = problem.n;
    let mut cur = vec![0.0; n * n];
    let mut next = cur.clone();
    let mut residual = 0.0;
    for iteration in 1..=max_iterations {
        residual = next
            .chunks_mut(n)
            .enumerate()
            .map(|(i, next_row)| poisson_row(&cur, &problem.scaled_source, n, i, next_row))
            .fold(0.0, reduce::max);
        std::mem::swap(&mut cur, &mut next);
        if residual < tolerance {
            let solve = Solve {
                iterations: iteration,
                residual,
                converged: true,
            };
            return (cur, solve);
        }
    }
    let solve = Solve {
        iterations: max_iterations,
        residual,
        converged: false,
    };
    (cur, solve)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let n = common::or_default(args.size, args.quick, DEFAULT_SIZE, QUICK_SIZE);
    let pool = match common::build_pool(args.threads) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("jacobi: cannot start the worker pool: {error}");
            return ExitCode::FAILURE;
        }
    };
    let problem = Problem::new(n);
    println!(
        "jacobi: -laplace(u) = 2 pi^2 sin(pi x) sin(pi y) on a {n} x {n} grid, u = 0 on the \
         boundary; {} threads; tolerance {:e}",
        pool.num_threads(),
        args.tolerance
    );

    let start = Instant::now();
    let (field, pooled) = solve_pooled(&pool, &problem, args.tolerance, args.max_iterations);
    let pooled_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (serial_field, serial) = solve_serial(&problem, args.tolerance, args.max_iterations);
    let serial_seconds = start.elapsed().as_secs_f64();

    let mlups = |seconds: f64| ((n - 2) * (n - 2) * pooled.iterations) as f64 / seconds / 1e6;
    println!(
        "{} after {} iterations: residual {:.3e}",
        if pooled.converged {
            "converged"
        } else {
            "did NOT converge"
        },
        pooled.iterations,
        pooled.residual
    );
    println!(
        "pool {pooled_seconds:.3} s ({:.0} MLUP/s), serial {serial_seconds:.3} s ({:.0} MLUP/s)",
        mlups(pooled_seconds),
        mlups(serial_seconds)
    );

    let mut ok = pooled.converged;
    if !pooled.converged {
        eprintln!(
            "check FAILED: no convergence within {} iterations",
            args.max_iterations
        );
    }

    let same_field = field
        .iter()
        .zip(&serial_field)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    let same_solve = pooled.iterations == serial.iterations
        && pooled.residual.to_bits() == serial.residual.to_bits();
    if same_field && same_solve {
        println!("check: pool result equals the serial solve (same iterations, bitwise same grid)");
    } else {
        eprintln!(
            "check FAILED: pool {pooled:?}, serial {serial:?}; grids bitwise equal: {same_field}"
        );
        ok = false;
    }

    let error = field
        .iter()
        .enumerate()
        .map(|(k, u)| (u - Problem::mode(n, k)).abs())
        .fold(0.0, reduce::max);
    let h = problem.h;
    let discretisation = (1.0 - 2.0 * PI * PI * h * h / (8.0 * (PI * h / 2.0).sin().powi(2))).abs();
    let iteration = pooled.residual / (1.0 - (PI * h).cos());
    let bound = BOUND_SLACK * (discretisation + iteration);
    if error <= bound {
        println!(
            "check: max error against the exact solution {error:.3e} <= {bound:.3e} \
             (discretisation {discretisation:.2e} + iteration {iteration:.2e}, x{BOUND_SLACK})"
        );
    } else {
        eprintln!("check FAILED: max error against the exact solution {error:.3e} > {bound:.3e}");
        ok = false;
    }

    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("jacobi: a check failed");
        ExitCode::FAILURE
    }
}
