//! A bulk-synchronous (BSP) sample sort on the pool: [`run_bsp`](PhasePool::run_bsp) with
//! BSPlib-style messages ([`Ctx::send`], [`Ctx::sync`], [`Ctx::messages`]).
//!
//! ```text
//! cargo run --release --example bsp_sort                          # 4,000,000 keys
//! cargo run --release --example bsp_sort -- --keys 20000000 --threads 4 --oversample 64
//! cargo run --release --example bsp_sort -- --quick               # CI smoke: 200,000 keys
//! ```
//!
//! Every worker of `p` runs the same program, in three supersteps:
//!
//! 1. sort its block of the input locally, pick `s` regular samples from it (`s` is the
//!    oversampling factor) and send them to worker 0; `sync`;
//! 2. worker 0 merges the `p * s` samples and picks `p - 1` splitters, which
//!    [`broadcast`](Ctx::broadcast) hands to every worker; each worker cuts its sorted block at
//!    the splitters and sends piece `k` to worker `k`; `sync`;
//! 3. each worker merges the `p` sorted runs it received (ordered by sender, so worker `k`
//!    holds the keys between splitters `k - 1` and `k`), and a
//!    [`reduce`](Ctx::reduce) counts the keys, which must add up to the input's.
//!
//! The concatenation of the workers' results, in worker order, is the sorted input. The program
//! checks that it is sorted and equals a serial `sort_unstable` of the input (so the multiset
//! of keys is unchanged). It exits with status 1 if a check fails and 2 on bad arguments.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::Ctx;

/// A BSP sample sort on the pool (`run_bsp` with `send`, `sync` and `messages`), checked
/// against a serial sort of the same keys.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Keys to sort, drawn from 0..N so about a third repeat [default: 4000000; 200000 with
    /// --quick]
    #[arg(long, value_name = "N", value_parser = common::at_least(1))]
    keys: Option<usize>,

    /// Samples per worker for the splitters
    #[arg(long, value_name = "S", default_value_t = 32, value_parser = common::at_least(1))]
    oversample: usize,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Seed of the keys
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// CI mode: a small, fast run of 200000 keys
    #[arg(long)]
    quick: bool,
}

/// splitmix64 keys in `0..n`.
fn input_keys(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n as u64
        })
        .collect()
}

/// Merges sorted runs into one sorted vector: the standard library's stable sort finds the
/// runs already in order and merges them (`O(len * log(runs))`), which beats a heap-based
/// k-way merge.
fn merge_runs(runs: &[Vec<u64>]) -> Vec<u64> {
    let mut merged = runs.concat();
    merged.sort();
    merged
}

/// `count` regular samples of the sorted `keys` (fewer if it has fewer keys).
fn regular_samples(keys: &[u64], count: usize) -> Vec<u64> {
    let count = count.min(keys.len());
    (1..=count)
        .map(|k| keys[k * keys.len() / (count + 1)])
        .collect()
}

/// One worker's part of the sample sort; returns its bucket, sorted.
fn sample_sort(ctx: &mut Ctx<'_, Vec<u64>>, input: &[u64], oversample: usize) -> Vec<u64> {
    let p = ctx.num_threads();

    // Superstep 1: local sort, samples to worker 0.
    let mut local = input[ctx.block(input.len())].to_vec();
    local.sort_unstable();
    ctx.send(0, regular_samples(&local, oversample));
    ctx.sync();

    // Superstep 2: worker 0 picks the splitters, everyone gets them; route the keys.
    let splitters = if ctx.index() == 0 {
        let samples = merge_runs(ctx.messages());
        (1..p)
            .filter_map(|k| samples.get(k * samples.len() / p).copied())
            .collect()
    } else {
        Vec::new()
    };
    let splitters: Vec<u64> = ctx.broadcast(0, splitters);
    let mut rest = &local[..];
    for (to, &splitter) in splitters.iter().enumerate() {
        // Keys equal to a splitter go to the bucket above it.
        let cut = rest.partition_point(|&key| key < splitter);
        ctx.send(to, rest[..cut].to_vec());
        rest = &rest[cut..];
    }
    ctx.send(splitters.len(), rest.to_vec());
    drop(local);
    ctx.sync();

    // Superstep 3: merge the runs received; count the keys.
    let bucket = merge_runs(ctx.messages());
    let total = ctx.reduce(bucket.len(), |a, b| a + b);
    assert_eq!(total, input.len(), "the buckets hold every key once");
    bucket
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pool = match common::pool_or_exit("bsp_sort", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let n = common::or_default(args.keys, args.quick, 4_000_000, 200_000);
    let Args {
        oversample, seed, ..
    } = args;
    println!(
        "bsp_sort: {n} keys in 0..{n}, {} workers, {oversample} samples per worker, seed {seed}",
        pool.num_threads()
    );
    let input = input_keys(n, seed);

    let start = Instant::now();
    let buckets = pool.run_bsp(|ctx| sample_sort(ctx, &input, oversample));
    let pooled_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut reference = input.clone();
    reference.sort_unstable();
    let serial_s = start.elapsed().as_secs_f64();

    let sizes: Vec<usize> = buckets.iter().map(Vec::len).collect();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let balance = largest as f64 * buckets.len() as f64 / n as f64;
    println!("bucket sizes: {sizes:?} (largest / mean = {balance:.3})");
    println!(
        "pool (BSP sample sort): {pooled_s:.3} s ({:.1} M keys/s)\nserial sort_unstable:   \
         {serial_s:.3} s ({:.1} M keys/s), speedup {:.2}x",
        n as f64 / pooled_s / 1e6,
        n as f64 / serial_s / 1e6,
        serial_s / pooled_s
    );

    let sorted: Vec<u64> = buckets.concat();
    let mut ok = true;
    match sorted.windows(2).position(|w| w[0] > w[1]) {
        None => println!("check: the output is sorted: ok"),
        Some(at) => {
            println!(
                "check: output not sorted at {at}: {} > {}: FAILED",
                sorted[at],
                sorted[at + 1]
            );
            ok = false;
        }
    }
    if sorted == reference {
        println!("check: the output equals the serial sort of the input (same multiset): ok");
    } else {
        println!(
            "check: the output differs from the serial sort ({} keys vs {}): FAILED",
            sorted.len(),
            reference.len()
        );
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
