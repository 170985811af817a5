//! Barrier episode latency, shared by `barrier_compare` and `compare` (included with
//! `#[path = "common/barriers.rs"] mod barriers;`, next to `common/stats.rs` as `stats`):
//! the contenders, the timed team of threads, and the table and JSON output.
//! See `barrier_compare.rs` for the method.
#![allow(dead_code, reason = "each example uses a subset of these items")]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Barrier as StdBarrier;
use std::thread;
use std::time::{Duration, Instant};

use lockstep::barrier::{Algorithm, Arrival, Barrier, BrokenBarrierError, Seat, WaitPolicy};

use crate::stats::{json_ratio, median, ratio};

/// Episodes between two checks of the clock and the stop flag: the clock read (~25 ns) then adds
/// well under a nanosecond per episode, and even the slowest contender (lockstep-spin
/// oversubscribed, ~0.4 ms an episode) overshoots a default budget by at most a tenth.
pub const BLOCK: u64 = 64;

/// A barrier under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// The anonymous (central) barrier under a wait policy.
    Lockstep(WaitPolicy),
    /// A seated barrier (adaptive waiting), one seat per thread.
    Seated(Algorithm),
    /// A `radix`-way dissemination barrier without Python's semantics (radix 4 is lockstep's
    /// algorithm, so the difference is what the semantics cost; radix 2 is the classic one).
    BareDissemination {
        radix: usize,
    },
    /// No barrier at all: every thread yields once per "episode". With more threads than
    /// cores this is the floor any barrier pays, since every thread must be switched in to
    /// arrive: (threads per core) context switches per episode.
    YieldFloor,
    Std,
    Hurdles,
    /// `arrive()` then `Arrival::wait()` on the anonymous barrier (adaptive): what split-phase
    /// waiting costs beside `wait()`.
    ArriveWait,
    /// The same through tree seats (fan-in 2).
    SeatedArriveWait,
}

pub const CONTENDERS: [Contender; 13] = [
    Contender::Lockstep(WaitPolicy::Adaptive),
    Contender::ArriveWait,
    Contender::SeatedArriveWait,
    Contender::Lockstep(WaitPolicy::Spin),
    Contender::Lockstep(WaitPolicy::Park),
    Contender::Seated(Algorithm::Tree { fan_in: 2 }),
    Contender::Seated(Algorithm::Tree { fan_in: 4 }),
    Contender::Seated(Algorithm::Dissemination),
    Contender::BareDissemination { radix: 4 },
    Contender::BareDissemination { radix: 2 },
    Contender::YieldFloor,
    Contender::Std,
    Contender::Hurdles,
];

impl Contender {
    pub fn name(self) -> &'static str {
        match self {
            Contender::Lockstep(WaitPolicy::Adaptive) => "lockstep-adaptive",
            Contender::Lockstep(WaitPolicy::Spin) => "lockstep-spin",
            Contender::Lockstep(WaitPolicy::Park) => "lockstep-park",
            Contender::Lockstep(_) => "lockstep",
            Contender::Seated(Algorithm::Tree { fan_in: 2 }) => "lockstep-tree2",
            Contender::Seated(Algorithm::Tree { fan_in: 4 }) => "lockstep-tree4",
            Contender::Seated(Algorithm::Dissemination) => "lockstep-dissemination",
            Contender::Seated(_) => "lockstep-seated",
            Contender::BareDissemination { radix: 2 } => "bare-dissemination2",
            Contender::BareDissemination { .. } => "bare-dissemination",
            Contender::YieldFloor => "yield-floor",
            Contender::Std => "std",
            Contender::Hurdles => "hurdles",
            Contender::ArriveWait => "lockstep-arrive-wait",
            Contender::SeatedArriveWait => "lockstep-tree2-arrive-wait",
        }
    }

    /// Runs one measurement of `threads` threads; returns the episodes timed and their time.
    /// With `pin`, see [`time_episodes`].
    pub fn run(self, threads: usize, length: Length, pin: bool) -> (u64, Duration) {
        match self {
            Contender::Lockstep(policy) => {
                let barrier = Barrier::builder(threads)
                    .wait_policy(policy)
                    .build()
                    .expect("a barrier of at least one party builds");
                time_episodes(vec![barrier; threads], length, pin)
            }
            Contender::Seated(algorithm) => {
                let (_barrier, seats) = Barrier::builder(threads)
                    .algorithm(algorithm)
                    .build_seated()
                    .expect("a seated barrier of at least one party builds");
                time_episodes(seats, length, pin)
            }
            Contender::BareDissemination { radix } => {
                time_episodes(BareSeat::team(threads, radix), length, pin)
            }
            Contender::YieldFloor => time_episodes(vec![Yielder; threads], length, pin),
            Contender::Std => {
                let barrier = StdBarrier::new(threads);
                time_episodes(vec![&barrier; threads], length, pin)
            }
            Contender::ArriveWait => {
                let barrier = Barrier::new(threads);
                time_episodes(vec![Splitting(barrier); threads], length, pin)
            }
            Contender::SeatedArriveWait => {
                let (_barrier, seats) = Barrier::builder(threads)
                    .algorithm(Algorithm::Tree { fan_in: 2 })
                    .build_seated()
                    .expect("a seated barrier of at least one party builds");
                time_episodes(seats.into_iter().map(SplittingSeat).collect(), length, pin)
            }
            Contender::Hurdles => {
                // hurdles asserts that a handle is cloned before it is first used.
                let barrier = hurdles::Barrier::new(threads);
                time_episodes(vec![barrier; threads], length, pin)
            }
        }
    }
}

