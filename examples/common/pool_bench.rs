//! The Jacobi sweep and phase-overhead measurements shared by `pool_compare` and `compare`
//! (included with `#[path = "common/pool_bench.rs"] mod pool_bench;`, next to
//! `common/stats.rs` as `stats`): the contenders, their pools, the bitwise check, the
//! interleaved measurement, and the tables and JSON output. See `pool_compare.rs` for the
//! method.
#![allow(dead_code, reason = "each example uses a subset of these items")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use lockstep::pool::{kernels, reduce, Grid2, PhasePool};
use rayon::prelude::*;

use crate::stats::{median, timed};

/// What one measurement covers: the thread counts, the Jacobi sizes, the interleaved
/// repetitions and the target duration of one timed run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Thread counts, each measured with its own pair of pools.
    pub threads: Vec<usize>,
    /// Jacobi grid sizes `n` (at least 3).
    pub sizes: Vec<usize>,
    /// Interleaved repetitions; the medians are reported.
    pub reps: usize,
    /// Target duration of one timed run.
    pub budget: Duration,
    /// The core another, CPU-bound program occupies during the measurement, if any.
    pub interference: Option<usize>,
}

/// The Jacobi contenders of this build.
pub fn jacobi_contenders() -> Vec<Jacobi> {
    JACOBI.into_iter().filter(|c| c.available()).collect()
}

/// The phase contenders of this build.
pub fn phase_contenders() -> Vec<Phase> {
    PHASES.into_iter().filter(|p| p.available()).collect()
}

/// What the setting of the measurement says in a table's title.
fn setting(config: &Config, cores: usize) -> String {
    match config.interference {
        Some(core) => format!("{cores} cores, core {core} busy with another CPU-bound program"),
        None => format!("{cores} cores available"),
    }
}

/// Steps each Jacobi contender runs from the initial grid before timing, compared bitwise.
pub const VERIFY_STEPS: usize = 3;
/// Phases between two reads of the clock in the phase-overhead runs: a clock read (~25 ns)
/// then adds well under a nanosecond per phase.
pub const PHASE_BLOCK: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jacobi {
    Lockstep,
    Rayon,
    RayonEach,
    Serial,
    Plain,
    OpenMp,
}

pub const JACOBI: [Jacobi; 6] = [
    Jacobi::Lockstep,
    Jacobi::Rayon,
    Jacobi::RayonEach,
    Jacobi::Serial,
    Jacobi::Plain,
    Jacobi::OpenMp,
];

impl Jacobi {
    pub fn is_rayon(self) -> bool {
        matches!(self, Jacobi::Rayon | Jacobi::RayonEach)
    }

    pub fn name(self) -> &'static str {
        match self {
            Jacobi::Lockstep => "lockstep",
            Jacobi::Rayon => "rayon",
            Jacobi::RayonEach => "rayon-each",
            Jacobi::Serial => "serial",
            Jacobi::Plain => "plain",
            Jacobi::OpenMp => "openmp",
        }
    }

    /// Whether this contender can run in this build (OpenMP may be missing).
    pub fn available(self) -> bool {
        self != Jacobi::OpenMp || omp_peers::available().is_ok()
    }
}

/// The two pools of one thread count.
pub struct Pools {
    pub lockstep: PhasePool,
    pub rayon: rayon::ThreadPool,
}

