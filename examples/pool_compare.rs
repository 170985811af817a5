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

use std::hint::black_box;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use lockstep::pool::{kernels, reduce, Grid2, PhasePool};
use rayon::prelude::*;

const DEFAULT_SIZES: &[usize] = &[128, 512, 2048];
const DEFAULT_REPS: usize = 5;
/// 5 Jacobi contenders x 3 sizes + 5 phase contenders = 20 runs per rep; x 5 reps x 200 ms is
/// about 20 s per thread count.
const DEFAULT_BUDGET: Duration = Duration::from_millis(200);
/// `--quick`: 20 runs x 5 reps x 12 ms, about 1.2 s, plus the set-up.
const QUICK_BUDGET: Duration = Duration::from_millis(12);
/// Steps each Jacobi contender runs from the initial grid before timing, compared bitwise.
const VERIFY_STEPS: usize = 3;
/// Phases between two reads of the clock in the phase-overhead runs: a clock read (~25 ns)
/// then adds well under a nanosecond per phase.
const PHASE_BLOCK: u64 = 64;

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
    threads: Vec<usize>,
    sizes: Vec<usize>,
    reps: usize,
    budget: Duration,
    json: bool,
}

/// The options, or `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut options = Options {
        threads: vec![cores],
        sizes: DEFAULT_SIZES.to_vec(),
        reps: DEFAULT_REPS,
        budget: DEFAULT_BUDGET,
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
            "--threads" => options.threads = parse_list(&arg, &value()?)?,
            "--sizes" => {
                options.sizes = parse_list(&arg, &value()?)?;
                if let Some(n) = options.sizes.iter().find(|&&n| n < 3) {
                    return Err(format!("--sizes: {n} is too small: a grid needs n >= 3"));
                }
            }
            "--reps" => options.reps = parse_positive(&arg, &value()?)?,
            "--budget-ms" => {
                budget = Some(Duration::from_millis(
                    parse_positive(&arg, &value()?)? as u64
                ));
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    options.budget = budget.unwrap_or(if quick { QUICK_BUDGET } else { DEFAULT_BUDGET });
    Ok(Some(options))
}

fn parse_list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',').map(|t| parse_positive(flag, t)).collect()
}

fn parse_positive(flag: &str, text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag}: `{text}` is not a positive integer")),
    }
}

