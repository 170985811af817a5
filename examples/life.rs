//! Conway's Game of Life in lockstep on a double-buffered [`Grid2`], one phase per generation,
//! the live-cell count reduced in the same phase.
//!
//! ```text
//! cargo run --release --example life                          # 1024 x 1024, 1000 generations
//! cargo run --release --example life -- --size 2048 --generations 300 --threads 2
//! cargo run --release --example life -- --quick               # CI: 128 x 128, 200 generations
//! ```
//!
//! The board is a **torus**: the top row's upper neighbours are the bottom row, the left
//! column's left neighbours the right column, so every cell has eight neighbours and the
//! pattern never falls off an edge. Cells are `u8`s, 1 alive and 0 dead; a cell is alive in
//! the next generation if it has 3 live neighbours, or 2 and is alive now (B3/S23).
//!
//! Two runs, each checking its own answer:
//!
//! - **A glider with a known answer.** A glider moves one cell diagonally every 4 generations,
//!   so on a 32 x 32 torus it is back where it started after 4 x 32 generations, with 5 live
//!   cells in every generation in between.
//! - **A random soup.** The board is filled from a fixed-seed generator (splitmix64, about 3 in
//!   8 cells alive), then stepped `--generations` times on the pool and again serially with the
//!   same row kernel; every generation's live count, the final board and its FNV-1a checksum
//!   must agree, whatever `--threads`.
//!
//! Prints the live-cell count, the checksum, the time and the cell updates per second of both
//! runs. Exits with 0 when every check passes, 1 when one fails, 2 on a bad flag.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::{reduce, Grid2, PhasePool};

#[path = "common/mod.rs"]
mod common;

const DEFAULT_SIZE: usize = 1024;
const DEFAULT_GENERATIONS: usize = 1000;
const QUICK_SIZE: usize = 128;
const QUICK_GENERATIONS: usize = 200;
/// The seed of the soup: any fixed value; this one is the first 64 bits of pi's fraction.
const SEED: u64 = 0x243F_6A88_85A3_08D3;
/// The glider check's torus side (the glider needs `4 * GLIDER_BOARD` generations to return).
const GLIDER_BOARD: usize = 32;

/// Conway's Game of Life on a torus, stepped on a phase-pool and checked against a serial run.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Cells per side of the square board [default: 1024; 128 with --quick]
    #[arg(long, value_parser = common::at_least(3))]
    size: Option<usize>,

    /// Generations to step [default: 1000; 200 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    generations: Option<usize>,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// CI mode: a small board, few generations
    #[arg(long)]
    quick: bool,
}

/// Computes row `i` of the next generation of the torus `cur` (`cols` columns) into
/// `next_row`; returns the row's live cells.
fn life_row(cur: &[u8], cols: usize, i: usize, next_row: &mut [u8]) -> u64 {
    let rows = cur.len() / cols;
    let row_at = |r: usize| &cur[r * cols..(r + 1) * cols];
    let (up, row, down) = (
        row_at((i + rows - 1) % rows),
        row_at(i),
        row_at((i + 1) % rows),
    );
    // Live cells in column j of the three rows. A cell's neighbours are the sums of its
    // column and the two beside it, less the cell itself; the three sums slide along the row,
    // wrapping around at both ends.
    let column = |j: usize| up[j] + row[j] + down[j];
    let (mut west, mut centre) = (column(cols - 1), column(0));
    let mut live = 0;
    for (j, next) in next_row.iter_mut().enumerate() {
        let east = column(if j + 1 == cols { 0 } else { j + 1 });
        let neighbours = west + centre + east - row[j];
        let alive = neighbours == 3 || (neighbours == 2 && row[j] == 1);
        *next = u8::from(alive);
        live += u64::from(alive);
        (west, centre) = (centre, east);
    }
    live
}

/// Steps `board` `generations` times on the pool, one phase per generation; returns the live
/// count after each generation.
fn run_pooled(pool: &PhasePool, board: &mut Grid2<u8>, generations: usize) -> Vec<u64> {
    (0..generations)
        .map(|_| {
            board.step_reduce(
                pool,
                0,
                |cur, i, next_row| life_row(cur.as_slice(), cur.cols(), i, next_row),
                reduce::sum,
            )
        })
        .collect()
}

