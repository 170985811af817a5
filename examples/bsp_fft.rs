//! A BSP radix-2 FFT on coarrays, in the structure of BSPedupack's `bspfft`: block distribution
//! in, the bit-reversal permutation as one h-relation, `log2(n / p)` stages inside the blocks, a
//! block-to-cyclic redistribution, `log2(p)` stages inside the cyclic distribution, cyclic out.
//!
//! ```text
//! cargo run --release --example bsp_fft                          # n = 2^18
//! cargo run --release --example bsp_fft -- --size 65536 --threads 2
//! cargo run --release --example bsp_fft -- --quick               # CI: n = 4096
//! ```
//!
//! The check: the result equals a serial FFT doing the same butterflies, bit for bit, and (up to
//! n = 4096) the DFT by its definition up to rounding. `n` and `p` must be powers of two with
//! `p^2 <= n`.
//!
//! The BSP parameters come from `--params` (a file that `bsp_probe` wrote) or from a quick
//! probe of the pool before the run. Prints the median time of `--reps` runs beside the time
//! the model predicts (`w / r + h g + S l`, with `g` and `l` of puts). Exits with 0 when the
//! check passes, 1 when it fails, 2 on a bad flag or an unusable `--params`.
//!
//! `r` is a rate on data in cache (a DAXPY on short vectors, as `bspbench` measures it), so the
//! model holds while the data fit in the last-level cache; the default size does on a 2-core
//! AMD EPYC VM with 32 MB of L3 (4 MB of data, its copy and the twiddles). Beyond it the loops
//! wait on memory and measure above the model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "common/bsp_algorithms.rs"]
mod algorithms;
#[path = "common/bsp_model.rs"]
mod bsp_model;
#[path = "common/mod.rs"]
mod common;

/// Radix-2 FFT on coarrays, timed against the BSP model.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Transform length, a power of two [default: 262144; 4096 with --quick]
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
    let pool = match common::pool_or_exit("bsp_fft", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let params = match bsp_model::params_for(&pool, args.params.as_deref()) {
        Ok(params) => params,
        Err(error) => {
            eprintln!("bsp_fft: {error}");
            return ExitCode::from(2);
        }
    };
    println!("{}", bsp_model::describe(&params));
    let size = common::or_default(args.size, args.quick, 1 << 18, 4096);
    let reps = common::or_default(args.reps, args.quick, 5, 3);
    let p = pool.num_threads();
    if !size.is_power_of_two() || !p.is_power_of_two() || p * p > size {
        eprintln!("bsp_fft: needs n and p powers of two with p^2 <= n (n = {size}, p = {p})");
        return ExitCode::from(2);
    }
    let re = algorithms::data(size, 3);
    let im = algorithms::data(size, 4);
    let x: Vec<algorithms::Complex> = re.into_iter().zip(im).map(|(a, b)| [a, b]).collect();
    let w = algorithms::twiddles(size);
    let serial = algorithms::fft_serial(&x, &w);
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let run = algorithms::fft(&pool, &x, &w);
        times.push(run.seconds);
        last = Some(run);
    }
    let run = last.expect("at least one run");
    let c = run.cost;
    println!("FFT of n = {size} on p = {p}");
    bsp_model::report("bsp_fft", median(times), &params, c.flops, c.words, c.syncs);
    let same = run
        .value
        .iter()
        .flatten()
        .map(|v| v.to_bits())
        .eq(serial.iter().flatten().map(|v| v.to_bits()));
    let inverse_ok = size > 4096 || {
        let reference = algorithms::dft(&x);
        run.value
            .iter()
            .zip(&reference)
            .all(|(a, b)| (a[0] - b[0]).abs() + (a[1] - b[1]).abs() < 1e-9 * size as f64)
    };
    if same && inverse_ok {
        println!(
            "check: equals the serial FFT bit for bit{}",
            if size > 4096 {
                ""
            } else {
                " and the DFT up to rounding"
            }
        );
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "bsp_fft: the result differs from the serial FFT ({same}) or the DFT ({inverse_ok})"
        );
        ExitCode::FAILURE
    }
}

/// The median of `times`.
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
