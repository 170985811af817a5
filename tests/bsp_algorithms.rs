//! The BSP algorithm examples (inner product, FFT, LU with partial pivoting, written against
//! the coarray API) equal their serial references bit for bit, for several sizes and team
//! sizes, and agree with the textbook definitions up to rounding.

#[path = "../examples/common/bsp_algorithms.rs"]
mod algorithms;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use algorithms::{dft, fft, fft_serial, inner_product, inner_product_serial, lu, lu_residual};
use algorithms::{lu_serial, twiddles, Complex};
use lockstep::pool::{PhasePool, Placement};

/// Fails the test instead of hanging if `body` takes longer than a minute.
fn watchdog(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test body did not finish in time"),
    }
}

fn pool(threads: usize) -> PhasePool {
    PhasePool::builder()
        .threads(threads)
        .placement(Placement::None)
        .build()
        .expect("build the pool")
}

#[test]
fn inner_product_equals_the_serial_block_sums() {
    watchdog(|| {
        for threads in [1, 2, 3, 4, 5, 8] {
            let pool = pool(threads);
            for n in [0, 1, 7, 100, 1001] {
                let x = algorithms::data(n, 1);
                let y = algorithms::data(n, 2);
                let run = inner_product(&pool, &x, &y);
                let serial = inner_product_serial(&x, &y, threads);
                assert_eq!(run.value.to_bits(), serial.to_bits(), "p {threads} n {n}");
                let plain: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
                assert!((run.value - plain).abs() <= 1e-12 * n.max(1) as f64);
            }
        }
    });
}

#[test]
fn fft_equals_the_serial_fft_and_the_dft() {
    watchdog(|| {
        for threads in [1, 2, 4, 8] {
            let pool = pool(threads);
            for n in [16usize, 64, 256, 1024] {
                if threads * threads > n {
                    continue;
                }
                let re = algorithms::data(n, 3);
                let im = algorithms::data(n, 4);
                let x: Vec<Complex> = re.into_iter().zip(im).map(|(a, b)| [a, b]).collect();
                let w = twiddles(n);
                let run = fft(&pool, &x, &w);
                let serial = fft_serial(&x, &w);
                let bits =
                    |v: &[Complex]| v.iter().flatten().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&run.value), bits(&serial), "p {threads} n {n}");
                if n <= 256 {
                    for (a, b) in run.value.iter().zip(dft(&x)) {
                        assert!((a[0] - b[0]).abs() + (a[1] - b[1]).abs() < 1e-9 * n as f64);
                    }
                }
            }
        }
    });
}

#[test]
fn lu_equals_the_serial_lu_and_factors_the_matrix() {
    watchdog(|| {
        for threads in [1, 2, 3, 4, 5, 8] {
            let pool = pool(threads);
            for n in [1usize, 2, 5, 16, 33] {
                let a = algorithms::data(n * n, 5 + n as u64);
                let run = lu(&pool, &a, n);
                let serial = lu_serial(&a, n);
                assert_eq!(run.value.perm, serial.perm, "p {threads} n {n}");
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&run.value.lu), bits(&serial.lu), "p {threads} n {n}");
                assert!(
                    lu_residual(&a, &run.value) < 1e-12 * n as f64,
                    "p {threads} n {n}"
                );
            }
        }
    });
}
