//! STREAM's triad `a[i] = b[i] + s * c[i]` on the pool and in OpenMP: the memory bandwidth
//! roof the stencils (`examples/stencils.rs`) are measured against.
//!
//! ```text
//! cargo run --release --example stream                         # 2^25 doubles an array, all cores
//! cargo run --release --example stream -- --threads 1,8,16 --reps 7
//! cargo run --release --example stream -- --quick              # CI smoke: 2^20, 3 reps
//! ```
//!
//! Bandwidth is STREAM's: 24 bytes an element a triad (read `b` and `c`, write `a`; the
//! write-allocate read of `a` is not counted), over the median sample. A sample is `--times`
//! triads: for `lockstep` one `for_each_chunk_mut` phase each on a static schedule, one chunk a
//! worker, on arrays first touched by the workers that sweep them; for `openmp` one
//! `omp for schedule(static)` each in one parallel region, on arrays first touched in an
//! `omp for schedule(static)` (as McCalpin's `stream.c`). Samples are interleaved. The arrays
//! must be well beyond the last-level cache (the default is 3 x 256 MiB). The result is
//! checked (every `a[i]` is `2 + 3 * 0.5`); the program exits with status 1 if it is wrong.

#[path = "common/mod.rs"]
mod common;
#[path = "common/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::{first_touch, PhasePool, Schedule};

/// STREAM's scalar.
const SCALAR: f64 = 3.0;
/// What every `a[i]` holds after a triad.
const EXPECTED: f64 = 2.0 + SCALAR * 0.5;

#[derive(Parser, Debug)]
#[command(about = "STREAM triad: lockstep against OpenMP, the memory bandwidth roof")]
struct Args {
    /// Thread counts, comma-separated (default: the available parallelism).
    #[arg(long, value_delimiter = ',', value_parser = common::at_least(1))]
    threads: Option<Vec<usize>>,
    /// Elements an array (default: 2^25; 2^20 with --quick).
    #[arg(long, value_parser = common::at_least(1))]
    len: Option<usize>,
    /// Interleaved samples per version (default: 7; 3 with --quick).
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,
    /// Triads a sample (default: 10).
    #[arg(long, value_parser = common::at_least(1), default_value_t = 10)]
    times: usize,
    /// CI smoke: small arrays, 3 reps.
    #[arg(long)]
    quick: bool,
}

/// The pool's three arrays, each chunk first touched by the worker that sweeps it.
struct PoolArrays {
    pool: PhasePool,
    chunk: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl PoolArrays {
    fn new(pool: PhasePool, len: usize) -> PoolArrays {
        let chunk = len.div_ceil(pool.num_threads());
        let a = first_touch(&pool, len, chunk, |_, _| 1.0);
        let b = first_touch(&pool, len, chunk, |_, _| 2.0);
        let c = first_touch(&pool, len, chunk, |_, _| 0.5);
        PoolArrays {
            pool,
            chunk,
            a,
            b,
            c,
        }
    }

    /// `times` triads; the seconds.
    fn triad(&mut self, times: usize) -> f64 {
        let (b, c, chunk) = (&self.b, &self.c, self.chunk);
        let start = Instant::now();
        for _ in 0..times {
            // The schedule `first_touch` used, so every worker sweeps the pages it placed.
            self.pool
                .with_schedule(Schedule::Static)
                .for_each_chunk_mut(&mut self.a, chunk, |index, a| {
                    let from = index * chunk;
                    let (b, c) = (&b[from..from + a.len()], &c[from..from + a.len()]);
                    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + SCALAR * c;
                    }
                });
        }
        start.elapsed().as_secs_f64()
    }
}

fn main() -> ExitCode {
    if let Some(code) = common::rerun_for_openmp("stream") {
        return code;
    }
    let args = Args::parse();
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let thread_counts = args.threads.clone().unwrap_or_else(|| vec![cores]);
    let len = common::or_default(args.len, args.quick, 1 << 25, 1 << 20);
    let reps = common::or_default(args.reps, args.quick, 7, 3);
    let openmp = omp_peers::available();
    if let Err(why) = openmp {
        println!("stream: no OpenMP column: {why}");
    }
    let gigabytes = 24.0 * len as f64 * args.times as f64 / 1e9;
    println!(
        "STREAM triad, {len} doubles an array ({:.0} MiB in all), {} triads a sample, median of {reps} (best in brackets), GB/s",
        24.0 * len as f64 / (1 << 20) as f64,
        args.times
    );
    println!(
        "{:>7}  {:>18}  {:>18}  {:>15}",
        "threads", "lockstep", "openmp", "lockstep/openmp"
    );
    let mut wrong = false;
    for &threads in &thread_counts {
        let pool = match common::pool_or_exit("stream", Some(threads)) {
            Ok(pool) => pool,
            Err(code) => return code,
        };
        let mut ours = PoolArrays::new(pool, len);
        let mut theirs = openmp
            .is_ok()
            .then(|| omp_peers::StreamArrays::new(threads, len));
        let (mut lockstep, mut omp) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            lockstep.push(gigabytes / ours.triad(args.times));
            if let Some(theirs) = theirs.as_mut() {
                omp.push(gigabytes / theirs.triad(args.times, SCALAR));
            }
        }
        wrong |= ours.a.iter().any(|&x| x != EXPECTED);
        wrong |= theirs
            .as_ref()
            .is_some_and(|t| t.a().iter().any(|&x| x != EXPECTED));
        let cell = |samples: &[f64]| {
            if samples.is_empty() {
                "-".to_owned()
            } else {
                let best = samples.iter().copied().fold(0.0, f64::max);
                format!("{:.1} ({best:.1})", stats::median(samples))
            }
        };
        let ratio = if omp.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}", stats::median(&lockstep) / stats::median(&omp))
        };
        println!(
            "{threads:>7}  {:>18}  {:>18}  {ratio:>15}",
            cell(&lockstep),
            cell(&omp)
        );
    }
    if wrong {
        eprintln!("stream: a triad's result is wrong (expected every a[i] = {EXPECTED})");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