impl Pools {
    pub fn new(threads: usize) -> Result<Pools, String> {
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
pub enum State {
    Grid(Grid2<f64>),
    Buffers { cur: Vec<f64>, next: Vec<f64> },
}

impl State {
    pub fn new(contender: Jacobi, pools: &Pools, n: usize) -> State {
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
    pub fn step(&mut self, contender: Jacobi, pools: &Pools, n: usize) -> f64 {
        match self {
            State::Grid(grid) => kernels::jacobi_step(&pools.lockstep, grid),
            State::Buffers { cur, next } if contender.is_rayon() => {
                pools.rayon.install(|| sweep(contender, cur, next, n))
            }
            State::Buffers { cur, next } if contender == Jacobi::OpenMp => {
                let threads = pools.lockstep.num_threads();
                let residual = omp_peers::jacobi2d_residual(n, 1, threads, cur, next);
                std::mem::swap(cur, next);
                residual
            }
            State::Buffers { cur, next } => sweep(contender, cur, next, n),
        }
    }

    /// Sweeps for about `budget` (see [`timed`]); returns the steps, their time, and the sum
    /// of the residuals. Rayon's whole loop runs inside one `install`, so the thread that
    /// issues the sweeps is a rayon worker and takes part, as lockstep's caller does.
    pub fn timed(
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
            State::Buffers { cur, next } if contender == Jacobi::OpenMp => openmp_timed(
                pools.lockstep.num_threads(),
                cur,
                next,
                n,
                budget,
                &mut sink,
            ),
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

    pub fn current(&self) -> &[f64] {
        match self {
            State::Grid(grid) => grid.current().as_slice(),
            State::Buffers { cur, .. } => cur,
        }
    }
}

/// OpenMP's timed run: its sweeps run in one persistent region, so a short run gives the rate
/// and a second one, an even number of sweeps (the grid ends in `cur`), lasts about `budget`.
fn openmp_timed(
    threads: usize,
    cur: &mut [f64],
    next: &mut [f64],
    n: usize,
    budget: Duration,
    sink: &mut f64,
) -> (u64, Duration) {
    let probe = omp_peers::jacobi2d_residual_timed(n, 2, threads, cur, next);
    let steps = (budget.as_secs_f64() / (probe.seconds / 2.0).max(1e-9)) as usize;
    let steps = (steps.max(2) + 1) & !1;
    let run = omp_peers::jacobi2d_residual_timed(n, steps, threads, cur, next);
    *sink += probe.value + run.value;
    (steps as u64, Duration::from_secs_f64(run.seconds))
}

/// One sweep of `cur` into `next` by a buffer contender, then a swap; returns the residual.
/// Rayon's sweep runs in the rayon pool of the calling thread (call it inside `install`).
pub fn sweep(contender: Jacobi, cur: &mut Vec<f64>, next: &mut Vec<f64>, n: usize) -> f64 {
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
        Jacobi::OpenMp => unreachable!("OpenMP sweeps in its own region"),
    };
    std::mem::swap(cur, next);
    residual
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    MapReduceIndex,
    RunReduce,
    ReduceInRun,
    RayonBroadcast,
    RayonBroadcastOutside,
    OpenMpForMax,
}

pub const PHASES: [Phase; 6] = [
    Phase::MapReduceIndex,
    Phase::RunReduce,
    Phase::ReduceInRun,
    Phase::RayonBroadcast,
    Phase::RayonBroadcastOutside,
    Phase::OpenMpForMax,
];

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::MapReduceIndex => "map_reduce_index",
            Phase::RunReduce => "run+reduce",
            Phase::ReduceInRun => "reduce-in-run",
            Phase::RayonBroadcast => "rayon-broadcast",
            Phase::RayonBroadcastOutside => "rayon-broadcast-outside",
            Phase::OpenMpForMax => "openmp-for-max",
        }
    }

    /// Whether this contender can run in this build (OpenMP may be missing).
    pub fn available(self) -> bool {
        self != Phase::OpenMpForMax || omp_peers::available().is_ok()
    }

    /// One timed run: phases done and their time.
    pub fn run(self, pools: &Pools, budget: Duration) -> (u64, Duration) {
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
            Phase::OpenMpForMax => {
                // A short run gives the rate, then one region of the budget's length.
                let probe = 1000;
                let seconds = omp_peers::empty_phase_max(t, probe);
                let phases = (budget.as_secs_f64() / seconds.max(1e-9) * probe as f64) as u64;
                let phases = phases.max(probe as u64);
                let seconds = omp_peers::empty_phase_max(t, phases as usize);
                (phases, Duration::from_secs_f64(seconds))
            }
        };
        black_box(sink);
        result
    }
}

