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
//! all would take either minutes or nothing): the team works in blocks of [`barriers::BLOCK`] episodes,
//! and before the last wait of a block the main thread decides whether the run is over and
//! publishes that in a flag the others read after the block. The barrier's own
//! happens-before edge carries the flag, so it costs one relaxed load per block.
//! `--episodes N` fixes the length instead (rounded up to a multiple of [`barriers::BLOCK`]).
//!
//! Repetitions are interleaved (rep 1 of every contender, then rep 2, ...) so a slow phase of a
//! shared machine hits every contender alike; the table reports each contender's median and
//! the ratios `std / this` and `hurdles / this` (above 1: this contender is faster). Nothing is
//! pinned unless `--pin` asks for it (every contender alike: thread `i` on core `i % cores`).

#[path = "common/barriers.rs"]
mod barriers;
#[path = "common/mod.rs"]
mod common;
#[path = "common/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use barriers::{Contender, Length, CONTENDERS};
use clap::Parser;

const DEFAULT_THREADS: &[usize] = &[2, 8];
const DEFAULT_REPS: usize = 5;
/// Per timed run: 5 contenders x 2 thread counts x 5 reps x 250 ms is ~12.5 s.
const DEFAULT_BUDGET: Duration = Duration::from_millis(250);
/// `--quick`: 3 reps x 10 runs x 15 ms: about half a second.
const QUICK_BUDGET: Duration = Duration::from_millis(15);
const QUICK_REPS: usize = 3;

/// Nanoseconds per barrier episode: lockstep's barriers under every wait policy and algorithm
/// against std's, hurdles' and a bare dissemination barrier, in one process, interleaved.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Thread counts, comma-separated [default: 2,8]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = common::at_least(1)
    )]
    threads: Option<Vec<usize>>,

    /// Episodes per timed run for every contender, rounded up to a multiple of 64
    /// [default: as many as fit in --budget-ms]
    #[arg(long, value_name = "N", value_parser = common::at_least(1))]
    episodes: Option<usize>,

    /// Interleaved repetitions; the median is reported [default: 5; 3 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,

    /// Target duration of one timed run, in milliseconds [default: 250; 15 with --quick]
    #[arg(long, value_name = "MS", value_parser = common::at_least(1))]
    budget_ms: Option<usize>,

    /// Contenders to run, comma-separated, of lockstep-adaptive, lockstep-spin, lockstep-park,
    /// lockstep-tree2, lockstep-tree4, lockstep-dissemination, bare-dissemination,
    /// bare-dissemination2, yield-floor, std, hurdles, lockstep-arrive-wait,
    /// lockstep-tree2-arrive-wait [default: all]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = parse_contender
    )]
    contenders: Option<Vec<Contender>>,

    /// Pin every contender's thread i to core i % cores [default: unpinned]
    #[arg(long)]
    pin: bool,

    /// One JSON object per line on stdout instead of the table
    #[arg(long)]
    json: bool,

    /// CI mode: a smoke run of about a second, 15 ms per run and 3 reps
    #[arg(long)]
    quick: bool,
}

/// A contender by its name in the table.
fn parse_contender(name: &str) -> Result<Contender, String> {
    CONTENDERS
        .into_iter()
        .find(|c| c.name() == name.trim())
        .ok_or_else(|| format!("unknown contender `{name}`"))
}

struct Options {
    threads: Vec<usize>,
    episodes: Option<u64>,
    reps: usize,
    budget: Duration,
    contenders: Vec<Contender>,
    pin: bool,
    json: bool,
}

impl Options {
    /// The options of `args`, defaults filled in.
    fn new(args: Args) -> Options {
        let budget = args.budget_ms.map(|ms| Duration::from_millis(ms as u64));
        Options {
            threads: args.threads.unwrap_or_else(|| DEFAULT_THREADS.to_vec()),
            episodes: args.episodes.map(|n| n as u64),
            reps: common::or_default(args.reps, args.quick, DEFAULT_REPS, QUICK_REPS),
            budget: common::or_default(budget, args.quick, DEFAULT_BUDGET, QUICK_BUDGET),
            contenders: args.contenders.unwrap_or_else(|| CONTENDERS.to_vec()),
            pin: args.pin,
            json: args.json,
        }
    }
}

fn main() -> ExitCode {
    let options = Options::new(Args::parse());
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "barrier_compare: threads {:?}, {} reps, {}, {} (available parallelism: {cores})",
        options.threads,
        options.reps,
        match options.episodes {
            Some(n) => format!("{n} episodes per run"),
            None => format!("~{:?} per run", options.budget),
        },
        if options.pin { "pinned" } else { "unpinned" },
    );

    let length = match options.episodes {
        Some(n) => Length::Episodes(n),
        None => Length::Budget(options.budget),
    };
    let series = barriers::measure(
        &options.threads,
        &options.contenders,
        options.reps,
        length,
        options.pin,
    );

    if options.json {
        barriers::print_json(&series, cores);
    } else {
        barriers::print_table(&series, cores);
    }
    eprintln!("barrier_compare: done in {:.1?}", started.elapsed());
    ExitCode::SUCCESS
}
