//! Grid2 and the Jacobi kernels: pooled sweeps equal the serial kernel bitwise.

mod common;

use common::{pool, watchdog, THREADS};
use phase_pool::{kernels, Grid2, PhasePool};

#[test]
fn pooled_jacobi_equals_the_serial_kernel_bitwise() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            for n in [0, 1, 2, 3, 5, 9, 17, 64, 131] {
                let mut grid = kernels::jacobi_grid(&pool, n);
                let mut cur = kernels::jacobi_initial(n);
                assert_eq!(grid.current().as_slice(), &cur[..], "initial n={n}");
                let mut next = cur.clone();
                for step in 0..25 {
                    let pooled = kernels::jacobi_step(&pool, &mut grid);
                    let serial = kernels::jacobi_step_serial(&cur, &mut next, n);
                    std::mem::swap(&mut cur, &mut next);
                    assert_eq!(
                        pooled.to_bits(),
                        serial.to_bits(),
                        "threads={threads} n={n} step={step}"
                    );
                }
                assert_eq!(
                    grid.current().as_slice(),
                    &cur[..],
                    "threads={threads} n={n}"
                );
            }
        }
    });
}

#[test]
fn the_kernel_equals_the_textbook_loop() {
    for n in [0, 1, 2, 3, 4, 10, 11, 33] {
        let mut a = kernels::jacobi_initial(n);
        let mut a_next = a.clone();
        let mut b = a.clone();
        let mut b_next = a.clone();
        for _ in 0..5 {
            let ra = kernels::jacobi_step_serial(&a, &mut a_next, n);
            let rb = kernels::jacobi_step_plain(&b, &mut b_next, n);
            std::mem::swap(&mut a, &mut a_next);
            std::mem::swap(&mut b, &mut b_next);
            assert_eq!(ra.to_bits(), rb.to_bits(), "n={n}");
            assert_eq!(a, b, "n={n}");
        }
    }
}

#[test]
fn the_boundary_stays_fixed() {
    watchdog(|| {
        let pool = pool(3);
        let n = 12;
        let mut grid = kernels::jacobi_grid(&pool, n);
        let initial = kernels::jacobi_initial(n);
        for _ in 0..7 {
            kernels::jacobi_step(&pool, &mut grid);
        }
        let g = grid.current();
        for k in 0..n {
            for (i, j) in [(0, k), (n - 1, k), (k, 0), (k, n - 1)] {
                assert_eq!(g[(i, j)], initial[i * n + j]);
            }
        }
    });
}

#[test]
fn early_termination_stops_at_the_serial_step() {
    watchdog(|| {
        let n = 24;
        let tolerance = 1e-3;
        let mut cur = kernels::jacobi_initial(n);
        let mut next = cur.clone();
        let mut serial_steps = 0;
        let mut serial_residual = 0.0;
        while serial_steps < 10_000 {
            serial_residual = kernels::jacobi_step_serial(&cur, &mut next, n);
            std::mem::swap(&mut cur, &mut next);
            serial_steps += 1;
            if serial_residual < tolerance {
                break;
            }
        }
        for threads in [1, 2, 5] {
            let pool = pool(threads);
            let mut grid = kernels::jacobi_grid(&pool, n);
            let (steps, residual) = kernels::jacobi_solve(&pool, &mut grid, tolerance, 10_000);
            assert_eq!(
                (steps, residual.to_bits()),
                (serial_steps, serial_residual.to_bits())
            );
            assert_eq!(grid.current().as_slice(), &cur[..]);
        }
    });
}

#[test]
fn generic_grids_swap_and_reduce_in_row_order() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            for (rows, cols) in [(0, 3), (3, 0), (1, 1), (7, 5), (20, 3)] {
                let mut grid = Grid2::new(&pool, rows, cols, |r, c| (r * 100 + c) as u32);
                assert_eq!((grid.rows(), grid.cols()), (rows, cols));
                // Shift every row right by one, cyclically, and report the row numbers.
                let order = grid.step_reduce(
                    &pool,
                    String::new(),
                    |cur, r, next| {
                        let row = cur.row(r);
                        for c in 0..cur.cols() {
                            next[(c + 1) % cur.cols()] = row[c] + 1;
                        }
                        format!("{r},")
                    },
                    |a, b| a + &b,
                );
                let expected: String = (0..rows).map(|r| format!("{r},")).collect();
                assert_eq!(order, if cols == 0 { String::new() } else { expected });
                let g = grid.current();
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(g[(r, (c + 1) % cols)], (r * 100 + c) as u32 + 1);
                    }
                }
            }
        }
    });
}

#[test]
fn from_slice_copies_and_checks_its_size() {
    watchdog(|| {
        let pool = pool(2);
        let data: Vec<i64> = (0..12).collect();
        let mut grid = Grid2::from_slice(&pool, 3, 4, &data);
        assert_eq!(grid.current().row(1), &[4, 5, 6, 7]);
        grid.current_mut()[0] = -1;
        assert_eq!(grid.into_current()[..2], [-1, 1]);
        let payload = std::panic::catch_unwind(|| {
            let pool = PhasePool::builder().threads(2).build().unwrap();
            Grid2::from_slice(&pool, 5, 4, &data)
        })
        .expect_err("a size mismatch must panic");
        assert!(common::message(&*payload).contains("do not make a 5 x 4 grid"));
    });
}

#[test]
fn mismatched_kernel_sizes_panic_clearly() {
    let cur = vec![0.0; 9];
    let mut next = vec![0.0; 8];
    let payload = std::panic::catch_unwind(move || kernels::jacobi_step_serial(&cur, &mut next, 3))
        .expect_err("a size mismatch must panic");
    assert!(common::message(&*payload).contains("next holds 8 elements"));
    let payload = std::panic::catch_unwind(|| kernels::jacobi_row(&[0.0; 9], 3, 1, &mut [0.0; 2]))
        .expect_err("a short row must panic");
    assert!(common::message(&*payload).contains("next_row must hold one row of 3"));
}

#[test]
fn a_grid_without_columns_or_rows_runs_no_sweep() {
    watchdog(|| {
        for threads in THREADS {
            let pool = pool(threads);
            for (rows, cols) in [(3, 0), (0, 4), (0, 0)] {
                let mut grid = Grid2::new(&pool, rows, cols, |_, _| 1u8);
                let swept = grid.step_reduce(&pool, 7u32, |_, _, _| 1, |a, b| a + b);
                assert_eq!(swept, 7, "{rows}x{cols}: the identity, no sweep");
                grid.step(&pool, |_, row, _| panic!("sweep called for row {row}"));
                assert_eq!(grid.current().as_slice().len(), 0);
            }
        }
    });
}
