//! A BSP inner product on coarrays (BSPedupack's `bspip`): every worker sums its block of `x . y`,
//! puts the partial sum into every worker's copy of the `p` partial sums, syncs, and adds them in
//! worker order.
//!
//! ```text
//! cargo run --release --example bsp_inner                       # n = 2^20
//! cargo run --release --example bsp_inner -- --size 4000000 --params bsp_probe.json
//! cargo run --release --example bsp_inner -- --quick            # CI: n = 100,000
//! ```
//!
//! The check: the result equals the same block sums added serially, bit for bit.
//!
//! The BSP parameters come from `--params` (a file that `bsp_probe` wrote) or from a quick
//! probe of the pool before the run. Prints the median time of `--reps` runs beside the time
//! the model predicts (`w / r + h g + S l`, with `g` and `l` of puts). Exits with 0 when the
//! check passes, 1 when it fails, 2 on a bad flag or an unusable `--params`.
//!
//! `r` is a rate on data in cache (a DAXPY on short vectors, as `bspbench` measures it), so the
//! model holds while the vectors fit in the last-level cache; the default size does on a 2-core
//! AMD EPYC VM with 32 MB of L3 (16 MB of data). Beyond it the loop waits on memory and
//! measures above the model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "common/bsp_algorithms.rs"]
mod algorithms;
#[path = "common/bsp_model.rs"]
mod bsp_model;
#[path = "common/mod.rs"]
mod common;

/// Inner product of two vectors on coarrays, timed against the BSP model.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Vector length [default: 1048576; 100000 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    size: Option<usize>,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Timed runs; the median is reported [default: 21; 3 with --quick]
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
    let pool = match common::pool_or_exit("bsp_inner", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let params = match bsp_model::params_for(&pool, args.params.as_deref()) {
        Ok(params) => params,
        Err(error) => {
            eprintln!("bsp_inner: {error}");
            return ExitCode::from(2);
        }
    };
    println!("{}", bsp_model::describe(&params));
    let size = common::or_default(args.size, args.quick, 1 << 20, 100_000);
    let reps = common::or_default(args.reps, args.quick, 21, 3);
    let x = algorithms::data(size, 1);
    let y = algorithms::data(size, 2);
    let p = pool.num_threads();
    let serial = algorithms::inner_product_serial(&x, &y, p);
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let run = algorithms::inner_product(&pool, &x, &y);
        times.push(run.seconds);
        last = Some(run);
    }
    let run = last.expect("at least one run");
    let c = run.cost;
    println!("inner product of n = {size} on p = {p}: {}", run.value);
    bsp_model::report(
        "bsp_inner",
        median(times),
        &params,
        c.flops,
        c.words,
        c.syncs,
    );
    if run.value.to_bits() == serial.to_bits() {
        println!("check: equals the serial block sums bit for bit");
        ExitCode::SUCCESS
    } else {
        eprintln!("bsp_inner: {} differs from the serial {serial}", run.value);
        ExitCode::FAILURE
    }
}

/// The median of `times`.
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