/// Runs `step` until `budget` has passed (checking the clock every `block` steps), after one
/// untimed warm-up step; returns the steps timed and their time.
fn timed(budget: Duration, block: u64, mut step: impl FnMut()) -> (u64, Duration) {
    step();
    let start = Instant::now();
    let mut steps = 0;
    loop {
        for _ in 0..block {
            step();
        }
        steps += block;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return (steps, elapsed);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Jacobi {
    Lockstep,
    Rayon,
    RayonEach,
    Serial,
    Plain,
}

const JACOBI: [Jacobi; 5] = [
    Jacobi::Lockstep,
    Jacobi::Rayon,
    Jacobi::RayonEach,
    Jacobi::Serial,
    Jacobi::Plain,
];

impl Jacobi {
    fn is_rayon(self) -> bool {
        matches!(self, Jacobi::Rayon | Jacobi::RayonEach)
    }

    fn name(self) -> &'static str {
        match self {
            Jacobi::Lockstep => "lockstep",
            Jacobi::Rayon => "rayon",
            Jacobi::RayonEach => "rayon-each",
            Jacobi::Serial => "serial",
            Jacobi::Plain => "plain",
        }
    }
}

/// The two pools of one thread count.
struct Pools {
    lockstep: PhasePool,
    rayon: rayon::ThreadPool,
}

impl Pools {
    fn new(threads: usize) -> Result<Pools, String> {
        let lockstep = PhasePool::builder()
            .threads(threads)
            .build()
            .map_err(|e| format!("cannot build a lockstep pool of {threads} threads: {e}"))?;
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rayon-{i}"))
            .start_handler(move |i| {
                if !cores.is_empty() {
                    // Best effort, like lockstep's placement: an unpinned worker still works.
                    core_affinity::set_for_current(cores[i % cores.len()]);
                }
            })
            .build()
            .map_err(|e| format!("cannot build a rayon pool of {threads} threads: {e}"))?;
        Ok(Pools { lockstep, rayon })
    }
}

/// One contender's grid: a [`Grid2`] for lockstep, two buffers for the others.
enum State {
    Grid(Grid2<f64>),
    Buffers { cur: Vec<f64>, next: Vec<f64> },
}

impl State {
    fn new(contender: Jacobi, pools: &Pools, n: usize) -> State {
        match contender {
            Jacobi::Lockstep => State::Grid(kernels::jacobi_grid(&pools.lockstep, n)),
            _ => {
                let cur = kernels::jacobi_initial(n);
                State::Buffers {
                    next: cur.clone(),
                    cur,
                }
            }
        }
    }

    /// One sweep; returns its residual. (One `install` per sweep for rayon: for checking only,
    /// [`State::timed`] times rayon's sweeps inside one `install`.)
    fn step(&mut self, contender: Jacobi, pools: &Pools, n: usize) -> f64 {
        match self {
            State::Grid(grid) => kernels::jacobi_step(&pools.lockstep, grid),
            State::Buffers { cur, next } if contender.is_rayon() => {
                pools.rayon.install(|| sweep(contender, cur, next, n))
            }
            State::Buffers { cur, next } => sweep(contender, cur, next, n),
        }
    }

    /// Sweeps for about `budget` (see [`timed`]); returns the steps, their time, and the sum
    /// of the residuals. Rayon's whole loop runs inside one `install`, so the thread that
    /// issues the sweeps is a rayon worker and takes part, as lockstep's caller does.
    fn timed(
        &mut self,
        contender: Jacobi,
        pools: &Pools,
        n: usize,
        budget: Duration,
    ) -> (u64, Duration, f64) {
        let mut sink = 0.0;
        let (steps, elapsed) = match self {
            State::Grid(grid) => timed(budget, 1, || {
                sink += kernels::jacobi_step(&pools.lockstep, grid);
            }),
            State::Buffers { cur, next } if contender == Jacobi::Rayon => pools
                .rayon
                .install(|| timed(budget, 1, || sink += sweep(contender, cur, next, n))),
            State::Buffers { cur, next } if contender == Jacobi::RayonEach => {
                timed(budget, 1, || {
                    sink += pools.rayon.install(|| sweep(contender, cur, next, n));
                })
            }
            State::Buffers { cur, next } => {
                timed(budget, 1, || sink += sweep(contender, cur, next, n))
            }
        };
        (steps, elapsed, sink)
    }

    fn current(&self) -> &[f64] {
        match self {
            State::Grid(grid) => grid.current().as_slice(),
            State::Buffers { cur, .. } => cur,
        }
    }
}

/// One sweep of `cur` into `next` by a buffer contender, then a swap; returns the residual.
/// Rayon's sweep runs in the rayon pool of the calling thread (call it inside `install`).
fn sweep(contender: Jacobi, cur: &mut Vec<f64>, next: &mut Vec<f64>, n: usize) -> f64 {
    let residual = match contender {
        Jacobi::Rayon | Jacobi::RayonEach => {
            let cur = &cur[..];
            next.par_chunks_mut(n)
                .enumerate()
                .map(|(i, row)| kernels::jacobi_row(cur, n, i, row))
                .reduce(|| 0.0, kernels::max_residual)
        }
        Jacobi::Serial => kernels::jacobi_step_serial(cur, next, n),
        Jacobi::Plain => kernels::jacobi_step_plain(cur, next, n),
        Jacobi::Lockstep => unreachable!("lockstep sweeps a Grid2"),
    };
    std::mem::swap(cur, next);
    residual
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    MapReduceIndex,
    RunReduce,
    ReduceInRun,
    RayonBroadcast,
    RayonBroadcastOutside,
}

const PHASES: [Phase; 5] = [
    Phase::MapReduceIndex,
    Phase::RunReduce,
    Phase::ReduceInRun,
    Phase::RayonBroadcast,
    Phase::RayonBroadcastOutside,
];

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::MapReduceIndex => "map_reduce_index",
            Phase::RunReduce => "run+reduce",
            Phase::ReduceInRun => "reduce-in-run",
            Phase::RayonBroadcast => "rayon-broadcast",
            Phase::RayonBroadcastOutside => "rayon-broadcast-outside",
        }
    }

    /// One timed run: phases done and their time.
    fn run(self, pools: &Pools, budget: Duration) -> (u64, Duration) {
        let pool = &pools.lockstep;
        let t = pool.num_threads();
        // Every worker's contribution: its index mixed with the phase number, through
        // `black_box` so that nothing is folded at compile time.
        let value = |worker: usize, phase: u64| black_box(worker as u64 ^ phase);
        let mut phase = 0u64;
        let mut sink = 0u64;
        let result = match self {
            Phase::MapReduceIndex => timed(budget, PHASE_BLOCK, || {
                phase += 1;
                sink ^=
                    pool.map_reduce_index(t, 1, 0, |r| value(r.start, phase), reduce::max::<u64>);
            }),
            Phase::RunReduce => timed(budget, PHASE_BLOCK, || {
                phase += 1;
                sink ^= pool.run(|ctx| ctx.reduce(value(ctx.index(), phase), reduce::max))[0];
            }),
            Phase::ReduceInRun => reduce_in_run(pool, budget, value),
            Phase::RayonBroadcast => pools.rayon.install(|| {
                timed(budget, PHASE_BLOCK, || {
                    phase += 1;
                    let all = rayon::broadcast(|ctx| value(ctx.index(), phase));
                    sink ^= all.into_iter().fold(0, reduce::max);
                })
            }),
            Phase::RayonBroadcastOutside => timed(budget, PHASE_BLOCK, || {
                phase += 1;
                let all = pools.rayon.broadcast(|ctx| value(ctx.index(), phase));
                sink ^= all.into_iter().fold(0, reduce::max);
            }),
        };
        black_box(sink);
        result
    }
}

