//! The pool_compare peers against a serial Rust loop of the same kernel, in the same operation
//! order. Without OpenMP the tests say so and pass.

/// The reference kernel's initial grid (`phase_pool::kernels::jacobi_initial`).
fn initial(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|k| ((k as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0)
        .collect()
}

/// One serial sweep of the interior of `cur` into `next`; the residual.
fn sweep(cur: &[f64], next: &mut [f64], n: usize) -> f64 {
    let mut residual = 0.0f64;
    for i in 1..n.saturating_sub(1) {
        for j in 1..n - 1 {
            let c = cur[i * n + j];
            let new = 0.2
                * (c + cur[i * n + j - 1]
                    + cur[i * n + j + 1]
                    + cur[(i - 1) * n + j]
                    + cur[(i + 1) * n + j]);
            next[i * n + j] = new;
            let d = (new - c).abs();
            if d > residual {
                residual = d;
            }
        }
    }
    residual
}

/// `true` if the peers are there; otherwise prints why the test is skipped.
fn openmp(test: &str) -> bool {
    match omp_peers::available() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("{test}: skipped, omp-peers has no OpenMP: {why}");
            false
        }
    }
}

#[test]
fn empty_phase_max_runs_for_every_team_size() {
    if !openmp("empty_phase_max_runs_for_every_team_size") {
        return;
    }
    for threads in [1, 2, 3, 5, 8] {
        for phases in [0, 1, 7, 100] {
            assert!(omp_peers::empty_phase_max(threads, phases) >= 0.0);
        }
    }
}

#[test]
fn jacobi2d_residual_is_bitwise_the_rust_kernel() {
    if !openmp("jacobi2d_residual_is_bitwise_the_rust_kernel") {
        return;
    }
    for n in [0, 1, 2, 3, 4, 17, 64] {
        for steps in [0, 1, 2, 3, 4, 7] {
            for threads in [1, 2, 3, 5, 8] {
                let mut cur = initial(n);
                let mut next = cur.clone();
                let mut expected = 0.0;
                for _ in 0..steps {
                    expected = sweep(&cur, &mut next, n);
                    std::mem::swap(&mut cur, &mut next);
                }
                let mut a = initial(n);
                let mut b = a.clone();
                let got = omp_peers::jacobi2d_residual_timed(n, steps, threads, &mut a, &mut b);
                let grid = if steps % 2 == 0 { &a } else { &b };
                let case = format!("n {n}, steps {steps}, threads {threads}");
                assert_eq!(got.value.to_bits(), expected.to_bits(), "residual, {case}");
                assert_eq!(grid, &cur, "grid, {case}");
                assert!(got.seconds >= 0.0);
            }
        }
    }
}

#[test]
fn proc_bind_is_reported_with_openmp() {
    assert_eq!(
        omp_peers::proc_bind().is_some(),
        omp_peers::available().is_ok()
    );
}

#[test]
fn stream_triad_computes_b_plus_scalar_times_c() {
    if !openmp("stream_triad_computes_b_plus_scalar_times_c") {
        return;
    }
    for (threads, len) in [(1, 1), (2, 1000), (3, 1001), (5, 4)] {
        let mut arrays = omp_peers::StreamArrays::new(threads, len);
        assert!(arrays.a().iter().all(|&x| x == 1.0), "filled a");
        let seconds = arrays.triad(3, 3.0);
        assert!(seconds >= 0.0);
        // a = 2 + 3 * 0.5, whatever the number of triads.
        assert!(
            arrays.a().iter().all(|&x| x == 3.5),
            "{threads} threads, {len}"
        );
    }
}