/// The same on one thread with two plain vectors; returns the live counts and the final board.
fn run_serial(initial: &[u8], cols: usize, generations: usize) -> (Vec<u64>, Vec<u8>) {
    let mut cur = initial.to_vec();
    let mut next = vec![0; cur.len()];
    let counts = (0..generations)
        .map(|_| {
            let live = next
                .chunks_mut(cols)
                .enumerate()
                .map(|(i, next_row)| life_row(&cur, cols, i, next_row))
                .fold(0, reduce::sum);
            std::mem::swap(&mut cur, &mut next);
            live
        })
        .collect();
    (counts, cur)
}

/// splitmix64: a tiny, well-mixed generator, so the soup is the same on every machine.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A `size x size` soup: each cell alive with probability 3/8.
fn soup(size: usize) -> Vec<u8> {
    let mut state = SEED;
    (0..size * size)
        .map(|_| u8::from(splitmix64(&mut state) >> 61 < 3))
        .collect()
}

/// FNV-1a (64-bit) of the board: a short fingerprint to compare runs by eye.
fn checksum(board: &[u8]) -> u64 {
    board.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &cell| {
        (hash ^ u64::from(cell)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The glider on a torus returns to its start after `4 * side` generations, 5 cells alive
/// throughout.
fn check_glider(pool: &PhasePool) -> bool {
    const GLIDER: [(usize, usize); 5] = [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)];
    let side = GLIDER_BOARD;
    let start = |i: usize, j: usize| u8::from(GLIDER.contains(&(i, j)));
    let mut board = Grid2::new(pool, side, side, start);
    let initial = board.current().as_slice().to_vec();
    let counts = run_pooled(pool, &mut board, 4 * side);
    let home = board.current().as_slice() == initial.as_slice();
    let always_five = counts.iter().all(|&c| c == 5);
    if home && always_five {
        println!(
            "check: a glider on a {side} x {side} torus is back home after {} generations, \
             5 cells alive throughout",
            4 * side
        );
        true
    } else {
        eprintln!(
            "check FAILED: glider back home: {home}; live counts all 5: {always_five} \
             (first counts {:?})",
            &counts[..counts.len().min(8)]
        );
        false
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let size = common::or_default(args.size, args.quick, DEFAULT_SIZE, QUICK_SIZE);
    let generations = common::or_default(
        args.generations,
        args.quick,
        DEFAULT_GENERATIONS,
        QUICK_GENERATIONS,
    );
    let pool = match common::build_pool(args.threads) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("life: cannot start the worker pool: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut ok = check_glider(&pool);

    let initial = soup(size);
    let initial_live: u64 = initial.iter().map(|&c| u64::from(c)).sum();
    println!(
        "life: {size} x {size} torus, random soup ({initial_live} cells alive), \
         {generations} generations, {} threads",
        pool.num_threads()
    );
    let mut board = Grid2::from_slice(&pool, size, size, &initial);
    let start = Instant::now();
    let counts = run_pooled(&pool, &mut board, generations);
    let pooled_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (serial_counts, serial_board) = run_serial(&initial, size, generations);
    let serial_seconds = start.elapsed().as_secs_f64();

    let final_board = board.into_current();
    let (hash, serial_hash) = (checksum(&final_board), checksum(&serial_board));
    let updates = (size * size * generations) as f64;
    println!(
        "after {generations} generations: {} cells alive, checksum {hash:016x}",
        counts.last().copied().unwrap_or(initial_live)
    );
    println!(
        "pool {pooled_seconds:.3} s ({:.0} Mcell/s), serial {serial_seconds:.3} s ({:.0} Mcell/s)",
        updates / pooled_seconds / 1e6,
        updates / serial_seconds / 1e6
    );

    if counts == serial_counts && final_board == serial_board && hash == serial_hash {
        println!(
            "check: pool result equals the serial run (every generation's live count, the \
             board, checksum {serial_hash:016x})"
        );
    } else {
        let first_difference = counts.iter().zip(&serial_counts).position(|(a, b)| a != b);
        eprintln!(
            "check FAILED: checksums {hash:016x} (pool) and {serial_hash:016x} (serial); first \
             generation whose live count differs: {first_difference:?}"
        );
        ok = false;
    }

    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("life: a check failed");
        ExitCode::FAILURE
    }
}
