//! Overlapping the barrier with work (split-phase `ctx.arrive()`): a 5-point Jacobi sweep in
//! one SPMD run, each worker computing the rows its neighbours need first, arriving, computing
//! its interior, then waiting; against the same run with a plain `ctx.sync()` and against one
//! `Grid2` phase per sweep.
//!
//! ```text
//! cargo run --release --example overlap                            # n = 64,128,256,512
//! cargo run --release --example overlap -- --sizes 96,1024 --threads 2,16 --reps 7
//! cargo run --release --example overlap -- --quick                 # CI smoke
//! ```
//!
//! Each worker owns a block of interior rows ([`Ctx::block`]) in its own buffers (first touched
//! by it), with a halo row above and below. A step:
//!
//! - `overlap`: sweep the block's first and last rows, publish them, `arrive`, sweep the rows
//!   between, `wait`, copy the neighbours' published rows into the halos;
//! - `sync`: sweep every row, publish the edge rows, `sync`, copy the halos;
//! - `phase`: one [`Grid2::step`] (a phase issued from the caller, the whole grid shared).
//!
//! The published rows are double-buffered by step parity: a worker writes parity `s % 2` again
//! at step `s + 2`, after the barrier of step `s + 1`, which its neighbours reach only after they
//! copied step `s`'s rows. Every version computes each point as `0.2 * (c + w + e + n + s)` in
//! that order, so all must be bitwise equal to a serial sweep; the program exits with 1 if one
//! is not, 2 on a bad flag. MLUP/s is `(n - 2)^2 * steps / seconds`, the median of interleaved
//! samples; each sample runs `--steps` steps (default: enough for about 20 ms serially).
//!
//! [`Ctx::block`]: lockstep::pool::Ctx::block
//! [`Grid2::step`]: lockstep::pool::Grid2::step

#[path = "common/mod.rs"]
mod common;
#[path = "common/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::{Ctx, Grid2, PhasePool};

#[derive(Parser, Debug)]
#[command(about = "Jacobi with the barrier overlapped by interior work (ctx.arrive)")]
struct Args {
    /// Grid sizes (points per side, boundary included), comma-separated [default:
    /// 64,128,256,512; 32,64 with --quick].
    #[arg(long, value_delimiter = ',', value_parser = common::at_least(3))]
    sizes: Option<Vec<usize>>,
    /// Thread counts, comma-separated (default: the available parallelism).
    #[arg(long, value_delimiter = ',', value_parser = common::at_least(1))]
    threads: Option<Vec<usize>>,
    /// Steps per sample [default: about 20 ms of serial work; 20 with --quick].
    #[arg(long, value_parser = common::at_least(1))]
    steps: Option<usize>,
    /// Interleaved samples per version [default: 7; 3 with --quick].
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,
    /// CI smoke: small grids, few steps.
    #[arg(long)]
    quick: bool,
}

/// The versions, in table order.
const VERSIONS: [&str; 3] = ["overlap", "sync", "phase"];

/// The initial grid: a hot top edge, a ramp inside.
fn initial(n: usize, i: usize, j: usize) -> f64 {
    if i == 0 {
        1.0
    } else {
        ((i * 7 + j * 3) % 11) as f64 / (11 * n) as f64
    }
}

/// Sweeps row `row` of an `n`-wide grid: `up`, `mid`, `down` are the rows above, at and below;
/// writes the interior of `out`.
fn sweep_row(up: &[f64], mid: &[f64], down: &[f64], out: &mut [f64]) {
    let n = mid.len();
    for j in 1..n - 1 {
        out[j] = 0.2 * (mid[j] + mid[j - 1] + mid[j + 1] + up[j] + down[j]);
    }
}

