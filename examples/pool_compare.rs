//! phase-pool against rayon, OpenMP and a serial loop, side by side in one process: the
//! reference Jacobi sweep with its residual every step, and the cost of an empty phase that
//! ends in a max-reduction; on an idle machine, or with another CPU-bound program on one core
//! (`--interference CORE`).
//!
//! ```text
//! cargo run --release --example pool_compare                        # all cores; n = 128,512,2048
//! cargo run --release --example pool_compare -- --threads 2,16 --sizes 128,256,8192 --reps 7
//! cargo run --release --example pool_compare -- --interference 1    # core 1 busy meanwhile
//! cargo run --release --example pool_compare -- --json              # one JSON object per line
//! cargo run --release --example pool_compare -- --quick             # CI smoke, ~2 s
//! ```
//!
//! **Jacobi** (the kernel of [`kernels`]: 5-point update, boundary fixed, max-norm residual
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
//!   baseline the row kernel must not be slower than;
//! - `openmp`: the same sweep in C (`omp-peers`), one persistent `omp parallel` region with an
//!   `omp for schedule(static) reduction(max)` per sweep, `OMP_PROC_BIND=close` (the program
//!   starts itself again with it when it is unset); absent where the C compiler has no OpenMP.
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
//!   lockstep caller issues its phases (rayon then hands the job over and blocks on a latch);
//! - `openmp-for-max`: an `omp for reduction(max)` over one iteration per thread, in one
//!   persistent `omp parallel` region.
//!
//! The ratio `cheapest/rayon` divides lockstep's cheapest per-phase figure by
//! `rayon-broadcast`'s.
//!
//! **`--interference CORE`** starts this program again as a CPU-bound process pinned to `CORE`
//! (`examples/common/interference.rs`) for the whole measurement, so every contender runs
//! beside it; it ends with the measurement, or by itself after a time limit.
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
#[path = "common/interference.rs"]
mod interference;
#[path = "common/pool_bench.rs"]
mod pool_bench;
#[path = "common/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pool_bench::{Config, VERIFY_STEPS};

const DEFAULT_SIZES: &[usize] = &[128, 512, 2048];
const DEFAULT_REPS: usize = 5;
/// 5 Jacobi contenders x 3 sizes + 5 phase contenders = 20 runs per rep; x 5 reps x 200 ms is
/// about 20 s per thread count.
const DEFAULT_BUDGET: Duration = Duration::from_millis(200);
/// `--quick`: 20 runs x 5 reps x 12 ms, about 1.2 s, plus the set-up.
const QUICK_BUDGET: Duration = Duration::from_millis(12);

/// phase-pool against rayon, OpenMP and serial loops in one process: Jacobi sweeps with their
/// residual, and the cost of an empty phase that ends in a max-reduction.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Thread counts, comma-separated [default: all cores]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = common::at_least(1)
    )]
    threads: Option<Vec<usize>>,

    /// Jacobi grid sizes n, comma-separated, each at least 3 [default: 128,512,2048]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = common::at_least(3)
    )]
    sizes: Option<Vec<usize>>,

    /// Interleaved repetitions, at least 5 for a report; the median is shown [default: 5]
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,

    /// Target duration of one timed run, in milliseconds [default: 200; 12 with --quick]
    #[arg(long, value_name = "MS", value_parser = common::at_least(1))]
    budget_ms: Option<usize>,

    /// Run a CPU-bound process pinned to CORE during the whole measurement
    #[arg(long, value_name = "CORE")]
    interference: Option<usize>,

    /// One JSON object per line on stdout instead of the tables
    #[arg(long)]
    json: bool,

    /// CI mode: a smoke run of about 2 s, 12 ms per run
    #[arg(long)]
    quick: bool,
}

#[derive(Clone, Debug)]
struct Options {
    config: Config,
    json: bool,
}

impl Options {
    /// The options of `args`, defaults filled in.
    fn new(args: Args) -> Options {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let budget = args.budget_ms.map(|ms| Duration::from_millis(ms as u64));
        Options {
            config: Config {
                threads: args.threads.unwrap_or_else(|| vec![cores]),
                sizes: args.sizes.unwrap_or_else(|| DEFAULT_SIZES.to_vec()),
                reps: args.reps.unwrap_or(DEFAULT_REPS),
                budget: common::or_default(budget, args.quick, DEFAULT_BUDGET, QUICK_BUDGET),
                interference: args.interference,
            },
            json: args.json,
        }
    }
}

fn main() -> ExitCode {
    if let Some(code) = interference::run_child_if_asked() {
        return code;
    }
    if let Some(code) = common::rerun_for_openmp("pool_compare") {
        return code;
    }
    let options = Options::new(Args::parse());
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "pool_compare: threads {:?}, sizes {:?}, {} reps of ~{:?} (available parallelism: {cores})",
        options.config.threads, options.config.sizes, options.config.reps, options.config.budget
    );
    // Bounded by itself too: several times the measurement's expected length.
    let runs = options.config.threads.len()
        * (pool_bench::JACOBI.len() * options.config.sizes.len() + pool_bench::PHASES.len())
        * options.config.reps;
    let limit = options.config.budget * (3 * runs as u32) + Duration::from_secs(60);
    let _busy =
        match interference::start_or_exit("pool_compare", options.config.interference, limit) {
            Ok(busy) => busy,
            Err(code) => return code,
        };
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
