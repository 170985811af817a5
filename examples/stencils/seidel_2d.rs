//! PolyBench seidel-2d: `tsteps` in-place Gauss-Seidel sweeps of the 9-point average
//! `A[i][j] = (A[i-1][j-1] + A[i-1][j] + A[i-1][j+1] + A[i][j-1] + A[i][j] + A[i][j+1]
//! + A[i+1][j-1] + A[i+1][j] + A[i+1][j+1]) / 9` in row-major order.
//!
//! # The wavefront
//!
//! Update `(i, j)` of step `t` reads `(i-1, j-1..=j+1)` and `(i, j-1)` as step `t` left them
//! and `(i, j..=j+1)`, `(i+1, j-1..=j+1)` as step `t - 1` left them. The parallel versions keep
//! exactly that, so they equal the serial loop bitwise:
//!
//! - the interior rows are cut into one block per worker, and each step's columns into `tiles`
//!   tiles of `tile` columns that lean one column left per row of a block (row `r` of a block
//!   covers `[c * tile - r, (c + 1) * tile - r)` of tile `c`, clamped to the interior, the last
//!   tile reaching the right edge): inside a block, tile by tile and row by row, every update
//!   then finds its upper-right neighbour done and its lower-left one not yet;
//! - tiles are numbered across steps (`g = t * tiles + c`), and in wave `s` block `w` works on
//!   tile `g = s - lag * w`, with `lag = ceil(h / tile) + 1` for blocks of at most `h` rows:
//!   a block's first row then finds the block above done a whole lean to its right in the same
//!   step, its last row finds the block below not yet started on the columns it reads, and two
//!   blocks in the same wave touch columns at least a tile apart;
//! - `tiles >= lag + 2`, so that the block below has finished step `t - 1` on every column that
//!   the last row of a block reads in step `t`.
//!
//! One barrier separates waves: lockstep runs the waves in one SPMD run (`ctx.sync()` per
//! wave), rayon with one parallel loop over the blocks per wave, OpenMP with one `omp for` per
//! wave. Workers share the grid through `AtomicU64` cells with `Relaxed` loads and stores (the
//! barrier orders the waves), so no `unsafe` is needed.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use lockstep::pool::PhasePool;
use rayon::prelude::*;

use super::{Arrays, Kernel, Size};

pub const KERNEL: Kernel = Kernel {
    name: "seidel-2d",
    sizes: [
        Size::square(20, 40),
        Size::square(40, 120),
        Size::square(100, 400),
        Size::square(500, 2000),
        Size::square(1000, 4000),
    ],
    dumped: &[("A", 0)],
    init,
    serial,
    rayon,
    lockstep,
    omp,
    updates: |s| (s.tsteps * s.n.saturating_sub(2).pow(2)) as f64,
    dump_rows: |s| (s.n, s.n),
};

/// The widest tile: wide enough that a wave's work dwarfs its barrier, narrow enough that the
/// pipeline fills quickly (`lag * (blocks - 1)` waves).
const MAX_TILE: usize = 64;

fn init(s: Size) -> Arrays {
    let n = s.n;
    let a = (0..n * n)
        .map(|x| ((x / n) as f64 * ((x % n) + 2) as f64 + 2.0) / n as f64)
        .collect();
    vec![a]
}

fn serial(s: Size, arrays: &mut Arrays) {
    let a = &mut arrays[0];
    let n = s.n;
    for _ in 0..s.tsteps {
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                a[i * n + j] = (a[(i - 1) * n + j - 1]
                    + a[(i - 1) * n + j]
                    + a[(i - 1) * n + j + 1]
                    + a[i * n + j - 1]
                    + a[i * n + j]
                    + a[i * n + j + 1]
                    + a[(i + 1) * n + j - 1]
                    + a[(i + 1) * n + j]
                    + a[(i + 1) * n + j + 1])
                    / 9.0;
            }
        }
    }
}

/// The wavefront schedule for `n x n` and at most `workers` blocks (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub n: usize,
    pub tsteps: usize,
    /// `blocks + 1` row indices from 1 to `n - 1`.
    pub starts: Vec<usize>,
    pub tile: usize,
    pub tiles: usize,
    pub lag: usize,
}