/// One `pool.run` in which every worker calls `ctx.reduce` in a loop; worker 0 reads the clock
/// every [`PHASE_BLOCK`] reductions and broadcasts whether to go on (one extra collective per
/// block). Returns the reductions done and the time of the whole run.
pub fn reduce_in_run(
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

/// The samples of one contender at one thread count (and one size for Jacobi).
#[derive(Debug)]
pub struct Series {
    pub bench: &'static str,
    pub contender: &'static str,
    pub threads: usize,
    /// The grid size, for Jacobi.
    pub n: Option<usize>,
    pub unit: &'static str,
    /// One per rep: MLUP/s for Jacobi, ns per phase for the phase overhead.
    pub samples: Vec<f64>,
    /// Steps or phases timed, one per rep.
    pub counts: Vec<u64>,
}

impl Series {
    pub fn median(&self) -> f64 {
        median(&self.samples)
    }
}

pub fn find<'a>(
    all: &'a [Series],
    bench: &str,
    contender: &str,
    t: usize,
    n: Option<usize>,
) -> &'a Series {
    find_some(all, bench, contender, t, n).expect("every series was measured")
}

/// The series of `contender`, if it was measured.
pub fn find_some<'a>(
    all: &'a [Series],
    bench: &str,
    contender: &str,
    t: usize,
    n: Option<usize>,
) -> Option<&'a Series> {
    all.iter()
        .find(|s| s.bench == bench && s.contender == contender && s.threads == t && s.n == n)
}

