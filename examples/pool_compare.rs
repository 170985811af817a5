//! phase-pool against rayon and a serial loop, side by side in one process (issue 4's
//! comparison): the reference Jacobi sweep with its residual every step, and the cost of an
//! empty phase that ends in a max-reduction.
//!
//! ```text
//! cargo run --release --example pool_compare                        # all cores; n = 128,512,2048
//! cargo run --release --example pool_compare -- --threads 2,16 --sizes 128,256,8192 --reps 7
//! cargo run --release --example pool_compare -- --json              # one JSON object per line
//! cargo run --release --example pool_compare -- --quick             # CI smoke, ~2 s
//! ```
//!
//! **Jacobi** (DESIGN.md's kernel: 5-point PolyBench update, boundary fixed, max-norm residual
//! of every sweep), reported in MLUP/s = `(n-2)^2 * steps / seconds / 1e6`:
//!
//! - `lockstep`: a [`Grid2`] swept by [`kernels::jacobi_step`], one phase per step, the residual
//!   folded at the phase's end;
//! - `rayon`: `next.par_chunks_mut(n).enumerate().map(jacobi_row).reduce(max)`, then a swap of
//!   the buffers; the same row kernel. The whole timed loop runs inside one `pool.install`, so
//!   the thread issuing the sweeps is a rayon worker and takes part (as lockstep's caller does)
//!   instead of handing each sweep to the pool and sleeping until it is done;
//! - `rayon-each`: the same sweep with one `pool.install` per sweep, issued from the main
//!   thread, which is how a lockstep caller issues its phases (rayon hands each sweep over and
//!   the caller blocks on a latch until it is done);
//! - `serial`: [`kernels::jacobi_step_serial`] (the same row kernel, one thread);
//! - `plain`: [`kernels::jacobi_step_plain`], the textbook loop (2D indexing, `f64::max`), the
//!   baseline the row kernel must not be slower than.
//!
//! Before timing, every contender runs [`VERIFY_STEPS`] steps from the initial grid, and their
//! residuals and grids must be bitwise equal (exit status 1 otherwise).
//!
//! **Phase overhead**, in ns per phase: every worker contributes one number and the caller gets
//! their maximum.
//!
//! - `map_reduce_index`: `pool.map_reduce_index(t, 1, ..)`, one phase per call;
//! - `run+reduce`: `pool.run(|ctx| ctx.reduce(..))`, one SPMD run per phase;
//! - `reduce-in-run`: one `pool.run` whose workers call `ctx.reduce` in a loop (the BSP style of a
//!   time-step loop): ns per `reduce`;
//! - `rayon-broadcast`: `rayon::broadcast(|ctx| ..)` and a max over the returned `Vec`, the loop
//!   inside `pool.install` (the issuing thread is a rayon worker);
//! - `rayon-broadcast-outside`: `pool.broadcast(..)` from the main thread, which is how a
//!   lockstep caller issues its phases (rayon then hands the job over and blocks on a latch).
//!
//! The ratio `cheapest/rayon` divides lockstep's cheapest per-phase figure by
//! `rayon-broadcast`'s (issue 4's target: at most 0.2).
//!
//! **Method.** The rayon pool has `num_threads(t)` workers, each pinned by `start_handler` to
//! core `i mod cores` (core_affinity, over the cores this process may use); the lockstep pool
//! has `t` workers with the default placement (workers `1..t` pinned compactly, the calling
//! thread is worker 0 and is not pinned). Both pools of a thread count live for all its
//! measurements. A run lasts about `--budget-ms` (it stops at the first check of the clock past
//! the budget, so the number of steps adapts to the size and the contender), after one untimed
//! warm-up step. Repetitions are interleaved (rep 1 of every contender and size, then rep 2, ...)
//! so a slow spell of a shared machine hits everyone alike; the tables show medians and ratios of
//! medians. Grids persist across repetitions (the sweep's cost does not depend on the values).

#[path = "common/mod.rs"]
mod common;
#[path = "common/pool_bench.rs"]
mod pool_bench;
#[path = "common/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use pool_bench::{Config, VERIFY_STEPS};
use stats::{parse_list, parse_positive};

const DEFAULT_SIZES: &[usize] = &[128, 512, 2048];
const DEFAULT_REPS: usize = 5;
/// 5 Jacobi contenders x 3 sizes + 5 phase contenders = 20 runs per rep; x 5 reps x 200 ms is
/// about 20 s per thread count.
const DEFAULT_BUDGET: Duration = Duration::from_millis(200);
/// `--quick`: 20 runs x 5 reps x 12 ms, about 1.2 s, plus the set-up.
const QUICK_BUDGET: Duration = Duration::from_millis(12);

const USAGE: &str = "\
usage: pool_compare [--threads LIST] [--sizes LIST] [--reps R] [--budget-ms MS] [--json]
                    [--quick] [--help]

  --threads LIST   comma-separated thread counts (default: all cores)
  --sizes LIST     comma-separated Jacobi grid sizes n, n >= 3 (default 128,512,2048)
  --reps R         interleaved repetitions, at least 5 for a report; the median is shown
                   (default 5)
  --budget-ms MS   target duration of one timed run (default 200)
  --json           one JSON object per line on stdout instead of the tables
  --quick          a ~2 s smoke run: 12 ms per run
  --help           print this message";

#[derive(Clone, Debug)]
struct Options {
    config: Config,
    json: bool,
}

/// The options, or `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut options = Options {
        config: Config {
            threads: vec![cores],
            sizes: DEFAULT_SIZES.to_vec(),
            reps: DEFAULT_REPS,
            budget: DEFAULT_BUDGET,
        },
        json: false,
    };
    let mut budget = None;
    let mut quick = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--json" => options.json = true,
            "--quick" => quick = true,
            "--threads" => options.config.threads = parse_list(&arg, &value()?)?,
            "--sizes" => {
                options.config.sizes = parse_list(&arg, &value()?)?;
                if let Some(n) = options.config.sizes.iter().find(|&&n| n < 3) {
                    return Err(format!("--sizes: {n} is too small: a grid needs n >= 3"));
                }
            }
            "--reps" => options.config.reps = parse_positive(&arg, &value()?)?,
            "--budget-ms" => {
                budget = Some(Duration::from_millis(
                    parse_positive(&arg, &value()?)? as u64
                ));
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    options.config.budget = budget.unwrap_or(if quick { QUICK_BUDGET } else { DEFAULT_BUDGET });
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match common::options_or_exit("pool_compare", USAGE, parse_args) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "pool_compare: threads {:?}, sizes {:?}, {} reps of ~{:?} (available parallelism: {cores})",
        options.config.threads, options.config.sizes, options.config.reps, options.config.budget
    );
    let mut series = Vec::new();
    for &threads in &options.config.threads {
        if let Err(message) = pool_bench::measure(&options.config, threads, &mut series) {
            eprintln!("pool_compare: {message}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("  every contender's first {VERIFY_STEPS} sweeps agree bitwise");
    if options.json {
        pool_bench::print_json(&options.config, &series, cores);
    } else {
        pool_bench::print_tables(&options.config, &series, cores);
    }
    eprintln!("pool_compare: done in {:.1?}", started.elapsed());
    ExitCode::SUCCESS
}
