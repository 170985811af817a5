//! Every PolyBench stencil's rayon, lockstep and OpenMP versions against its serial loop,
//! bitwise, for 1 to 5 and 8 threads, on odd sizes, sizes smaller than the team and PolyBench's
//! MINI dataset. Without OpenMP in the C compiler the OpenMP versions are skipped with a
//! message.

#[path = "../examples/stencils/mod.rs"]
mod stencils;

use lockstep::pool::PhasePool;
use stencils::{first_difference, Dataset, Kernel, Size, KERNELS};

const THREADS: [usize; 6] = [1, 2, 3, 4, 5, 8];

/// Sizes for `kernel`: MINI, odd ones, and ones smaller than a team of 8.
fn sizes(kernel: &Kernel) -> Vec<Size> {
    let mini = kernel.sizes[0];
    let mut sizes = vec![mini];
    for n in [0, 1, 2, 3, 4, 5, 7, 9, 13, 33] {
        let m = if kernel.name == "fdtd-2d" { n + 2 } else { n };
        sizes.push(Size { tsteps: 3, n, m });
        if kernel.name == "fdtd-2d" {
            sizes.push(Size {
                tsteps: 2,
                n: m,
                m: n,
            });
        }
    }
    sizes.push(Size {
        tsteps: 5,
        n: 17,
        m: if kernel.name == "fdtd-2d" { 11 } else { 17 },
    });
    sizes
}

fn check(kernel: &Kernel, size: Size, threads: usize, pool: &PhasePool, rayon: &rayon::ThreadPool) {
    if kernel.name == "heat-3d" && size.n > 20 {
        return; // the cube of the larger odd sizes adds nothing but time
    }
    let mut expected = (kernel.init)(size);
    (kernel.serial)(size, &mut expected);
    let case = |version: &str| format!("{} {size:?}, {threads} threads, {version}", kernel.name);

    let mut got = (kernel.init)(size);
    (kernel.lockstep)(size, &mut got, pool);
    assert_eq!(
        first_difference(kernel, &expected, &got),
        None,
        "{}",
        case("lockstep")
    );

    let mut got = (kernel.init)(size);
    rayon.install(|| (kernel.rayon)(size, &mut got));
    assert_eq!(
        first_difference(kernel, &expected, &got),
        None,
        "{}",
        case("rayon")
    );

    if omp_peers::available().is_ok() {
        let mut got = (kernel.init)(size);
        (kernel.omp)(size, &mut got, threads);
        assert_eq!(
            first_difference(kernel, &expected, &got),
            None,
            "{}",
            case("openmp")
        );
    }
}

fn check_kernel(name: &str) {
    let kernel = stencils::kernel(name).expect("a kernel of the suite");
    if let Err(why) = omp_peers::available() {
        eprintln!("{name}: the OpenMP version is skipped: {why}");
    }
    for threads in THREADS {
        let pool = PhasePool::new(threads);
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for size in sizes(&kernel) {
            check(&kernel, size, threads, &pool, &rayon);
        }
    }
}

#[test]
fn jacobi_1d_matches_the_serial_loop() {
    check_kernel("jacobi-1d");
}

#[test]
fn jacobi_2d_matches_the_serial_loop() {
    check_kernel("jacobi-2d");
}

#[test]
fn heat_3d_matches_the_serial_loop() {
    check_kernel("heat-3d");
}

#[test]
fn fdtd_2d_matches_the_serial_loop() {
    check_kernel("fdtd-2d");
}

#[test]
fn seidel_2d_matches_the_serial_loop() {
    check_kernel("seidel-2d");
}

#[test]
fn adi_matches_the_serial_loop() {
    check_kernel("adi");
}

#[test]
fn seidel_2d_plans_keep_the_wavefront_conditions() {
    for n in 3..200 {
        for workers in [1, 2, 3, 5, 8, 16, 64] {
            let plan = stencils::seidel_2d::Plan::new(n, 2, workers);
            assert_eq!(plan.starts[0], 1);
            assert_eq!(*plan.starts.last().unwrap(), n - 1);
            if plan.blocks() > 1 {
                let h = plan.starts.windows(2).map(|w| w[1] - w[0]).max().unwrap();
                assert!(plan.lag * plan.tile >= h + plan.tile, "{plan:?}");
                assert!(plan.tiles >= plan.lag + 2, "{plan:?}");
            }
        }
    }
}

#[test]
fn every_kernel_has_polybench_sizes_and_mini_is_smallest() {
    assert_eq!(KERNELS.len(), 6);
    for kernel in KERNELS {
        let updates: Vec<f64> = kernel.sizes.iter().map(|&s| (kernel.updates)(s)).collect();
        assert!(updates.windows(2).all(|w| w[0] < w[1]), "{}", kernel.name);
    }
    assert_eq!(Dataset::parse("MINI"), Some(Dataset::Mini));
    assert_eq!(Dataset::parse("extralarge"), Some(Dataset::ExtraLarge));
}

#[test]
fn dump_has_polybench_layout() {
    let kernel = stencils::kernel("jacobi-1d").unwrap();
    let size = Size::square(0, 25);
    let arrays = (kernel.init)(size);
    let text = stencils::dump(&kernel, size, &arrays);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "==BEGIN DUMP_ARRAYS==");
    assert_eq!(lines[1], "begin dump: A");
    assert_eq!(lines[2].split_whitespace().count(), 20);
    assert_eq!(lines[2].split_whitespace().next(), Some("0.08"));
    assert_eq!(lines[3].split_whitespace().count(), 5);
    assert_eq!(lines[4], "end   dump: A");
    assert_eq!(lines[5], "==END   DUMP_ARRAYS==");
    for value in lines[2]
        .split_whitespace()
        .chain(lines[3].split_whitespace())
    {
        let parsed: f64 = value.parse().unwrap();
        assert_eq!(format!("{parsed:?}"), value, "shortest round trip");
    }
    let fdtd = stencils::kernel("fdtd-2d").unwrap();
    let size = fdtd.sizes[0];
    let text = stencils::dump(&fdtd, size, &(fdtd.init)(size));
    let order: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("begin dump:"))
        .collect();
    assert_eq!(
        order,
        ["begin dump: ex", "begin dump: ey", "begin dump: hz"]
    );
}