/// `steps` serial sweeps of an `n x n` grid; the final grid.
fn serial(n: usize, steps: usize) -> Vec<f64> {
    let mut cur: Vec<f64> = (0..n * n).map(|k| initial(n, k / n, k % n)).collect();
    let mut next = cur.clone();
    for _ in 0..steps {
        for i in 1..n - 1 {
            let (above, rest) = cur.split_at(i * n);
            let (mid, below) = rest.split_at(n);
            sweep_row(
                &above[(i - 1) * n..],
                mid,
                &below[..n],
                &mut next[i * n..(i + 1) * n],
            );
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

/// One sweep per phase on a `Grid2`; the seconds of the steps and the final grid.
fn phase(pool: &PhasePool, n: usize, steps: usize) -> (f64, Vec<f64>) {
    let mut grid = Grid2::new(pool, n, n, |i, j| initial(n, i, j));
    let start = Instant::now();
    for _ in 0..steps {
        grid.step(pool, |cur, i, next| {
            if i > 0 && i < n - 1 {
                sweep_row(cur.row(i - 1), cur.row(i), cur.row(i + 1), next);
            }
        });
    }
    (start.elapsed().as_secs_f64(), grid.into_current())
}

/// A worker's block: rows `first..first + rows` of the grid, with a halo row on each side,
/// current and next.
struct Block {
    n: usize,
    rows: usize,
    cur: Vec<f64>,
    next: Vec<f64>,
}

impl Block {
    /// The block of interior rows `range` (global rows `range.start + 1..`), halos included.
    fn new(n: usize, range: std::ops::Range<usize>) -> Block {
        let rows = range.len();
        let first = range.start + 1;
        // Local row r is global row first - 1 + r; the halos (r = 0 and rows + 1) start as
        // the grid's values there, so a block at the edge keeps the fixed boundary.
        let cur: Vec<f64> = (0..(rows + 2) * n)
            .map(|k| initial(n, first - 1 + k / n, k % n))
            .collect();
        let next = cur.clone();
        Block { n, rows, cur, next }
    }

    /// Sweeps local row `r` (in `1..=rows`) of `cur` into `next`.
    fn sweep(&mut self, r: usize) {
        let n = self.n;
        let around = &self.cur[(r - 1) * n..(r + 2) * n];
        let (up, rest) = around.split_at(n);
        let (mid, down) = rest.split_at(n);
        sweep_row(up, mid, down, &mut self.next[r * n..(r + 1) * n]);
    }

    fn next_row(&self, r: usize) -> &[f64] {
        &self.next[r * self.n..(r + 1) * self.n]
    }
}

/// The edge rows a worker publishes for its neighbours, by step parity: its first and last.
type Edges = Vec<[Mutex<(Vec<f64>, Vec<f64>)>; 2]>;

/// One SPMD run of `steps` steps, `overlapped` or with a plain sync; the seconds of the steps
/// (worker 0's) and the final grid.
fn spmd(pool: &PhasePool, n: usize, steps: usize, overlapped: bool) -> (f64, Vec<f64>) {
    let workers = pool.num_threads();
    let edges: Edges = (0..workers)
        .map(|_| [Mutex::default(), Mutex::default()])
        .collect();
    let results = pool.run(|ctx| {
        let range = ctx.block(n - 2);
        let mut block = Block::new(n, range.clone());
        ctx.sync(); // every block made before the clock starts
        let start = Instant::now();
        for step in 0..steps {
            let parity = step % 2;
            exchange_step(ctx, &mut block, &edges, parity, overlapped);
            std::mem::swap(&mut block.cur, &mut block.next);
        }
        let seconds = start.elapsed().as_secs_f64();
        let rows = block.cur[n..(block.rows + 1) * n].to_vec();
        (seconds, range, rows)
    });
    let mut grid: Vec<f64> = (0..n * n).map(|k| initial(n, k / n, k % n)).collect();
    for (_, range, rows) in &results {
        let first = range.start + 1;
        grid[first * n..(first + range.len()) * n].copy_from_slice(rows);
    }
    (results[0].0, grid)
}

/// One step of a worker: its edge rows, the barrier (overlapped with its interior rows, or
/// after them), then its halos from the neighbours' edges.
fn exchange_step(
    ctx: &mut Ctx<'_>,
    block: &mut Block,
    edges: &Edges,
    parity: usize,
    overlapped: bool,
) {
    let (me, workers, rows) = (ctx.index(), ctx.num_threads(), block.rows);
    if rows > 0 {
        block.sweep(1);
        if rows > 1 {
            block.sweep(rows);
        }
        let mut published = edges[me][parity].lock().unwrap();
        published.0.clear();
        published.0.extend_from_slice(block.next_row(1));
        published.1.clear();
        published.1.extend_from_slice(block.next_row(rows));
    }
    let interior = |block: &mut Block| {
        for r in 2..rows {
            block.sweep(r);
        }
    };
    if overlapped {
        let arrival = ctx.arrive();
        interior(block);
        arrival.wait();
    } else {
        interior(block);
        ctx.sync();
    }
    let n = block.n;
    // The nearest non-empty neighbours: with more workers than rows some blocks are empty.
    let above = (0..me)
        .rev()
        .find(|&w| !edges[w][parity].lock().unwrap().0.is_empty());
    let below = (me + 1..workers).find(|&w| !edges[w][parity].lock().unwrap().0.is_empty());
    if rows > 0 {
        if let Some(w) = above {
            block.next[..n].copy_from_slice(&edges[w][parity].lock().unwrap().1);
        }
        if let Some(w) = below {
            let halo = (rows + 1) * n;
            block.next[halo..halo + n].copy_from_slice(&edges[w][parity].lock().unwrap().0);
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let sizes = args.sizes.clone().unwrap_or_else(|| {
        if args.quick {
            vec![32, 64]
        } else {
            vec![64, 128, 256, 512]
        }
    });
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let thread_counts = args.threads.clone().unwrap_or_else(|| vec![cores]);
    let reps = common::or_default(args.reps, args.quick, 7, 3);
    println!(
        "Jacobi 5-point, barrier overlapped with the interior (ctx.arrive) vs sync vs a Grid2 \
         phase; MLUP/s, median of {reps} interleaved samples"
    );
    println!(
        "{:>7} {:>6} {:>7} {:>10} {:>10} {:>10} {:>13} {:>13}",
        "threads", "n", "steps", "overlap", "sync", "phase", "overlap/sync", "overlap/phase"
    );
    let mut wrong = false;
    for &threads in &thread_counts {
        let pool = match common::pool_or_exit("overlap", Some(threads)) {
            Ok(pool) => pool,
            Err(code) => return code,
        };
        for &n in &sizes {
            let interior = ((n - 2) * (n - 2)) as f64;
            // About 20 ms of serial sweeping at ~1 GLUP/s.
            let steps = args.steps.unwrap_or(if args.quick {
                20
            } else {
                (2e7 / interior).ceil() as usize
            });
            let expected = serial(n, steps);
            let mut seconds = [Vec::new(), Vec::new(), Vec::new()];
            for _ in 0..reps {
                for (v, samples) in seconds.iter_mut().enumerate() {
                    let (s, grid) = match v {
                        0 => spmd(&pool, n, steps, true),
                        1 => spmd(&pool, n, steps, false),
                        _ => phase(&pool, n, steps),
                    };
                    if grid != expected {
                        eprintln!(
                            "overlap: {} differs from the serial sweep (n = {n}, {threads} threads)",
                            VERSIONS[v]
                        );
                        wrong = true;
                    }
                    samples.push(s);
                }
            }
            let mlups: Vec<f64> = seconds
                .iter()
                .map(|s| interior * steps as f64 / stats::median(s) / 1e6)
                .collect();
            println!(
                "{threads:>7} {n:>6} {steps:>7} {:>10.0} {:>10.0} {:>10.0} {:>13.2} {:>13.2}",
                mlups[0],
                mlups[1],
                mlups[2],
                mlups[0] / mlups[1],
                mlups[0] / mlups[2]
            );
        }
    }
    if wrong {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
