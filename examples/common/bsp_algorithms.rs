//! Three BSP algorithms written against the coarray API ([`Ctx::coarray`], `put`, `sync`), each
//! with a serial reference that does the same arithmetic in the same order, so the parallel
//! result equals it bit for bit, and with its BSP cost (flops, words, syncs) for the model's
//! prediction `w / r + h g + S l`.
//!
//! - [`inner_product`]: block distribution; every worker puts its partial sum into every
//!   worker's copy of the `p` partial sums; one sync (BSPedupack's `bspip`).
//! - [`fft`]: a radix-2 FFT of length `n = 2^k` on `p = 2^j <= sqrt(n)` workers: the
//!   bit-reversal permutation (one h-relation of `n / p` complex numbers), the first
//!   `log2(n / p)` butterfly stages inside blocks of `n / p`, a block-to-cyclic
//!   redistribution (one more h-relation), and the last `log2(p)` stages inside the cyclic
//!   distribution; the result stays cyclic (as in BSPedupack's `bspfft`).
//! - [`lu`]: LU decomposition with partial pivoting of an `n x n` matrix distributed by
//!   columns, cyclically; one superstep per column: its owner picks the pivot, scales the
//!   column and puts the pivot row and the multipliers into every worker's copy; every worker
//!   swaps the rows and updates its columns.
#![allow(dead_code, reason = "each example uses a subset of these helpers")]

use lockstep::pool::{static_block, Ctx, PhasePool};

/// What a BSP program cost, in the model's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    /// Flops of the busiest worker, summed over the supersteps.
    pub flops: f64,
    /// Words (f64) of the h-relations, summed over the supersteps.
    pub words: f64,
    /// Syncs.
    pub syncs: f64,
}

/// A parallel result and worker 0's time for it (from a sync after the setup to the end).
#[derive(Clone, Debug)]
pub struct Run<V> {
    pub value: V,
    pub seconds: f64,
    pub cost: Cost,
}

/// Starts the clock after a sync, so every worker starts together.
fn start(ctx: &mut Ctx<'_>) -> f64 {
    ctx.sync();
    ctx.time()
}

// ---------------------------------------------------------------------------------------------
// Inner product

/// `x . y` on `pool`: worker `s` sums its block (the pool's static blocks), then puts the
/// partial sum at index `s` of every worker's `partial`; after the sync each worker adds the
/// partial sums in worker order.
pub fn inner_product(pool: &PhasePool, x: &[f64], y: &[f64]) -> Run<f64> {
    assert_eq!(x.len(), y.len(), "vectors of one length");
    let n = x.len();
    let p = pool.num_threads();
    let results = pool.run(|ctx| {
        let me = ctx.index();
        let block = ctx.block(n);
        let longest = n.div_ceil(p);
        let xs = ctx.coarray::<f64>(longest, 0.0);
        let ys = ctx.coarray::<f64>(longest, 0.0);
        let partial = ctx.coarray::<f64>(p, 0.0);
        xs.local_mut()[..block.len()].copy_from_slice(&x[block.clone()]);
        ys.local_mut()[..block.len()].copy_from_slice(&y[block.clone()]);
        let t0 = start(ctx);
        let alpha = block_dot(&xs.local()[..block.len()], &ys.local()[..block.len()]);
        for to in 0..p {
            partial.put(to, me, &[alpha]);
        }
        ctx.sync();
        let sum = fold_in_order(&partial.local());
        (sum, ctx.time() - t0)
    });
    let (value, seconds) = results[0];
    assert!(
        results.iter().all(|r| r.0.to_bits() == value.to_bits()),
        "every worker folds the same partial sums in the same order"
    );
    let cost = Cost {
        flops: 2.0 * n.div_ceil(p) as f64 + p as f64,
        words: p as f64,
        syncs: 1.0,
    };
    Run {
        value,
        seconds,
        cost,
    }
}