impl Plan {
    /// The plan for `n >= 3`.
    pub fn new(n: usize, tsteps: usize, workers: usize) -> Plan {
        let interior = n - 2;
        let blocks = workers.clamp(1, interior);
        let starts: Vec<usize> = (0..=blocks).map(|w| 1 + w * interior / blocks).collect();
        let h = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1);
        if blocks == 1 {
            return Plan {
                n,
                tsteps,
                starts,
                tile: interior,
                tiles: 1,
                lag: 0,
            };
        }
        let mut tile = (interior / 8).clamp(1, MAX_TILE);
        loop {
            let lag = h.div_ceil(tile) + 1;
            let tiles = (interior + h).div_ceil(tile) + 1;
            if tiles >= lag + 2 || tile == 1 {
                assert!(tiles >= lag + 2, "seidel-2d: no wavefront for n = {n}");
                return Plan {
                    n,
                    tsteps,
                    starts,
                    tile,
                    tiles,
                    lag,
                };
            }
            tile /= 2;
        }
    }

    pub fn blocks(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn waves(&self) -> usize {
        self.tsteps * self.tiles + self.lag * (self.blocks() - 1)
    }

    /// The columns of local row `r` in tile `c` (as `seidel_cols` in omp-peers' C).
    fn cols(&self, r: usize, c: usize) -> Range<usize> {
        let last = self.n - 1;
        let lo = if c == 0 {
            1
        } else {
            (c * self.tile).saturating_sub(r)
        };
        let hi = if c + 1 == self.tiles {
            last
        } else {
            ((c + 1) * self.tile).saturating_sub(r)
        };
        let lo = lo.clamp(1, last);
        lo..hi.clamp(lo, last)
    }

    /// The tile of block `w` in wave `s`, if it has one: `(row range, column tile)`.
    fn work(&self, w: usize, s: usize) -> Option<(Range<usize>, usize)> {
        let g = s.checked_sub(self.lag * w)?;
        (g < self.tsteps * self.tiles).then(|| (self.starts[w]..self.starts[w + 1], g % self.tiles))
    }

    /// Updates block `w`'s tile of wave `s` in `a`.
    fn run_tile(&self, a: &[AtomicU64], w: usize, s: usize) {
        let Some((rows, c)) = self.work(w, s) else {
            return;
        };
        let n = self.n;
        let at = |k: usize| f64::from_bits(a[k].load(Relaxed));
        for i in rows.clone() {
            let cols = self.cols(i - rows.start, c);
            if cols.is_empty() {
                continue;
            }
            let (up, here, down) = ((i - 1) * n, i * n, (i + 1) * n);
            let j = cols.start;
            // A window of the three columns j-1, j, j+1 of rows i-1, i, i+1.
            let mut left = [at(up + j - 1), at(here + j - 1), at(down + j - 1)];
            let mut mid = [at(up + j), at(here + j), at(down + j)];
            for j in cols {
                let right = [at(up + j + 1), at(here + j + 1), at(down + j + 1)];
                let new = (left[0]
                    + mid[0]
                    + right[0]
                    + left[1]
                    + mid[1]
                    + right[1]
                    + left[2]
                    + mid[2]
                    + right[2])
                    / 9.0;
                a[here + j].store(new.to_bits(), Relaxed);
                left = [mid[0], new, mid[2]];
                mid = right;
            }
        }
    }
}

fn cells(a: &[f64]) -> Vec<AtomicU64> {
    a.iter().map(|x| AtomicU64::new(x.to_bits())).collect()
}

fn store(a: &mut [f64], cells: &[AtomicU64]) {
    for (x, cell) in a.iter_mut().zip(cells) {
        *x = f64::from_bits(cell.load(Relaxed));
    }
}

fn rayon(s: Size, arrays: &mut Arrays) {
    if s.n < 3 {
        return;
    }
    let plan = Plan::new(s.n, s.tsteps, rayon::current_num_threads());
    let a = cells(&arrays[0]);
    for wave in 0..plan.waves() {
        (0..plan.blocks())
            .into_par_iter()
            .for_each(|w| plan.run_tile(&a, w, wave));
    }
    store(&mut arrays[0], &a);
}

fn lockstep(s: Size, arrays: &mut Arrays, pool: &PhasePool) -> f64 {
    if s.n < 3 {
        return 0.0;
    }
    let plan = Plan::new(s.n, s.tsteps, pool.num_threads());
    let a = cells(&arrays[0]);
    let start = std::time::Instant::now();
    pool.run(|ctx| {
        let w = ctx.index();
        for wave in 0..plan.waves() {
            if w < plan.blocks() {
                plan.run_tile(&a, w, wave);
            }
            ctx.sync();
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    store(&mut arrays[0], &a);
    seconds
}

fn omp(s: Size, arrays: &mut Arrays, threads: usize) -> f64 {
    if s.n < 3 {
        return 0.0;
    }
    let plan = Plan::new(s.n, s.tsteps, threads);
    let wavefront = omp_peers::Wavefront {
        starts: &plan.starts,
        tile: plan.tile,
        tiles: plan.tiles,
        lag: plan.lag,
    };
    omp_peers::seidel_2d(s.n, s.tsteps, threads, &mut arrays[0], wavefront)
}
