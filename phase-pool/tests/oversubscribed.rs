//! 16 workers on a machine with fewer cores finish long runs of phases: waiting workers must
//! give their cores away.

mod common;

use common::{pool, watchdog};

const PHASES: usize = 1000;

#[test]
fn sixteen_workers_finish_a_thousand_data_parallel_phases() {
    watchdog(|| {
        let pool = pool(16);
        let mut data = vec![0u64; 64];
        for phase in 0..PHASES {
            let sum = pool.map_reduce_chunks_mut(
                &mut data,
                4,
                0,
                |_, chunk| {
                    chunk.iter_mut().for_each(|x| *x += 1);
                    chunk.iter().sum::<u64>()
                },
                |a, b| a + b,
            );
            assert_eq!(sum, 64 * (phase as u64 + 1));
        }
    });
}

#[test]
fn sixteen_workers_finish_a_thousand_supersteps() {
    watchdog(|| {
        let pool = pool(16);
        let out = pool.run_bsp::<usize, _, _>(|ctx| {
            let n = ctx.num_threads();
            let mut total = 0;
            for step in 0..PHASES {
                ctx.send((ctx.index() + 1) % n, step);
                ctx.sync();
                assert_eq!(ctx.messages(), [step]);
                total = ctx.reduce(ctx.index(), |a, b| a + b);
            }
            total
        });
        assert_eq!(out, vec![120; 16]);
    });
}

#[test]
fn sixteen_workers_finish_a_thousand_jacobi_sweeps() {
    watchdog(|| {
        let pool = pool(16);
        let n = 40;
        let mut grid = phase_pool::kernels::jacobi_grid(&pool, n);
        let mut cur = phase_pool::kernels::jacobi_initial(n);
        let mut next = cur.clone();
        for _ in 0..PHASES {
            let pooled = phase_pool::kernels::jacobi_step(&pool, &mut grid);
            let serial = phase_pool::kernels::jacobi_step_serial(&cur, &mut next, n);
            std::mem::swap(&mut cur, &mut next);
            assert_eq!(pooled.to_bits(), serial.to_bits());
        }
        assert_eq!(grid.current().as_slice(), &cur[..]);
    });
}
