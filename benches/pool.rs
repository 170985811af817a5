//! phase-pool against rayon (and a serial loop): the cost of an empty phase ending in a
//! max-reduction, and the reference Jacobi sweep with its residual at n = 128, 512 and 2048.
//!
//! ```text
//! cargo bench -p lockstep --bench pool
//! cargo bench -p lockstep --bench pool -- 'jacobi/n=512'
//! ```
//!
//! - `phase_overhead/{t}-threads`: every worker contributes one number and the caller gets the
//!   maximum; one criterion iteration is one phase. `lockstep-map_reduce_index` is
//!   `pool.map_reduce_index(t, 1, ..)`, `lockstep-run-reduce` is `pool.run(|ctx| ctx.reduce(..))`,
//!   `rayon-broadcast` is `rayon::broadcast(..)` and a max over the returned `Vec`, looped inside
//!   one `pool.install` (the issuing thread is a rayon worker, as lockstep's caller is worker 0),
//!   and `rayon-broadcast-outside` is `pool.broadcast(..)` issued from the bench thread.
//! - `jacobi/n={n}`: one iteration is one sweep with its residual (criterion's throughput is in
//!   interior points, so elements/s is lattice updates per second), at the machine's thread count:
//!   `lockstep` ([`kernels::jacobi_step`] on a [`Grid2`](lockstep::pool::Grid2)), `rayon`
//!   (`par_chunks_mut` + `reduce`, same row kernel, the timed loop inside one `install`),
//!   `serial` ([`kernels::jacobi_step_serial`]).
//!
//! The rayon workers are pinned through `start_handler` (core_affinity), the lockstep workers by
//! the pool's default placement. For the interleaved medians and ratios, use
//! `cargo run --release --example pool_compare`.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lockstep::pool::{kernels, reduce, PhasePool};
use rayon::prelude::*;

const SIZES: [usize; 3] = [128, 512, 2048];

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread counts of the phase-overhead groups: 2 and every core.
fn thread_counts() -> Vec<usize> {
    let mut counts = vec![2, cores()];
    counts.dedup();
    counts
}

fn pools(threads: usize) -> (PhasePool, rayon::ThreadPool) {
    let lockstep = PhasePool::new(threads);
    let core_ids = core_affinity::get_core_ids().unwrap_or_default();
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(move |i| {
            if !core_ids.is_empty() {
                core_affinity::set_for_current(core_ids[i % core_ids.len()]);
            }
        })
        .build()
        .expect("a rayon pool builds");
    (lockstep, rayon)
}

fn phase_overhead(c: &mut Criterion) {
    for threads in thread_counts() {
        let (pool, rayon) = pools(threads);
        let mut group = c.benchmark_group(format!("phase_overhead/{threads}-threads"));
        let mut phase = 0u64;
        group.bench_function("lockstep-map_reduce_index", |b| {
            b.iter(|| {
                phase += 1;
                pool.map_reduce_index(
                    threads,
                    1,
                    0,
                    |r| black_box(r.start as u64 ^ phase),
                    reduce::max::<u64>,
                )
            });
        });
        group.bench_function("lockstep-run-reduce", |b| {
            b.iter(|| {
                phase += 1;
                pool.run(|ctx| ctx.reduce(black_box(ctx.index() as u64 ^ phase), reduce::max))[0]
            });
        });
        group.bench_function("rayon-broadcast", |b| {
            b.iter_custom(|iters| {
                rayon.install(|| {
                    let start = Instant::now();
                    for i in 0..iters {
                        let all = rayon::broadcast(|ctx| black_box(ctx.index() as u64 ^ i));
                        black_box(all.into_iter().fold(0, reduce::max));
                    }
                    start.elapsed()
                })
            });
        });
        group.bench_function("rayon-broadcast-outside", |b| {
            b.iter(|| {
                phase += 1;
                rayon
                    .broadcast(|ctx| black_box(ctx.index() as u64 ^ phase))
                    .into_iter()
                    .fold(0, reduce::max)
            });
        });
        group.finish();
    }
}

fn jacobi(c: &mut Criterion) {
    let threads = cores();
    let (pool, rayon) = pools(threads);
    for n in SIZES {
        let mut group = c.benchmark_group(format!("jacobi/n={n}"));
        group.throughput(Throughput::Elements(((n - 2) * (n - 2)) as u64));

        let mut grid = kernels::jacobi_grid(&pool, n);
        group.bench_function(format!("lockstep-{threads}-threads"), |b| {
            b.iter(|| kernels::jacobi_step(&pool, &mut grid));
        });

        let mut cur = kernels::jacobi_initial(n);
        let mut next = cur.clone();
        group.bench_function(format!("rayon-{threads}-threads"), |b| {
            b.iter_custom(|iters| {
                rayon.install(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let cur_ref = &cur[..];
                        let residual = next
                            .par_chunks_mut(n)
                            .enumerate()
                            .map(|(i, row)| kernels::jacobi_row(cur_ref, n, i, row))
                            .reduce(|| 0.0, kernels::max_residual);
                        black_box(residual);
                        std::mem::swap(&mut cur, &mut next);
                    }
                    start.elapsed()
                })
            });
        });

        let mut cur = kernels::jacobi_initial(n);
        let mut next = cur.clone();
        group.bench_function("serial", |b| {
            b.iter(|| {
                let residual = kernels::jacobi_step_serial(&cur, &mut next, n);
                std::mem::swap(&mut cur, &mut next);
                residual
            });
        });
        group.finish();
    }
}

/// In a private module: `criterion_group!` makes an undocumented `pub fn`, which the
/// workspace's `missing_docs` lint would flag at the crate root.
mod group {
    use super::{criterion_group, jacobi, phase_overhead, Criterion, Duration};

    criterion_group! {
        name = benches;
        config = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        targets = phase_overhead, jacobi
    }
}
criterion_main!(group::benches);