/// One thread's handle on a barrier under test.
pub trait Party: Send {
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

/// A handle whose episode is `arrive()` then `wait()`.
#[derive(Clone)]
struct Splitting(Barrier);

impl Party for Splitting {
    fn episode(&mut self) {
        wait_arrival(self.0.arrive());
    }
}

/// A seat whose episode is `arrive()` then `wait()`.
struct SplittingSeat(Seat);

impl Party for SplittingSeat {
    fn episode(&mut self) {
        wait_arrival(self.0.arrive());
    }
}

fn wait_arrival(arrival: Result<Arrival<'_>, BrokenBarrierError>) {
    arrival
        .and_then(Arrival::wait)
        .expect("nothing breaks the barrier in this benchmark");
}

/// A flag on its own cache line (128 bytes: adjacent-line prefetch on x86-64).
#[repr(align(128))]
struct PaddedFlag(AtomicU64);

/// The `radix`-way dissemination barrier with nothing else: epoch flags, spin then yield,
/// every seat leaves after its last round (no action, so no completer and no release hop).
/// The rounds are lockstep's (see `barrier-core/src/algo/dissemination.rs`): in round `r` seat
/// `s` signals `s + j * radix^r` for `j` in `1..radix`, the distances below `parties`.
pub struct BareSeat {
    /// `flags[seat][round][j - 1]`, flattened.
    flags: Arc<Vec<PaddedFlag>>,
    parties: usize,
    radix: usize,
    rounds: usize,
    index: usize,
    epoch: u64,
}

impl BareSeat {
    pub fn team(parties: usize, radix: usize) -> Vec<BareSeat> {
        let mut rounds = 0;
        let mut reach = 1;
        while reach < parties {
            reach *= radix;
            rounds += 1;
        }
        let flags: Arc<Vec<PaddedFlag>> = Arc::new(
            (0..parties * rounds * (radix - 1))
                .map(|_| PaddedFlag(AtomicU64::new(0)))
                .collect(),
        );
        (0..parties)
            .map(|index| BareSeat {
                flags: Arc::clone(&flags),
                parties,
                radix,
                rounds,
                index,
                epoch: 0,
            })
            .collect()
    }

