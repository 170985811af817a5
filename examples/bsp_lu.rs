//! BSP LU decomposition with partial pivoting on coarrays: columns distributed cyclically over
//! the workers, one superstep per column (its owner picks the pivot, scales the column and puts
//! the pivot row and the multipliers into every worker's copy; every worker swaps the rows and
//! updates its columns).
//!
//! ```text
//! cargo run --release --example bsp_lu                           # n = 1024
//! cargo run --release --example bsp_lu -- --size 512 --params bsp_probe.json
//! cargo run --release --example bsp_lu -- --quick                # CI: n = 128
//! ```
//!
//! The check: `L`, `U` and the pivots equal a serial LU doing the same operations, bit for bit,
//! and (up to n = 512) `max |PA - LU|` is at rounding level.
//!
//! The BSP parameters come from `--params` (a file that `bsp_probe` wrote) or from a quick
//! probe of the pool before the run. Prints the median time of `--reps` runs beside the time
//! the model predicts (`w / r + h g + S l`, with `g` and `l` of puts). Exits with 0 when the
//! check passes, 1 when it fails, 2 on a bad flag or an unusable `--params`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "common/bsp_algorithms.rs"]
mod algorithms;
#[path = "common/bsp_model.rs"]
mod bsp_model;
#[path = "common/mod.rs"]
mod common;

/// LU decomposition with partial pivoting on coarrays, timed against the BSP model.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Matrix order [default: 1024; 128 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    size: Option<usize>,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Timed runs; the median is reported [default: 5; 3 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,

    /// BSP parameters from this bsp_probe JSON file [default: a quick probe]
    #[arg(long)]
    params: Option<PathBuf>,

    /// CI mode: a small problem
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pool = match common::pool_or_exit("bsp_lu", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let params = match bsp_model::params_for(&pool, args.params.as_deref()) {
        Ok(params) => params,
        Err(error) => {
            eprintln!("bsp_lu: {error}");
            return ExitCode::from(2);
        }
    };
    println!("{}", bsp_model::describe(&params));
    let size = common::or_default(args.size, args.quick, 1024, 128);
    let reps = common::or_default(args.reps, args.quick, 5, 3);
    let p = pool.num_threads();
    let a = algorithms::data(size * size, 5);
    let serial = algorithms::lu_serial(&a, size);
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let run = algorithms::lu(&pool, &a, size);
        times.push(run.seconds);
        last = Some(run);
    }
    let run = last.expect("at least one run");
    let c = run.cost;
    println!("LU with partial pivoting of n = {size} on p = {p}");
    bsp_model::report("bsp_lu", median(times), &params, c.flops, c.words, c.syncs);
    let same = run.value.perm == serial.perm
        && run
            .value
            .lu
            .iter()
            .map(|v| v.to_bits())
            .eq(serial.lu.iter().map(|v| v.to_bits()));
    let residual = if size <= 512 {
        algorithms::lu_residual(&a, &run.value)
    } else {
        0.0
    };
    if same && residual < 1e-12 * size as f64 {
        println!("check: equals the serial LU bit for bit; max |PA - LU| = {residual:.1e}");
        ExitCode::SUCCESS
    } else {
        eprintln!("bsp_lu: differs from the serial LU ({same}) or max |PA - LU| = {residual:.1e}");
        ExitCode::FAILURE
    }
}

/// The median of `times`.
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
