//! Phases while another thread competes for one of the pool's cores: every data-parallel phase
//! kind, `Grid2` sweeps and an SPMD run equal their serial references bitwise, and every unit
//! runs exactly once, whoever runs it (the static blocks' pieces move to whichever worker is
//! there). Bounded: a fixed number of phases, under the watchdog; no timing is asserted.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;

use common::{floats, watchdog, SCHEDULES};
use phase_pool::{kernels, reduce, Grid2, PhasePool, Schedule};

/// A CPU-bound thread pinned to `core` until dropped.
struct Busy {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Busy {
    fn on(core: usize) -> Busy {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            barrier_core::topology::pin_current_thread(core);
            let mut x = 1u64;
            while !flag.load(Ordering::Relaxed) {
                for _ in 0..10_000 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
        });
        Busy {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The last core this process may use: with the default (compact) placement, the core of a
/// follower whenever the pool has at least two workers on a machine of two cores or more.
fn busy_core() -> usize {
    barrier_core::topology::usable_cores()
        .last()
        .copied()
        .unwrap_or(0)
}

/// Pinned pools (the default placement): a follower cannot move away from the busy core.
fn pinned_pool(threads: usize) -> PhasePool {
    PhasePool::builder()
        .threads(threads)
        .build()
        .expect("build the pool")
}

const ROUNDS: usize = 200;

#[test]
fn data_parallel_phases_match_serial_bitwise_beside_a_busy_core() {
    watchdog(|| {
        let _busy = Busy::on(busy_core());
        for threads in [2, 3] {
            let pool = pinned_pool(threads);
            let data = floats(1000);
            let serial_sum = data
                .chunks(7)
                .map(|c| c.iter().sum::<f64>())
                .fold(0.0, reduce::sum);
            for schedule in SCHEDULES {
                let scheduled = pool.with_schedule(schedule);
                for round in 0..ROUNDS {
                    let mut v = data.clone();
                    scheduled.for_each_chunk_mut(&mut v, 7, |_, c| {
                        c.iter_mut().for_each(|x| *x = *x * 0.5 + 1.0);
                    });
                    let expected: Vec<f64> = data.iter().map(|x| x * 0.5 + 1.0).collect();
                    assert_eq!(v, expected, "{schedule:?} round {round}");
                    let mut w = data.clone();
                    let sum = scheduled.map_reduce_chunks_mut(
                        &mut w,
                        7,
                        0.0,
                        |_, c| c.iter().sum::<f64>(),
                        reduce::sum,
                    );
                    assert_eq!(
                        sum.to_bits(),
                        serial_sum.to_bits(),
                        "{schedule:?} round {round}"
                    );
                    let ran: Vec<AtomicU32> = (0..333).map(|_| AtomicU32::new(0)).collect();
                    scheduled.for_each_index(..333, |i| {
                        ran[i].fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(ran.iter().all(|r| r.load(Ordering::Relaxed) == 1));
                    let squares = scheduled.map_reduce_index(
                        0..501,
                        4,
                        0.0,
                        |r| r.map(|i| data[i] * data[i]).sum::<f64>(),
                        reduce::sum,
                    );
                    let serial = (0..501)
                        .step_by(4)
                        .map(|s| {
                            (s..(s + 4).min(501))
                                .map(|i| data[i] * data[i])
                                .sum::<f64>()
                        })
                        .fold(0.0, reduce::sum);
                    assert_eq!(squares.to_bits(), serial.to_bits());
                }
            }
        }
    });
}

#[test]
fn grid_sweeps_match_serial_bitwise_beside_a_busy_core() {
    watchdog(|| {
        let _busy = Busy::on(busy_core());
        for threads in [2, 3] {
            let pool = pinned_pool(threads);
            for n in [5, 66] {
                let mut grid = kernels::jacobi_grid(&pool, n);
                let mut cur = kernels::jacobi_initial(n);
                let mut next = cur.clone();
                for step in 0..ROUNDS * 5 {
                    let pooled = kernels::jacobi_step(&pool, &mut grid);
                    let serial = kernels::jacobi_step_serial(&cur, &mut next, n);
                    std::mem::swap(&mut cur, &mut next);
                    assert_eq!(pooled.to_bits(), serial.to_bits(), "n={n} step {step}");
                }
                assert_eq!(grid.current().as_slice(), &cur[..]);
            }
            // A grid of another shape, through `step`.
            let (rows, cols) = (37, 9);
            let init = |i: usize, j: usize| (i * cols + j) as u64;
            let mut grid = Grid2::new(&pool, rows, cols, init);
            let mut serial: Vec<u64> = (0..rows * cols).map(|k| k as u64).collect();
            for _ in 0..ROUNDS {
                grid.step(&pool, |cur, i, next| {
                    for (j, x) in next.iter_mut().enumerate() {
                        *x = cur[(i, j)].wrapping_mul(3) ^ (i as u64);
                    }
                });
                serial = serial
                    .iter()
                    .enumerate()
                    .map(|(k, x)| x.wrapping_mul(3) ^ ((k / cols) as u64))
                    .collect();
            }
            assert_eq!(grid.current().as_slice(), &serial[..]);
        }
    });
}

#[test]
fn spmd_runs_complete_beside_a_busy_core() {
    watchdog(|| {
        let _busy = Busy::on(busy_core());
        let pool = pinned_pool(2);
        for round in 0..ROUNDS {
            let results = pool.run(|ctx| ctx.reduce(ctx.index() + round, reduce::max));
            assert_eq!(results, vec![round + 1; 2]);
        }
    });
}

#[test]
fn static_reductions_are_identical_beside_a_busy_core_and_idle() {
    watchdog(|| {
        let data = floats(4096);
        let idle = {
            let pool = pinned_pool(2);
            let mut v = data.clone();
            pool.with_schedule(Schedule::Static).map_reduce_chunks_mut(
                &mut v,
                3,
                0.0,
                |_, c| c.iter().map(|x| x.sin()).sum::<f64>(),
                reduce::sum,
            )
        };
        let _busy = Busy::on(busy_core());
        for threads in [2, 3, 5] {
            let pool = pinned_pool(threads);
            for _ in 0..ROUNDS / 4 {
                let mut v = data.clone();
                let busy = pool.map_reduce_chunks_mut(
                    &mut v,
                    3,
                    0.0,
                    |_, c| c.iter().map(|x| x.sin()).sum::<f64>(),
                    reduce::sum,
                );
                assert_eq!(busy.to_bits(), idle.to_bits(), "{threads} threads");
            }
        }
    });
}
