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
use stats::parse_positive;

const DEFAULT_THREADS: &[usize] = &[2, 8];
const DEFAULT_REPS: usize = 5;
/// Per timed run: 5 contenders x 2 thread counts x 5 reps x 250 ms is ~12.5 s.
const DEFAULT_BUDGET: Duration = Duration::from_millis(250);
/// `--quick`: 3 reps x 10 runs x 15 ms: about half a second.
const QUICK_BUDGET: Duration = Duration::from_millis(15);
const QUICK_REPS: usize = 3;

const USAGE: &str = "\
usage: barrier_compare [--threads 2,8] [--episodes N] [--reps R] [--budget-ms MS]
                       [--contenders LIST] [--pin] [--json] [--quick] [--help]

  --threads LIST     comma-separated thread counts (default 2,8)
  --episodes N       episodes per timed run for every contender, rounded up to a multiple
                     of 64 (default: as many as fit in --budget-ms)
  --reps R           interleaved repetitions; the median is reported (default 5)
  --budget-ms MS     target duration of one timed run (default 250)
  --contenders LIST  subset of lockstep-adaptive, lockstep-spin, lockstep-park,
                     lockstep-tree2, lockstep-tree4, lockstep-dissemination,
                     bare-dissemination, bare-dissemination2, yield-floor, std,
                     hurdles (default: all)
  --pin              pin every contender's thread i to core i % cores (default: unpinned)
  --json             one JSON object per line on stdout instead of the table
  --quick            a ~1 s smoke run: 15 ms per run, 3 reps
  --help             print this message";

struct Options {
    threads: Vec<usize>,
    episodes: Option<u64>,
    reps: usize,
    budget: Duration,
    contenders: Vec<Contender>,
    pin: bool,
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
        pin: false,
        json: false,
    };
    let (mut reps, mut budget) = (None, None);
    let mut quick = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--json" => options.json = true,
            "--pin" => options.pin = true,
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

fn main() -> ExitCode {
    let options = match common::options_or_exit("barrier_compare", USAGE, parse_args) {
        Ok(options) => options,
        Err(code) => return code,
    };
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