    fn flag(&self, seat: usize, round: usize, j: usize) -> &AtomicU64 {
        &self.flags[(seat * self.rounds + round) * (self.radix - 1) + j - 1].0
    }
}

impl Party for BareSeat {
    fn episode(&mut self) {
        self.epoch += 1;
        let mut stride = 1;
        for round in 0..self.rounds {
            let partners = (self.radix - 1).min((self.parties - 1) / stride);
            for j in 1..=partners {
                let partner = (self.index + j * stride) % self.parties;
                // Release/Acquire: the same pairing as lockstep's dissemination flags.
                self.flag(partner, round, j)
                    .store(self.epoch, Ordering::Release);
            }
            for j in 1..=partners {
                let mine = self.flag(self.index, round, j);
                let mut spins = 0u32;
                // `<`, not `!=`: a partner that already passed this episode may have stored
                // the next epoch before this seat looked.
                while mine.load(Ordering::Acquire) < self.epoch {
                    spins = spins.wrapping_add(1);
                    if spins % 256 == 0 {
                        thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
            stride *= self.radix;
        }
    }
}

/// A party of [`Contender::YieldFloor`].
#[derive(Clone, Copy)]
pub struct Yielder;

impl Party for Yielder {
    fn episode(&mut self) {
        thread::yield_now();
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
pub enum Length {
    /// At least this many episodes (whole blocks).
    Episodes(u64),
    /// Whole blocks until this much time has passed.
    Budget(Duration),
}

/// The last handle is the timer, which times blocks of [`BLOCK`] episodes until `length` is
/// reached; all wait once first. Unpinned, the calling thread is the timer and a scoped thread
/// takes each other handle (fresh threads spawned while the caller blocks in `join` tend to
/// start on one core, a placement that a short run may never leave). With `pin`, every handle
/// gets a scoped thread, handle `i` pinned to usable core `i % cores` (wrapping around when
/// threads outnumber cores), so the calling thread is never pinned.
pub fn time_episodes<P: Party>(mut parties: Vec<P>, length: Length, pin: bool) -> (u64, Duration) {
    let cores = if pin {
        core_affinity::get_core_ids().unwrap_or_default()
    } else {
        Vec::new()
    };
    let pin_to = |i: usize| {
        if !cores.is_empty() {
            // Best effort: an unpinned thread still measures.
            core_affinity::set_for_current(cores[i % cores.len()]);
        }
    };
    let stop = AtomicBool::new(false);
    let stop = &stop;
    let pin_to = &pin_to;
    let timer = parties.len() - 1;
    let mut main = if pin { None } else { parties.pop() };
    thread::scope(|s| {
        let handles: Vec<_> = parties
            .into_iter()
            .enumerate()
            .map(|(i, mut party)| {
                s.spawn(move || {
                    pin_to(i);
                    if i == timer {
                        Some(time_blocks(&mut party, length, stop))
                    } else {
                        follow_blocks(&mut party, stop);
                        None
                    }
                })
            })
            .collect();
        let mine = main.as_mut().map(|party| time_blocks(party, length, stop));
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        mine.or_else(|| results.into_iter().flatten().next())
            .expect("the timer reports")
    })
}

/// A helper: episodes in blocks until the timer's flag says stop.
fn follow_blocks<P: Party>(party: &mut P, stop: &AtomicBool) {
    party.episode();
    loop {
        for _ in 0..BLOCK {
            party.episode();
        }
        // Relaxed: the timer stored the flag before its last wait of this block, and the
        // barrier makes that visible once our wait of it returns (without a barrier, as for
        // the yield floor, the store still becomes visible within a few blocks).
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
}

/// The timer: times whole blocks until `length` is reached, then tells the others to stop.
fn time_blocks<P: Party>(party: &mut P, length: Length, stop: &AtomicBool) -> (u64, Duration) {
    party.episode();
    let start = Instant::now();
    let mut episodes = 0;
    loop {
        for _ in 1..BLOCK {
            party.episode();
        }
        episodes += BLOCK;
        let over = match length {
            Length::Episodes(n) => episodes >= n,
            Length::Budget(budget) => start.elapsed() >= budget,
        };
        if over {
            // Relaxed: published by the barrier episode that follows (see `follow_blocks`).
            stop.store(true, Ordering::Relaxed);
        }
        party.episode();
        if over {
            return (episodes, start.elapsed());
        }
    }
}

/// The results of one contender at one thread count.
pub struct Series {
    pub contender: Contender,
    pub threads: usize,
    /// Episodes timed, one per rep.
    pub episodes: Vec<u64>,
    /// ns per episode, one per rep.
    pub samples: Vec<f64>,
}

impl Series {
    pub fn median(&self) -> f64 {
        median(&self.samples)
    }

    pub fn median_episodes(&self) -> u64 {
        median(&self.episodes.iter().map(|&e| e as f64).collect::<Vec<_>>()) as u64
    }
}

/// Measures every contender at every thread count, `reps` times interleaved (rep 1 of every
/// series, then rep 2, ...), printing the progress on standard error.
pub fn measure(
    threads: &[usize],
    contenders: &[Contender],
    reps: usize,
    length: Length,
    pin: bool,
) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for &threads in threads {
        for &contender in contenders {
            series.push(Series {
                contender,
                threads,
                episodes: Vec::new(),
                samples: Vec::new(),
            });
        }
    }
    for rep in 0..reps {
        eprintln!("  rep {}/{}", rep + 1, reps);
        for s in &mut series {
            let (episodes, elapsed) = s.contender.run(s.threads, length, pin);
            s.episodes.push(episodes);
            s.samples.push(elapsed.as_nanos() as f64 / episodes as f64);
        }
    }
    series
}

/// The median of the peer `peer` at `threads`, if it was measured.
pub fn peer_median(series: &[Series], peer: Contender, threads: usize) -> Option<f64> {
    series
        .iter()
        .find(|s| s.contender == peer && s.threads == threads)
        .map(Series::median)
}

/// The table: one row per series, with the ratios to std and hurdles.
pub fn print_table(series: &[Series], cores: usize) {
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

/// One JSON object per series, on its own line.
pub fn print_json(series: &[Series], cores: usize) {
    for s in series {
        let median = s.median();
        let samples: Vec<String> = s.samples.iter().map(|ns| format!("{ns:.1}")).collect();
        let episodes: Vec<String> = s.episodes.iter().map(u64::to_string).collect();
        println!(
            "{{\"bench\":\"barrier_episode\",\"contender\":\"{}\",\"threads\":{},\"cores\":{cores},\
             \"episodes\":[{}],\"reps\":{},\"median_ns\":{median:.1},\"samples_ns\":[{}],\
             \"std_over_this\":{},\"hurdles_over_this\":{}}}",
            s.contender.name(),
            s.threads,
            episodes.join(","),
            s.samples.len(),
            samples.join(","),
            json_ratio(peer_median(series, Contender::Std, s.threads), median),
            json_ratio(peer_median(series, Contender::Hurdles, s.threads), median),
        );
    }
}