/// Runs [`VERIFY_STEPS`] sweeps of every contender from the initial grid and compares them.
pub fn verify(pools: &Pools, n: usize) -> Result<(), String> {
    let contenders = jacobi_contenders();
    let mut states: Vec<State> = contenders
        .iter()
        .map(|&c| State::new(c, pools, n))
        .collect();
    for step in 0..VERIFY_STEPS {
        let residuals: Vec<f64> = contenders
            .iter()
            .zip(&mut states)
            .map(|(&c, state)| state.step(c, pools, n))
            .collect();
        for (c, r) in contenders.iter().zip(&residuals).skip(1) {
            if r.to_bits() != residuals[0].to_bits() {
                return Err(format!(
                    "n = {n}, step {step}: {} residual {r:e} != lockstep's {:e}",
                    c.name(),
                    residuals[0]
                ));
            }
        }
    }
    for (c, state) in contenders.iter().zip(&states).skip(1) {
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
pub fn measure(config: &Config, threads: usize, series: &mut Vec<Series>) -> Result<(), String> {
    let pools = Pools::new(threads)?;
    for &n in &config.sizes {
        verify(&pools, n)?;
    }
    let mut states: Vec<(usize, Jacobi, State)> = Vec::new();
    for &n in &config.sizes {
        for contender in jacobi_contenders() {
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
    let phases = phase_contenders();
    for &phase in &phases {
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
    let first = series.len() - states.len() - phases.len();
    let mut sink = 0.0;
    for rep in 0..config.reps {
        eprintln!("  {threads} threads: rep {}/{}", rep + 1, config.reps);
        let mut s = first;
        for (n, contender, state) in &mut states {
            let (n, contender) = (*n, *contender);
            let (steps, elapsed, residuals) = state.timed(contender, &pools, n, config.budget);
            sink += residuals;
            let points = ((n - 2) * (n - 2)) as f64 * steps as f64;
            series[s].samples.push(points / elapsed.as_secs_f64() / 1e6);
            series[s].counts.push(steps);
            s += 1;
        }
        for &phase in &phases {
            let (phases, elapsed) = phase.run(&pools, config.budget);
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

pub fn print_tables(config: &Config, series: &[Series], cores: usize) {
    println!(
        "Jacobi {{n x n}}, max-norm residual every step: MLUP/s, median of {} interleaved runs \
         of ~{} ms ({})",
        config.reps,
        config.budget.as_millis(),
        setting(config, cores)
    );
    println!(
        "{:>7} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>15} {:>20} {:>16} {:>16} \
         {:>13}",
        "threads",
        "n",
        "lockstep",
        "rayon",
        "rayon-each",
        "serial",
        "plain",
        "openmp",
        "lockstep/rayon",
        "lockstep/rayon-each",
        "lockstep/serial",
        "lockstep/openmp",
        "serial/plain"
    );
    let cell = |v: Option<f64>, width: usize| match v {
        Some(v) => format!("{v:>width$.1}"),
        None => format!("{:>width$}", "-"),
    };
    let times = |v: Option<f64>, width: usize| match v {
        Some(v) => format!("{v:>w$.2}x", w = width - 1),
        None => format!("{:>width$}", "-"),
    };
    for &t in &config.threads {
        for &n in &config.sizes {
            let m =
                |c: Jacobi| find_some(series, "jacobi", c.name(), t, Some(n)).map(Series::median);
            let [l, r, e, s, p, o] = JACOBI.map(m);
            let l = l.expect("lockstep is always measured");
            let over = |peer: Option<f64>| peer.map(|peer| l / peer);
            println!(
                "{t:>7} {n:>6} {:>10.1} {} {} {} {} {} {} {} {} {} {}",
                l,
                cell(r, 10),
                cell(e, 10),
                cell(s, 10),
                cell(p, 10),
                cell(o, 10),
                times(over(r), 15),
                times(over(e), 20),
                times(over(s), 16),
                times(over(o), 16),
                times(s.zip(p).map(|(s, p)| s / p), 13),
            );
        }
    }
    println!();
    println!(
        "Empty phase + max-reduction: ns per phase, median of {} interleaved runs ({})",
        config.reps,
        setting(config, cores)
    );
    println!(
        "{:>7} {:>17} {:>11} {:>14} {:>16} {:>24} {:>15} {:>23} {:>24} {:>15}",
        "threads",
        "map_reduce_index",
        "run+reduce",
        "reduce-in-run",
        "rayon-broadcast",
        "rayon-broadcast-outside",
        "openmp-for-max",
        "map_reduce_index/rayon",
        "map_reduce_index/openmp",
        "cheapest/rayon"
    );
    for &t in &config.threads {
        let m = |p: Phase| find_some(series, "phase", p.name(), t, None).map(Series::median);
        let rayon = m(Phase::RayonBroadcast).expect("rayon is always measured");
        let outside = m(Phase::RayonBroadcastOutside).expect("rayon is always measured");
        let openmp = m(Phase::OpenMpForMax);
        let lockstep = [Phase::MapReduceIndex, Phase::RunReduce, Phase::ReduceInRun]
            .map(|p| m(p).expect("lockstep is always measured"));
        let cheapest = lockstep.into_iter().fold(f64::INFINITY, f64::min);
        println!(
            "{t:>7} {:>17.0} {:>11.0} {:>14.0} {:>16.0} {:>24.0} {:>15} {:>22.3}x {:>24} {:>14.3}x",
            lockstep[0],
            lockstep[1],
            lockstep[2],
            rayon,
            outside,
            openmp.map_or_else(|| "-".to_owned(), |o| format!("{o:.0}")),
            lockstep[0] / rayon,
            openmp.map_or_else(|| "-".to_owned(), |o| format!("{:.3}x", lockstep[0] / o)),
            cheapest / rayon
        );
    }
    println!();
    println!(
        "(lockstep/rayon and lockstep/serial: throughput ratios, above 1 = lockstep faster; \
         .../rayon and .../openmp of the phases: cost ratios, below 1 = lockstep cheaper)"
    );
    if let Err(why) = omp_peers::available() {
        println!("(openmp: not measured: {why})");
    }
}

/// One object per series: the median, every sample, and the ratios to the peers' medians.
pub fn print_json(config: &Config, series: &[Series], cores: usize) {
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
            config.reps,
            config.budget.as_millis(),
            samples.join(","),
            counts.join(",")
        );
        if let Some(core) = config.interference {
            line += &format!(",\"interference_core\":{core}");
        }
        let peers: &[&str] = if s.bench == "jacobi" {
            &["rayon", "rayon-each", "serial", "openmp"]
        } else {
            &["rayon-broadcast", "openmp-for-max"]
        };
        for peer in peers {
            let Some(other) = find_some(series, s.bench, peer, s.threads, s.n) else {
                continue;
            };
            line += &format!(
                ",\"over_{}\":{:.4}",
                peer.replace('-', "_"),
                s.median() / other.median()
            );
        }
        line += "}";
        println!("{line}");
    }
}
