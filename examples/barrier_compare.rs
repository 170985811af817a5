//! Nanoseconds per barrier episode: lockstep's [`Barrier`] under each [`WaitPolicy`] against
//! `std::sync::Barrier` and the `hurdles` crate, measured in the same process, interleaved.
//!
//! ```text
//! cargo run --release --example barrier_compare                          # 2 and 8 threads
//! cargo run --release --example barrier_compare -- --threads 2,4,8,16 --reps 7 --json
//! cargo run --release --example barrier_compare -- --quick               # CI smoke, ~1 s
//! ```
//!
//! One measurement: a team of `T` threads (the main thread and `T - 1` scoped helpers) shares
//! one fresh barrier; everyone waits once (so every thread is running and has touched the
//! barrier), then the main thread times the following episodes and reports elapsed time over
//! episodes. The main thread's last wait returns only after every thread has arrived for the
//! last episode, so the time covers whole episodes.
//!
//! A run lasts about `--budget-ms` whatever the contender costs (std's barrier at 8 threads on
//! 2 cores takes ~127 us an episode, hurdles' at 2 threads ~120 ns, so one episode count for
//! all would take either minutes or nothing): the team works in blocks of [`BLOCK`] episodes,
//! and before the last wait of a block the main thread decides whether the run is over and
//! publishes that in a flag the others read after the block. The barrier's own
//! happens-before edge carries the flag, so it costs one relaxed load per block.
//! `--episodes N` fixes the length instead (rounded up to a multiple of [`BLOCK`]).
//!
//! Repetitions are interleaved (rep 1 of every contender, then rep 2, ...) so a slow phase of a
//! shared machine hits every contender alike; the table reports each contender's median and
//! the ratios `std / this` and `hurdles / this` (above 1: this contender is faster). Nothing is
//! pinned.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Barrier as StdBarrier;
use std::thread;
use std::time::{Duration, Instant};

use lockstep::barrier::{Algorithm, Barrier, Seat, WaitPolicy};

const DEFAULT_THREADS: &[usize] = &[2, 8];
const DEFAULT_REPS: usize = 5;
/// Per timed run: 5 contenders x 2 thread counts x 5 reps x 250 ms is ~12.5 s.
const DEFAULT_BUDGET: Duration = Duration::from_millis(250);
/// `--quick`: 3 reps x 10 runs x 15 ms: about half a second.
const QUICK_BUDGET: Duration = Duration::from_millis(15);
const QUICK_REPS: usize = 3;
/// Episodes between two checks of the clock and the stop flag: the clock read (~25 ns) then adds
/// well under a nanosecond per episode, and even the slowest contender (lockstep-spin
/// oversubscribed, ~0.4 ms an episode) overshoots a default budget by at most a tenth.
const BLOCK: u64 = 64;

const USAGE: &str = "\
usage: barrier_compare [--threads 2,8] [--episodes N] [--reps R] [--budget-ms MS]
                       [--contenders LIST] [--json] [--quick] [--help]

  --threads LIST     comma-separated thread counts (default 2,8)
  --episodes N       episodes per timed run for every contender, rounded up to a multiple
                     of 64 (default: as many as fit in --budget-ms)
  --reps R           interleaved repetitions; the median is reported (default 5)
  --budget-ms MS     target duration of one timed run (default 250)
  --contenders LIST  subset of lockstep-adaptive,lockstep-spin,lockstep-park,std,hurdles
  --json             one JSON object per line on stdout instead of the table
  --quick            a ~1 s smoke run: 15 ms per run, 3 reps
  --help             print this message";

/// A barrier under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contender {
    /// The anonymous (central) barrier under a wait policy.
    Lockstep(WaitPolicy),
    /// A seated barrier (adaptive waiting), one seat per thread.
    Seated(Algorithm),
    /// A dissemination barrier without Python's semantics: what the semantics cost.
    BareDissemination,
    Std,
    Hurdles,
}