/// One `pool.run` in which every worker calls `ctx.reduce` in a loop; worker 0 reads the clock
/// every [`PHASE_BLOCK`] reductions and broadcasts whether to go on (one extra collective per
/// block). Returns the reductions done and the time of the whole run.
fn reduce_in_run(
    pool: &PhasePool,
    budget: Duration,
    value: impl Fn(usize, u64) -> u64 + Sync,
) -> (u64, Duration) {
    let start = Instant::now();
    let done = pool.run(|ctx| {
        let mut phase = 0u64;
        let mut sink = 0u64;
        loop {
            for _ in 0..PHASE_BLOCK {
                phase += 1;
                sink ^= ctx.reduce(value(ctx.index(), phase), reduce::max);
            }
            let stop = ctx.index() == 0 && start.elapsed() >= budget;
            if ctx.broadcast(0, stop) {
                black_box(sink);
                return phase;
            }
        }
    });
    (done[0], start.elapsed())
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The samples of one contender at one thread count (and one size for Jacobi).
#[derive(Debug)]
struct Series {
    bench: &'static str,
    contender: &'static str,
    threads: usize,
    /// The grid size, for Jacobi.
    n: Option<usize>,
    unit: &'static str,
    /// One per rep: MLUP/s for Jacobi, ns per phase for the phase overhead.
    samples: Vec<f64>,
    /// Steps or phases timed, one per rep.
    counts: Vec<u64>,
}

impl Series {
    fn median(&self) -> f64 {
        median(&self.samples)
    }
}

fn find<'a>(
    all: &'a [Series],
    bench: &str,
    contender: &str,
    t: usize,
    n: Option<usize>,
) -> &'a Series {
    all.iter()
        .find(|s| s.bench == bench && s.contender == contender && s.threads == t && s.n == n)
        .expect("every series was measured")
}

