//! What a profile costs: the same phases on a pool that keeps no profile and on one that does,
//! interleaved in one process.
//!
//! ```text
//! cargo run --release --example profile_cost                       # all cores, 7 reps
//! cargo run --release --example profile_cost -- --threads 2 --reps 9 --ms 300
//! cargo run --release --example profile_cost -- --quick            # CI smoke
//! ```
//!
//! Contenders, each on its own pool of the same size (the idle one parks meanwhile):
//!
//! - an empty phase ending in a max-reduction (`map_reduce_index` of one index per worker),
//!   in ns per phase;
//! - an SPMD run of `ctx.reduce` calls (one collective each), in ns per collective;
//! - the reference Jacobi sweep with its residual ([`kernels::jacobi_step`]) on `n x n` grids,
//!   in MLUP/s.
//!
//! The profiled pool's profile is taken (and dropped) every [`TAKE_EVERY`] phases inside the
//! timed loop, as a program that reports per time-step block would, so the figure includes
//! assembling profiles (shown apart: "of it taking") and stays within the profile's phase
//! limit. Every run is checked: both
//! pools give bitwise equal Jacobi residuals. Prints, per contender, the medians and the ratio
//! `profiled / plain` (time per phase), so 1.05 means profiling adds 5%.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use lockstep::pool::{kernels, reduce, PhasePool};

#[path = "common/mod.rs"]
mod common;
#[path = "common/stats.rs"]
mod stats;

/// Calls between two readings of the clock in a timed run.
const BLOCK: u64 = 64;

/// Phases between two takes of the profiled pool's profile (well under its 65,536-phase limit).
const TAKE_EVERY: u64 = 8192;

/// The cost of profiling a pool: the same phases with and without a profile, interleaved.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Workers per pool, the main thread included [default: all cores]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,
    /// Jacobi grid sizes, comma-separated, each at least 3
    #[arg(long, value_delimiter = ',', default_value = "128,2048", value_parser = common::at_least(3))]
    sizes: Vec<usize>,
    /// Interleaved repetitions; medians are reported [default: 7; 3 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,
    /// Target length of one timed run, in milliseconds [default: 200; 10 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    ms: Option<usize>,
    /// CI mode: a short smoke run
    #[arg(long)]
    quick: bool,
}

/// What is timed.
#[derive(Clone, Copy)]
enum Bench {
    EmptyPhase,
    Collective,
    Jacobi(usize),
}

impl Bench {
    fn name(self) -> String {
        match self {
            Bench::EmptyPhase => "empty phase + max (ns/phase)".into(),
            Bench::Collective => "ctx.reduce in a run (ns/collective)".into(),
            Bench::Jacobi(n) => format!("Jacobi n={n} (ns/step)"),
        }
    }
}

/// What one run measured, in nanoseconds per phase (or collective, or step).
struct Measured {
    /// The whole time, profile takes included.
    total: f64,
    /// The share of it spent taking (and dropping) profiles.
    taking: f64,
    /// A value derived from the results, checked equal between the pools.
    check: f64,
}

/// Runs `bench` on `pool` for about `budget`.
fn run(bench: Bench, pool: &PhasePool, budget: Duration) -> Measured {
    let profiled = pool.profile().is_enabled();
    let mut since_take = 0u64;
    let mut taking = Duration::ZERO;
    let mut took = || {
        since_take += 1;
        if profiled && since_take == TAKE_EVERY {
            since_take = 0;
            let started = Instant::now();
            drop(black_box(pool.profile()));
            taking += started.elapsed();
        }
    };
    let t = pool.num_threads();
    match bench {
        Bench::EmptyPhase => {
            let mut phase = 0u64;
            let (count, elapsed) = stats::timed(budget, BLOCK, || {
                phase += 1;
                black_box(pool.map_reduce_index(
                    t,
                    1,
                    0,
                    |r| black_box(r.start as u64 ^ phase),
                    reduce::max::<u64>,
                ));
                took();
            });
            Measured {
                total: per(elapsed, count),
                taking: per(taking, count),
                check: 0.0,
            }
        }
        Bench::Collective => {
            let start = Instant::now();
            let done = pool.run(|ctx| {
                let mut calls = 0u64;
                loop {
                    for _ in 0..64 {
                        calls += 1;
                        black_box(ctx.reduce(ctx.index() as u64 ^ calls, reduce::max));
                    }
                    let stop = ctx.index() == 0 && start.elapsed() >= budget;
                    if ctx.broadcast(0, stop) {
                        return calls;
                    }
                }
            });
            let elapsed = start.elapsed();
            let started = Instant::now();
            drop(black_box(pool.profile()));
            let taking = started.elapsed();
            Measured {
                total: per(elapsed + taking, done[0]),
                taking: per(taking, done[0]),
                check: 0.0,
            }
        }
        Bench::Jacobi(n) => {
            let mut grid = kernels::jacobi_grid(pool, n);
            let mut sum = 0.0;
            let (count, elapsed) = stats::timed(budget, BLOCK, || {
                sum += kernels::jacobi_step(pool, &mut grid);
                took();
            });
            // The first residuals are the same in every run (the same grid, the same steps).
            let mut check = kernels::jacobi_grid(pool, n);
            let first: Vec<u64> = (0..3)
                .map(|_| kernels::jacobi_step(pool, &mut check).to_bits())
                .collect();
            black_box(sum);
            Measured {
                total: per(elapsed, count),
                taking: per(taking, count),
                check: f64::from_bits(first.iter().fold(0, |a, b| a ^ b)),
            }
        }
    }
}

fn per(elapsed: Duration, count: u64) -> f64 {
    elapsed.as_nanos() as f64 / count.max(1) as f64
}

fn main() -> ExitCode {
    let args = Args::parse();
    let reps = common::or_default(args.reps, args.quick, 7, 3);
    let budget = Duration::from_millis(common::or_default(args.ms, args.quick, 200, 10) as u64);
    let build = |profile: bool| {
        let mut builder = PhasePool::builder().profile(profile);
        if let Some(threads) = args.threads {
            builder = builder.threads(threads);
        }
        builder.build()
    };
    let (plain, profiled) = match (build(false), build(true)) {
        (Ok(plain), Ok(profiled)) => (plain, profiled),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("profile_cost: cannot build the pools: {error}");
            return ExitCode::from(2);
        }
    };
    let mut benches = vec![Bench::EmptyPhase, Bench::Collective];
    benches.extend(args.sizes.iter().map(|&n| Bench::Jacobi(n)));
    println!(
        "profile cost: {} workers per pool, median of {reps} interleaved runs of ~{} ms",
        plain.num_threads(),
        budget.as_millis(),
    );
    println!(
        "{:<38} {:>12} {:>12} {:>15} {:>17}",
        "", "plain", "profiled", "of it taking", "profiled/plain"
    );
    let mut ok = true;
    for bench in benches {
        let (mut off, mut on, mut taking) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let a = run(bench, &plain, budget);
            let b = run(bench, &profiled, budget);
            if a.check.to_bits() != b.check.to_bits() {
                eprintln!(
                    "profile_cost: {} gave different results with a profile",
                    bench.name()
                );
                ok = false;
            }
            off.push(a.total);
            on.push(b.total);
            taking.push(b.taking);
        }
        let (a, b, t) = (
            stats::median(&off),
            stats::median(&on),
            stats::median(&taking),
        );
        println!(
            "{:<38} {a:>12.1} {b:>12.1} {t:>15.1} {:>16.3}x",
            bench.name(),
            b / a
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