const CONTENDERS: [Contender; 9] = [
    Contender::Lockstep(WaitPolicy::Adaptive),
    Contender::Lockstep(WaitPolicy::Spin),
    Contender::Lockstep(WaitPolicy::Park),
    Contender::Seated(Algorithm::Tree { fan_in: 2 }),
    Contender::Seated(Algorithm::Tree { fan_in: 4 }),
    Contender::Seated(Algorithm::Dissemination),
    Contender::BareDissemination,
    Contender::Std,
    Contender::Hurdles,
];

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Lockstep(WaitPolicy::Adaptive) => "lockstep-adaptive",
            Contender::Lockstep(WaitPolicy::Spin) => "lockstep-spin",
            Contender::Lockstep(WaitPolicy::Park) => "lockstep-park",
            Contender::Seated(Algorithm::Tree { fan_in: 2 }) => "lockstep-tree2",
            Contender::Seated(Algorithm::Tree { fan_in: 4 }) => "lockstep-tree4",
            Contender::Seated(Algorithm::Dissemination) => "lockstep-dissemination",
            Contender::Seated(_) => "lockstep-seated",
            Contender::BareDissemination => "bare-dissemination",
            Contender::Std => "std",
            Contender::Hurdles => "hurdles",
        }
    }

    /// Runs one measurement of `threads` threads; returns the episodes timed and their time.
    fn run(self, threads: usize, length: Length) -> (u64, Duration) {
        match self {
            Contender::Lockstep(policy) => {
                let barrier = Barrier::builder(threads)
                    .wait_policy(policy)
                    .build()
                    .expect("a barrier of at least one party builds");
                time_episodes(vec![barrier; threads], length)
            }
            Contender::Seated(algorithm) => {
                let (_barrier, seats) = Barrier::builder(threads)
                    .algorithm(algorithm)
                    .build_seated()
                    .expect("a seated barrier of at least one party builds");
                time_episodes(seats, length)
            }
            Contender::BareDissemination => time_episodes(BareSeat::team(threads), length),
            Contender::Std => {
                let barrier = StdBarrier::new(threads);
                time_episodes(vec![&barrier; threads], length)
            }
            Contender::Hurdles => {
                // hurdles asserts that a handle is cloned before it is first used.
                let barrier = hurdles::Barrier::new(threads);
                time_episodes(vec![barrier; threads], length)
            }
        }
    }
}

/// One thread's handle on a barrier under test.
trait Party: Send {
    /// One barrier episode.
    fn episode(&mut self);
}

impl Party for Barrier {
    fn episode(&mut self) {
        Barrier::wait(self).expect("nothing breaks the barrier in this benchmark");
    }
}

impl Party for Seat {
    fn episode(&mut self) {
        Seat::wait(self).expect("nothing breaks the barrier in this benchmark");
    }
}

/// A flag on its own cache line (128 bytes: adjacent-line prefetch on x86-64).
#[repr(align(128))]
struct PaddedFlag(AtomicU64);

/// The dissemination barrier with nothing else: epoch flags, spin then yield, every seat leaves
/// after its last round (no action, so no completer and no release hop).
struct BareSeat {
    flags: Arc<Vec<PaddedFlag>>,
    parties: usize,
    rounds: usize,
    index: usize,
    epoch: u64,
}

impl BareSeat {
    fn team(parties: usize) -> Vec<BareSeat> {
        let rounds = parties.next_power_of_two().trailing_zeros() as usize;
        let flags: Arc<Vec<PaddedFlag>> = Arc::new(
            (0..parties * rounds)
                .map(|_| PaddedFlag(AtomicU64::new(0)))
                .collect(),
        );
        (0..parties)
            .map(|index| BareSeat {
                flags: Arc::clone(&flags),
                parties,
                rounds,
                index,
                epoch: 0,
            })
            .collect()
    }
}