/// Runs [`VERIFY_STEPS`] sweeps of every contender from the initial grid and compares them.
fn verify(pools: &Pools, n: usize) -> Result<(), String> {
    let mut states: Vec<State> = JACOBI.iter().map(|&c| State::new(c, pools, n)).collect();
    for step in 0..VERIFY_STEPS {
        let residuals: Vec<f64> = JACOBI
            .iter()
            .zip(&mut states)
            .map(|(&c, state)| state.step(c, pools, n))
            .collect();
        for (c, r) in JACOBI.iter().zip(&residuals).skip(1) {
            if r.to_bits() != residuals[0].to_bits() {
                return Err(format!(
                    "n = {n}, step {step}: {} residual {r:e} != lockstep's {:e}",
                    c.name(),
                    residuals[0]
                ));
            }
        }
    }
    for (c, state) in JACOBI.iter().zip(&states).skip(1) {
        let same = state
            .current()
            .iter()
            .zip(states[0].current())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            return Err(format!(
                "n = {n}: {}'s grid differs from lockstep's",
                c.name()
            ));
        }
    }
    Ok(())
}

/// Measures every contender at `threads` threads, `reps` times interleaved.
fn measure(options: &Options, threads: usize, series: &mut Vec<Series>) -> Result<(), String> {
    let pools = Pools::new(threads)?;
    for &n in &options.sizes {
        verify(&pools, n)?;
    }
    let mut states: Vec<(usize, Jacobi, State)> = Vec::new();
    for &n in &options.sizes {
        for contender in JACOBI {
            states.push((n, contender, State::new(contender, &pools, n)));
            series.push(Series {
                bench: "jacobi",
                contender: contender.name(),
                threads,
                n: Some(n),
                unit: "MLUP/s",
                samples: Vec::new(),
                counts: Vec::new(),
            });
        }
    }
    for phase in PHASES {
        series.push(Series {
            bench: "phase",
            contender: phase.name(),
            threads,
            n: None,
            unit: "ns/phase",
            samples: Vec::new(),
            counts: Vec::new(),
        });
    }
    let first = series.len() - states.len() - PHASES.len();
    let mut sink = 0.0;
    for rep in 0..options.reps {
        eprintln!("  {threads} threads: rep {}/{}", rep + 1, options.reps);
        let mut s = first;
        for (n, contender, state) in &mut states {
            let (n, contender) = (*n, *contender);
            let (steps, elapsed, residuals) = state.timed(contender, &pools, n, options.budget);
            sink += residuals;
            let points = ((n - 2) * (n - 2)) as f64 * steps as f64;
            series[s].samples.push(points / elapsed.as_secs_f64() / 1e6);
            series[s].counts.push(steps);
            s += 1;
        }
        for phase in PHASES {
            let (phases, elapsed) = phase.run(&pools, options.budget);
            series[s]
                .samples
                .push(elapsed.as_nanos() as f64 / phases as f64);
            series[s].counts.push(phases);
            s += 1;
        }
    }
    black_box(sink);
    Ok(())
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
        options.threads, options.sizes, options.reps, options.budget
    );
    let mut series = Vec::new();
    for &threads in &options.threads {
        if let Err(message) = measure(&options, threads, &mut series) {
            eprintln!("pool_compare: {message}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("  every contender's first {VERIFY_STEPS} sweeps agree bitwise");
    if options.json {
        print_json(&options, &series, cores);
    } else {
        print_tables(&options, &series, cores);
    }
    eprintln!("pool_compare: done in {:.1?}", started.elapsed());
    ExitCode::SUCCESS
}

fn print_tables(options: &Options, series: &[Series], cores: usize) {
    println!(
        "Jacobi {{n x n}}, max-norm residual every step: MLUP/s, median of {} interleaved runs \
         of ~{} ms ({cores} cores available)",
        options.reps,
        options.budget.as_millis()
    );
    println!(
        "{:>7} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>15} {:>20} {:>16} {:>13}",
        "threads",
        "n",
        "lockstep",
        "rayon",
        "rayon-each",
        "serial",
        "plain",
        "lockstep/rayon",
        "lockstep/rayon-each",
        "lockstep/serial",
        "serial/plain"
    );
    for &t in &options.threads {
        for &n in &options.sizes {
            let m = |c: Jacobi| find(series, "jacobi", c.name(), t, Some(n)).median();
            let [l, r, e, s, p] = JACOBI.map(m);
            println!(
                "{t:>7} {n:>6} {l:>10.1} {r:>10.1} {e:>10.1} {s:>10.1} {p:>10.1} {:>14.2}x \
                 {:>19.2}x {:>15.2}x {:>12.2}x",
                l / r,
                l / e,
                l / s,
                s / p
            );
        }
    }
    println!();
    println!(
        "Empty phase + max-reduction: ns per phase, median of {} interleaved runs",
        options.reps
    );
    println!(
        "{:>7} {:>17} {:>11} {:>14} {:>16} {:>24} {:>23} {:>15}",
        "threads",
        "map_reduce_index",
        "run+reduce",
        "reduce-in-run",
        "rayon-broadcast",
        "rayon-broadcast-outside",
        "map_reduce_index/rayon",
        "cheapest/rayon"
    );
    for &t in &options.threads {
        let m = |p: Phase| find(series, "phase", p.name(), t, None).median();
        let rayon = m(Phase::RayonBroadcast);
        let outside = m(Phase::RayonBroadcastOutside);
        let lockstep = [Phase::MapReduceIndex, Phase::RunReduce, Phase::ReduceInRun].map(m);
        let cheapest = lockstep.into_iter().fold(f64::INFINITY, f64::min);
        println!(
            "{t:>7} {:>17.0} {:>11.0} {:>14.0} {:>16.0} {:>24.0} {:>22.3}x {:>14.3}x",
            lockstep[0],
            lockstep[1],
            lockstep[2],
            rayon,
            outside,
            lockstep[0] / rayon,
            cheapest / rayon
        );
    }
    println!();
    println!(
        "(lockstep/rayon and lockstep/serial: throughput ratios, above 1 = lockstep faster; \
         .../rayon of the phases: cost ratios against rayon-broadcast, below 1 = lockstep \
         cheaper)"
    );
}

/// One object per series: the median, every sample, and the ratios to the peers' medians.
fn print_json(options: &Options, series: &[Series], cores: usize) {
    for s in series {
        let samples: Vec<String> = s.samples.iter().map(|v| format!("{v:.3}")).collect();
        let counts: Vec<String> = s.counts.iter().map(u64::to_string).collect();
        let mut line = format!(
            "{{\"bench\":\"{}\",\"contender\":\"{}\",\"threads\":{},\"cores\":{cores},",
            s.bench, s.contender, s.threads
        );
        if let Some(n) = s.n {
            line += &format!("\"n\":{n},");
        }
        line += &format!(
            "\"unit\":\"{}\",\"median\":{:.3},\"reps\":{},\"budget_ms\":{},\"samples\":[{}],\
             \"counts\":[{}]",
            s.unit,
            s.median(),
            options.reps,
            options.budget.as_millis(),
            samples.join(","),
            counts.join(",")
        );
        let peers: &[&str] = if s.bench == "jacobi" {
            &["rayon", "rayon-each", "serial"]
        } else {
            &["rayon-broadcast"]
        };
        for peer in peers {
            let other = find(series, s.bench, peer, s.threads, s.n).median();
            line += &format!(
                ",\"over_{}\":{:.4}",
                peer.replace('-', "_"),
                s.median() / other
            );
        }
        line += "}";
        println!("{line}");
    }
}