/// `x . y` in four interleaved partial sums, folded in a fixed order: four independent add
/// chains keep the loop at the machine's flop rate instead of one add latency per element,
/// and the serial reference calls the same function, so the two agree bit for bit.
fn block_dot(x: &[f64], y: &[f64]) -> f64 {
    const LANES: usize = 4;
    let mut lanes = [0.0; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail = xs.remainder().iter().zip(ys.remainder());
    for (xc, yc) in xs.zip(ys) {
        for lane in 0..LANES {
            lanes[lane] += xc[lane] * yc[lane];
        }
    }
    let head = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    tail.fold(head, |acc, (a, b)| acc + a * b)
}

fn fold_in_order(partial: &[f64]) -> f64 {
    partial[1..].iter().fold(partial[0], |acc, v| acc + v)
}

/// The same sums as [`inner_product`] on `p` workers, serially: equal bit for bit.
pub fn inner_product_serial(x: &[f64], y: &[f64], p: usize) -> f64 {
    let partial: Vec<f64> = (0..p)
        .map(|s| {
            let block = static_block(s, p, x.len());
            block_dot(&x[block.clone()], &y[block])
        })
        .collect();
    fold_in_order(&partial)
}

// ---------------------------------------------------------------------------------------------
// FFT

/// A complex number as `[re, im]` (`Copy`, so it can live in a coarray).
pub type Complex = [f64; 2];

/// `w^j = exp(-2 pi i j / n)` for `j < n / 2`.
pub fn twiddles(n: usize) -> Vec<Complex> {
    (0..n / 2)
        .map(|j| {
            let angle = -2.0 * std::f64::consts::PI * j as f64 / n as f64;
            [angle.cos(), angle.sin()]
        })
        .collect()
}

/// The butterfly `(a, b) -> (a + w b, a - w b)`.
#[inline]
fn butterfly(a: Complex, b: Complex, w: Complex) -> (Complex, Complex) {
    let wb = [w[0] * b[0] - w[1] * b[1], w[0] * b[1] + w[1] * b[0]];
    ([a[0] + wb[0], a[1] + wb[1]], [a[0] - wb[0], a[1] - wb[1]])
}

/// The low `bits` bits of `x`, reversed.
fn reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

/// The stages of half-size `half` in `first_half..end_half` on positions `r = base + stride *
/// l` of the local slice `v` (`l` its index), with the partner of `r` at `r + half`.
fn stages(
    v: &mut [Complex],
    w: &[Complex],
    n: usize,
    base: usize,
    stride: usize,
    halves: (usize, usize),
) {
    let mut half = halves.0;
    while half < halves.1 {
        let step = half / stride; // the partner's local distance
        let scale = n / (2 * half);
        for l in 0..v.len() {
            let r = base + stride * l;
            let within = r % (2 * half);
            if within < half {
                let (a, b) = butterfly(v[l], v[l + step], w[within * scale]);
                v[l] = a;
                v[l + step] = b;
            }
        }
        half *= 2;
    }
}

/// The discrete Fourier transform of `x` (length `n = 2^k`) on `pool` (`p = 2^j`, `p^2 <= n`),
/// in BSPedupack's distributions: block in, cyclic out. Returns the transform in natural order
/// (reassembled from the cyclic parts after the clock stopped).
pub fn fft(pool: &PhasePool, x: &[Complex], w: &[Complex]) -> Run<Vec<Complex>> {
    let n = x.len();
    let p = pool.num_threads();
    assert!(
        n.is_power_of_two() && p.is_power_of_two(),
        "n and p are powers of two"
    );
    assert!(p * p <= n, "p^2 <= n (here p = {p}, n = {n})");
    let m = n / p;
    let (log_m, log_p) = (m.trailing_zeros(), p.trailing_zeros());
    let parts = pool.run(|ctx| {
        let s = ctx.index();
        let mine = ctx.coarray::<Complex>(m, [0.0; 2]);
        let inbox = ctx.coarray::<Complex>(m, [0.0; 2]);
        mine.local_mut().copy_from_slice(&x[s * m..(s + 1) * m]);
        let t0 = start(ctx);
        let chunk = m / p;
        // Bit reversal: rev(s m + k) = rev_m(k) p + rev_p(s); target t gets the k with
        // rev_m(k) in t m/p..(t+1) m/p, in increasing rev_m(k), at inbox offset s m/p.
        {
            let local = mine.local();
            let mut staged = Vec::with_capacity(chunk);
            for t in 0..p {
                staged.clear();
                staged.extend((t * chunk..(t + 1) * chunk).map(|q| local[reverse(q, log_m)]));
                inbox.put(t, s * chunk, &staged);
            }
        }
        ctx.sync();
        {
            let received = inbox.local();
            let mut local = mine.local_mut();
            for sender in 0..p {
                let low = reverse(sender, log_p);
                for i in 0..chunk {
                    let q = s * chunk + i;
                    local[q * p + low - s * m] = received[sender * chunk + i];
                }
            }
            stages(&mut local, w, n, s * m, 1, (1, m));
        }
        // Block to cyclic: position s m + k goes to worker k % p, index s m/p + k / p.
        {
            let local = mine.local();
            let mut staged = Vec::with_capacity(chunk);
            for u in 0..p {
                staged.clear();
                staged.extend((u..m).step_by(p).map(|k| local[k]));
                inbox.put(u, s * chunk, &staged);
            }
        }
        ctx.sync();
        let mut cyclic = inbox.to_vec();
        stages(&mut cyclic, w, n, s, p, (m, n));
        (cyclic, ctx.time() - t0)
    });
    let seconds = parts[0].1;
    let mut value = vec![[0.0; 2]; n];
    for (s, (part, _)) in parts.into_iter().enumerate() {
        for (l, v) in part.into_iter().enumerate() {
            value[l * p + s] = v;
        }
    }
    let cost = Cost {
        flops: 5.0 * n as f64 * n.trailing_zeros() as f64 / p as f64,
        words: 2.0 * 2.0 * m as f64,
        syncs: 2.0,
    };
    Run {
        value,
        seconds,
        cost,
    }
}

/// The same FFT serially (bit reversal, then every stage with the same twiddles): equal to
/// [`fft`] bit for bit.
pub fn fft_serial(x: &[Complex], w: &[Complex]) -> Vec<Complex> {
    let n = x.len();
    let bits = n.trailing_zeros();
    let mut v: Vec<Complex> = (0..n).map(|r| x[reverse(r, bits)]).collect();
    stages(&mut v, w, n, 0, 1, (1, n));
    v
}

/// The DFT by its definition, for checking the FFT on small sizes.
pub fn dft(x: &[Complex]) -> Vec<Complex> {
    let n = x.len();
    (0..n)
        .map(|k| {
            x.iter().enumerate().fold([0.0, 0.0], |acc, (j, v)| {
                let angle = -2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                let (sin, cos) = angle.sin_cos();
                [
                    acc[0] + v[0] * cos - v[1] * sin,
                    acc[1] + v[0] * sin + v[1] * cos,
                ]
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// LU decomposition with partial pivoting

/// The factors of `P A = L U`: `lu` holds `U` on and above the diagonal and the multipliers of
/// `L` (whose diagonal is 1) below it, row-major; `perm[i]` is the row of `A` that became row
/// `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lu {
    pub n: usize,
    pub lu: Vec<f64>,
    pub perm: Vec<usize>,
}

/// The pivot of column `k`: the first row `i >= k` with the largest `|a_ik|`.
fn pivot(column: impl Iterator<Item = f64>, k: usize) -> usize {
    let mut best = (k, -1.0);
    for (i, v) in column.enumerate() {
        if v.abs() > best.1 {
            best = (k + i, v.abs());
        }
    }
    best.0
}

/// LU with partial pivoting of the row-major `n x n` matrix `a` on `pool`; column `j` lives on
/// worker `j % p` (column-major, at local column `j / p`).
pub fn lu(pool: &PhasePool, a: &[f64], n: usize) -> Run<Lu> {
    assert_eq!(a.len(), n * n, "an n x n matrix");
    let p = pool.num_threads();
    let columns = n.div_ceil(p);
    let parts = pool.run(|ctx| {
        let s = ctx.index();
        let local = ctx.coarray::<f64>(n * columns, 0.0);
        // [pivot row, l_{k+1}, .., l_{n-1}] at offsets 0 and k + 2..: the owner's broadcast.
        let column = ctx.coarray::<f64>(n + 1, 0.0);
        {
            let mut part = local.local_mut();
            for (lj, j) in (s..n).step_by(p).enumerate() {
                for i in 0..n {
                    part[lj * n + i] = a[i * n + j];
                }
            }
        }
        let mut perm: Vec<usize> = (0..n).collect();
        let t0 = start(ctx);
        for k in 0..n {
            if k % p == s {
                let mut part = local.local_mut();
                let col = &mut part[(k / p) * n..(k / p + 1) * n];
                let r = pivot(col[k..].iter().copied(), k);
                col.swap(k, r);
                let diagonal = col[k];
                for v in &mut col[k + 1..] {
                    *v /= diagonal;
                }
                for to in 0..p {
                    column.put(to, 0, &[r as f64]);
                    column.put(to, k + 2, &col[k + 1..]);
                }
            }
            ctx.sync();
            let multipliers = column.local();
            let r = multipliers[0] as usize;
            perm.swap(k, r);
            let mut part = local.local_mut();
            for (lj, j) in (s..n).step_by(p).enumerate() {
                if j == k {
                    continue; // the owner swapped and scaled it already
                }
                let col = &mut part[lj * n..(lj + 1) * n];
                col.swap(k, r);
                if j > k {
                    let top = col[k];
                    for (v, l) in col[k + 1..].iter_mut().zip(&multipliers[k + 2..]) {
                        *v -= l * top;
                    }
                }
            }
        }
        (local.to_vec(), perm, ctx.time() - t0)
    });
    let seconds = parts[0].2;
    let perm = parts[0].1.clone();
    let mut lu = vec![0.0; n * n];
    for (s, (part, _, _)) in parts.iter().enumerate() {
        for (lj, j) in (s..n).step_by(p).enumerate() {
            for i in 0..n {
                lu[i * n + j] = part[lj * n + i];
            }
        }
    }
    let mut cost = Cost::default();
    for k in 0..n {
        let rest = (n - k - 1) as f64;
        cost.flops += 2.0 * rest * (n - k - 1).div_ceil(p) as f64 + rest + (n - k) as f64;
        cost.words += p as f64 * (rest + 1.0);
        cost.syncs += 1.0;
    }
    Run {
        value: Lu { n, lu, perm },
        seconds,
        cost,
    }
}

/// The same LU serially (the same pivots, divisions and updates): equal to [`lu`] bit for bit.
pub fn lu_serial(a: &[f64], n: usize) -> Lu {
    let mut lu = a.to_vec();
    let mut perm: Vec<usize> = (0..n).collect();
    for k in 0..n {
        let r = pivot((k..n).map(|i| lu[i * n + k]), k);
        perm.swap(k, r);
        for j in 0..n {
            lu.swap(k * n + j, r * n + j);
        }
        let diagonal = lu[k * n + k];
        for i in k + 1..n {
            lu[i * n + k] /= diagonal;
        }
        for j in k + 1..n {
            let top = lu[k * n + j];
            for i in k + 1..n {
                let l = lu[i * n + k];
                lu[i * n + j] -= l * top;
            }
        }
    }
    Lu { n, lu, perm }
}

/// The largest `|(P A - L U)_ij|`.
pub fn lu_residual(a: &[f64], f: &Lu) -> f64 {
    let n = f.n;
    let mut worst = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            let mut sum = 0.0;
            for k in 0..=i.min(j) {
                let l = if k == i { 1.0 } else { f.lu[i * n + k] };
                sum += l * f.lu[k * n + j];
            }
            worst = worst.max((a[f.perm[i] * n + j] - sum).abs());
        }
    }
    worst
}

/// Deterministic test data in `[-1, 1)`.
pub fn data(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}