impl Party for BareSeat {
    fn episode(&mut self) {
        self.epoch += 1;
        for round in 0..self.rounds {
            let partner = (self.index + (1 << round)) % self.parties;
            // Release/Acquire: the same pairing as lockstep's dissemination flags.
            self.flags[partner * self.rounds + round]
                .0
                .store(self.epoch, Ordering::Release);
            let mine = &self.flags[self.index * self.rounds + round].0;
            let mut spins = 0u32;
            // `<`, not `!=`: a partner that already passed this episode may have stored the
            // next epoch before this seat looked.
            while mine.load(Ordering::Acquire) < self.epoch {
                spins = spins.wrapping_add(1);
                if spins % 256 == 0 {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

impl Party for &StdBarrier {
    fn episode(&mut self) {
        StdBarrier::wait(self);
    }
}

impl Party for hurdles::Barrier {
    fn episode(&mut self) {
        hurdles::Barrier::wait(self);
    }
}

/// How long one run lasts.
#[derive(Clone, Copy, Debug)]
enum Length {
    /// At least this many episodes (whole blocks).
    Episodes(u64),
    /// Whole blocks until this much time has passed.
    Budget(Duration),
}

/// The main thread takes the last handle, a scoped helper each of the others; all wait once,
/// then the main thread times blocks of [`BLOCK`] episodes until `length` is reached.
fn time_episodes<P: Party>(mut parties: Vec<P>, length: Length) -> (u64, Duration) {
    let mut main = parties.pop().expect("at least one party");
    let stop = AtomicBool::new(false);
    let stop = &stop;
    thread::scope(|s| {
        for mut party in parties {
            s.spawn(move || {
                party.episode();
                loop {
                    for _ in 0..BLOCK {
                        party.episode();
                    }
                    // Relaxed: the main thread stored the flag before its last wait of this
                    // block, and the barrier makes that visible once our wait of it returns.
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            });
        }
        main.episode();
        let start = Instant::now();
        let mut episodes = 0;
        loop {
            for _ in 1..BLOCK {
                main.episode();
            }
            episodes += BLOCK;
            let over = match length {
                Length::Episodes(n) => episodes >= n,
                Length::Budget(budget) => start.elapsed() >= budget,
            };
            if over {
                // Relaxed: published by the barrier episode that follows (see the helpers).
                stop.store(true, Ordering::Relaxed);
            }
            main.episode();
            if over {
                return (episodes, start.elapsed());
            }
        }
    })
}

struct Options {
    threads: Vec<usize>,
    episodes: Option<u64>,
    reps: usize,
    budget: Duration,
    contenders: Vec<Contender>,
    json: bool,
}

/// The options, or `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        threads: DEFAULT_THREADS.to_vec(),
        episodes: None,
        reps: DEFAULT_REPS,
        budget: DEFAULT_BUDGET,
        contenders: CONTENDERS.to_vec(),
        json: false,
    };
    let (mut reps, mut budget) = (None, None);
    let mut quick = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--json" => options.json = true,
            "--quick" => quick = true,
            "--threads" => {
                options.threads = value()?
                    .split(',')
                    .map(|t| parse_positive(&arg, t))
                    .collect::<Result<_, _>>()?;
            }
            "--episodes" => options.episodes = Some(parse_positive(&arg, &value()?)? as u64),
            "--reps" => reps = Some(parse_positive(&arg, &value()?)?),
            "--budget-ms" => {
                budget = Some(Duration::from_millis(
                    parse_positive(&arg, &value()?)? as u64
                ));
            }
            "--contenders" => {
                options.contenders = value()?
                    .split(',')
                    .map(|name| {
                        CONTENDERS
                            .into_iter()
                            .find(|c| c.name() == name.trim())
                            .ok_or_else(|| format!("unknown contender `{name}`"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    options.reps = reps.unwrap_or(if quick { QUICK_REPS } else { DEFAULT_REPS });
    options.budget = budget.unwrap_or(if quick { QUICK_BUDGET } else { DEFAULT_BUDGET });
    Ok(Some(options))
}

fn parse_positive(flag: &str, text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag}: `{text}` is not a positive integer")),
    }
}

/// The results of one contender at one thread count.
struct Series {
    contender: Contender,
    threads: usize,
    /// Episodes timed, one per rep.
    episodes: Vec<u64>,
    /// ns per episode, one per rep.
    samples: Vec<f64>,
}

impl Series {
    fn median(&self) -> f64 {
        median(&self.samples)
    }

    fn median_episodes(&self) -> u64 {
        median(&self.episodes.iter().map(|&e| e as f64).collect::<Vec<_>>()) as u64
    }
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

fn main() -> ExitCode {
    let options = match common::options_or_exit("barrier_compare", USAGE, parse_args) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "barrier_compare: threads {:?}, {} reps, {} (available parallelism: {cores})",
        options.threads,
        options.reps,
        match options.episodes {
            Some(n) => format!("{n} episodes per run"),
            None => format!("~{:?} per run", options.budget),
        },
    );

    let length = match options.episodes {
        Some(n) => Length::Episodes(n),
        None => Length::Budget(options.budget),
    };
    let mut series: Vec<Series> = Vec::new();
    for &threads in &options.threads {
        for &contender in &options.contenders {
            series.push(Series {
                contender,
                threads,
                episodes: Vec::new(),
                samples: Vec::new(),
            });
        }
    }
    for rep in 0..options.reps {
        eprintln!("  rep {}/{}", rep + 1, options.reps);
        for s in &mut series {
            let (episodes, elapsed) = s.contender.run(s.threads, length);
            s.episodes.push(episodes);
            s.samples.push(elapsed.as_nanos() as f64 / episodes as f64);
        }
    }

    if options.json {
        print_json(&series, cores);
    } else {
        print_table(&series, cores);
    }
    eprintln!("barrier_compare: done in {:.1?}", started.elapsed());
    ExitCode::SUCCESS
}

/// The median of the peer `peer` at `threads`, if it was measured.
fn peer_median(series: &[Series], peer: Contender, threads: usize) -> Option<f64> {
    series
        .iter()
        .find(|s| s.contender == peer && s.threads == threads)
        .map(Series::median)
}

/// `peer / this`, formatted, or `-` when the peer was not measured.
fn ratio(peer: Option<f64>, this: f64) -> String {
    peer.map_or_else(|| "-".to_owned(), |peer| format!("{:.2}", peer / this))
}

fn print_table(series: &[Series], cores: usize) {
    println!(
        "\nns per barrier episode, median of {} interleaved reps ({cores} cores available)",
        series.first().map_or(0, |s| s.samples.len())
    );
    println!(
        "{:>7}  {:<18} {:>12} {:>12} {:>12} {:>12} {:>10} {:>12}",
        "threads",
        "contender",
        "median ns",
        "min ns",
        "max ns",
        "episodes/run",
        "std/this",
        "hurdles/this"
    );
    for s in series {
        let median = s.median();
        let min = s.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.samples.iter().copied().fold(0.0, f64::max);
        println!(
            "{:>7}  {:<18} {:>12.1} {:>12.1} {:>12.1} {:>12} {:>10} {:>12}",
            s.threads,
            s.contender.name(),
            median,
            min,
            max,
            s.median_episodes(),
            ratio(peer_median(series, Contender::Std, s.threads), median),
            ratio(peer_median(series, Contender::Hurdles, s.threads), median),
        );
    }
    println!("(std/this, hurdles/this: how many times faster than that peer; above 1 is faster)");
}

fn print_json(series: &[Series], cores: usize) {
    for s in series {
        let median = s.median();
        let samples: Vec<String> = s.samples.iter().map(|ns| format!("{ns:.1}")).collect();
        let episodes: Vec<String> = s.episodes.iter().map(u64::to_string).collect();
        let json_ratio =
            |peer: Option<f64>| peer.map_or("null".to_owned(), |p| format!("{:.4}", p / median));
        println!(
            "{{\"bench\":\"barrier_episode\",\"contender\":\"{}\",\"threads\":{},\"cores\":{cores},\
             \"episodes\":[{}],\"reps\":{},\"median_ns\":{median:.1},\"samples_ns\":[{}],\
             \"std_over_this\":{},\"hurdles_over_this\":{}}}",
            s.contender.name(),
            s.threads,
            episodes.join(","),
            s.samples.len(),
            samples.join(","),
            json_ratio(peer_median(series, Contender::Std, s.threads)),
            json_ratio(peer_median(series, Contender::Hurdles, s.threads)),
        );
    }
}
