//! The PolyBench/C 4.2 stencils on the pool, against a serial loop, rayon and OpenMP, in one
//! process.
//!
//! ```text
//! cargo run --release --example stencils                                  # LARGE, all cores
//! cargo run --release --example stencils -- --kernels jacobi-2d,adi --dataset extralarge \
//!     --threads 1,8,16 --reps 7 --plot target/stencils.png
//! cargo run --release --example stencils -- --json                        # one JSON object per line
//! cargo run --release --example stencils -- --dump target/dump            # PolyBench-style dumps
//! cargo run --release --example stencils -- --quick                       # CI smoke: SMALL, 3 reps
//! cargo run --release --example stencils -- --kernels fdtd-2d --profile target/profiles
//! ```
//!
//! Kernels (see `examples/stencils/`): `adi`, `fdtd-2d`, `heat-3d`, `jacobi-1d`, `jacobi-2d`,
//! `seidel-2d`, with PolyBench's initialisation, update order and dataset sizes (MINI to
//! EXTRALARGE). Each runs as
//!
//! - `lockstep`: on a `PhasePool`, one phase per sweep ([`Grid1`], [`Grid2`], [`Grid3`] for the
//!   double-buffered kernels; `for_each_chunk_mut` for fdtd-2d and adi; one SPMD run with a
//!   `sync` per wave of seidel-2d's wavefront);
//! - `serial`: PolyBench's loop nest, literally;
//! - `rayon`: the same sweeps as parallel iterators, inside one `install`;
//! - `openmp`: the C of `omp-peers` (one persistent `omp parallel` region, an `omp for` per
//!   sweep), when the C compiler has OpenMP; otherwise the column says why it is missing. The
//!   program starts itself again with `OMP_PROC_BIND=close` unless `OMP_PROC_BIND` is set.
//!
//! Throughput is MLUP/s: points updated (each kernel's count is in its module) per second of
//! the time loop, over one sample: repeated calls of the kernel on fresh arrays until they add
//! up to `--sample-ms` (50 ms; a small dataset's call lasts microseconds, and a single one
//! would measure what ran before it); lockstep and OpenMP time the loop without set-up, serial and rayon the whole
//! call (whose set-up, a copy of the grid at most, is small beside the steps). Repetitions are
//! interleaved (rep 1 of every version, then rep 2, ...), tables show medians and the ratios
//! `lockstep / peer` of medians.
//!
//! Every run is checked against the serial loop: all versions perform the same operations in
//! the same order, so the arrays PolyBench dumps must be bitwise equal; the program exits with
//! status 1 on a mismatch, 2 on bad arguments.
//!
//! [`Grid1`]: lockstep::pool::Grid1
//! [`Grid2`]: lockstep::pool::Grid2
//! [`Grid3`]: lockstep::pool::Grid3

#[path = "common/mod.rs"]
mod common;
#[path = "common/stats.rs"]
mod stats;
#[path = "stencils/mod.rs"]
mod stencils;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use lockstep::pool::PhasePool;

use stencils::{Arrays, Dataset, Kernel, Size, KERNELS};

/// The versions of every kernel, in table order.
const VERSIONS: [&str; 4] = ["lockstep", "serial", "rayon", "openmp"];

#[derive(Parser, Debug)]
#[command(about = "PolyBench/C 4.2 stencils: lockstep against serial, rayon and OpenMP")]
struct Args {
    /// Kernels to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    kernels: Option<Vec<String>>,
    /// PolyBench dataset: mini, small, medium, large, extralarge (default: large; small with
    /// --quick).
    #[arg(long)]
    dataset: Option<String>,
    /// Thread counts, comma-separated (default: the available parallelism).
    #[arg(long, value_delimiter = ',', value_parser = common::at_least(1))]
    threads: Option<Vec<usize>>,
    /// Interleaved repetitions per version (default: 5; 3 with --quick).
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,
    /// Least time of one sample, in milliseconds: a version's kernel is called on fresh arrays
    /// until its calls add up to this (default: 50; 5 with --quick).
    #[arg(long, value_name = "MS", value_parser = common::at_least(1))]
    sample_ms: Option<usize>,
    /// Draw MLUP/s against threads, one panel per kernel, into this PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// One JSON object per line instead of tables.
    #[arg(long)]
    json: bool,
    /// Write DIR/<kernel>.txt in the layout of PolyBench's -DPOLYBENCH_DUMP_ARRAYS output.
    #[arg(long, value_name = "DIR")]
    dump: Option<PathBuf>,
    /// CI smoke: SMALL dataset, 3 reps.
    #[arg(long)]
    quick: bool,
    /// Fail (status 2) if the OpenMP peers are missing.
    #[arg(long)]
    require_openmp: bool,
    /// After the measurements, run each kernel's lockstep version once more on a profiled pool:
    /// print the profile (on standard error) and draw its timeline into DIR/<kernel>-<threads>.png.
    #[arg(long, value_name = "DIR")]
    profile: Option<PathBuf>,
}

/// The samples of one kernel at one thread count: seconds per version.
struct Row {
    kernel: &'static str,
    threads: usize,
    seconds: [Vec<f64>; 4],
}

impl Row {
    fn mlups(&self, version: usize, updates: f64) -> Option<f64> {
        let samples = &self.seconds[version];
        (!samples.is_empty()).then(|| updates / stats::median(samples) / 1e6)
    }
}

fn main() -> ExitCode {
    match omp_peers::rerun_with_proc_bind_close() {
        Ok(Some(status)) => return ExitCode::from(status.code().map_or(1, |c| c as u8)),
        Ok(None) => {}
        Err(error) => eprintln!("stencils: cannot start again with OMP_PROC_BIND=close: {error}"),
    }
    let args = Args::parse();
    let dataset_name = args
        .dataset
        .clone()
        .unwrap_or_else(|| (if args.quick { "small" } else { "large" }).into());
    let Some(dataset) = Dataset::parse(&dataset_name) else {
        eprintln!(
            "stencils: unknown dataset `{dataset_name}` (mini, small, medium, large, extralarge)"
        );
        return ExitCode::from(2);
    };
    let kernels: Vec<Kernel> = match &args.kernels {
        None => KERNELS.to_vec(),
        Some(names) => {
            let mut kernels = Vec::new();
            for name in names {
                let Some(kernel) = stencils::kernel(name) else {
                    let all: Vec<&str> = KERNELS.iter().map(|k| k.name).collect();
                    eprintln!(
                        "stencils: unknown kernel `{name}` (one of {})",
                        all.join(", ")
                    );
                    return ExitCode::from(2);
                };
                kernels.push(kernel);
            }
            kernels
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = args.threads.clone().unwrap_or_else(|| vec![cores]);
    let reps = common::or_default(args.reps, args.quick, 5, 3);
    let sample =
        Duration::from_millis(common::or_default(args.sample_ms, args.quick, 50, 5) as u64);
    let openmp = omp_peers::available();
    if let Err(why) = openmp {
        if args.require_openmp {
            eprintln!("stencils: the OpenMP peers are required but missing: {why}");
            return ExitCode::from(2);
        }
        eprintln!("stencils: no OpenMP column: {why}");
    }
    if !args.json {
        println!(
            "PolyBench/C 4.2 stencils, dataset {}, threads {threads:?}, median of {reps} interleaved reps; \
             OpenMP binding {}",
            dataset.name(),
            omp_peers::proc_bind().unwrap_or("-")
        );
    }

    let versions = if openmp.is_ok() { 4 } else { 3 };
    let total = (threads.len() * kernels.len() * reps * versions) as u64;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} runs, {msg}")
                .expect("a valid progress template"),
        )
    };
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut mismatches = 0;
    for &t in &threads {
        let pool = match common::build_pool(Some(t)) {
            Ok(pool) => pool,
            Err(error) => {
                eprintln!("stencils: cannot build a pool of {t}: {error}");
                return ExitCode::from(2);
            }
        };
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("a rayon pool");
        for kernel in &kernels {
            let size = kernel.sizes[Dataset::ALL.iter().position(|&d| d == dataset).unwrap()];
            let mut expected = (kernel.init)(size);
            (kernel.serial)(size, &mut expected);
            let mut row = Row {
                kernel: kernel.name,
                threads: t,
                seconds: Default::default(),
            };
            for rep in 0..reps {
                for (v, version) in VERSIONS.iter().enumerate().take(versions) {
                    bar.set_message(format!(
                        "{} {version}, {t} threads, rep {}",
                        kernel.name,
                        rep + 1
                    ));
                    // One sample: calls of the kernel until they add up to `sample`, each on
                    // fresh arrays (made untimed), timed per call. A small dataset's call
                    // lasts microseconds, so a single one would measure what ran just before
                    // it (another version's threads still spinning, or its own waking up).
                    let (mut calls, mut seconds) = (0u32, 0.0);
                    let mut arrays;
                    let mut differs = None;
                    loop {
                        arrays = (kernel.init)(size);
                        seconds += run(kernel, size, v, &mut arrays, &pool, &rayon, t);
                        calls += 1;
                        differs = differs
                            .or_else(|| stencils::first_difference(kernel, &expected, &arrays));
                        if seconds >= sample.as_secs_f64() {
                            break;
                        }
                    }
                    row.seconds[v].push(seconds / f64::from(calls));
                    if let Some((array, at)) = differs {
                        bar.suspend(|| {
                            eprintln!(
                                "stencils: {} {version} with {t} threads differs from the serial loop: \
                                 `{array}` element {at}",
                                kernel.name
                            );
                        });
                        mismatches += 1;
                    }
                    if rep == 0 && v == 0 && t == threads[0] {
                        if let Some(dir) = &args.dump {
                            if let Err(error) = write_dump(dir, kernel, size, &arrays) {
                                eprintln!("stencils: cannot write the dump: {error}");
                                return ExitCode::from(2);
                            }
                        }
                    }
                    bar.inc(1);
                }
            }
            rows.push(row);
        }
    }
    bar.finish_and_clear();

    for kernel in &kernels {
        let size = kernel.sizes[Dataset::ALL.iter().position(|&d| d == dataset).unwrap()];
        let updates = (kernel.updates)(size);
        let kernel_rows: Vec<&Row> = rows.iter().filter(|r| r.kernel == kernel.name).collect();
        if args.json {
            for row in kernel_rows {
                for (v, version) in VERSIONS.iter().enumerate() {
                    let Some(mlups) = row.mlups(v, updates) else {
                        continue;
                    };
                    println!(
                        "{{\"bench\":\"stencils\",\"kernel\":\"{}\",\"dataset\":\"{}\",\"tsteps\":{},\"n\":{},\"m\":{},\
                         \"threads\":{},\"version\":\"{version}\",\"mlups\":{mlups:.3},\"seconds\":{}}}",
                        kernel.name,
                        dataset.name(),
                        size.tsteps,
                        size.n,
                        size.m,
                        row.threads,
                        stats::json_array(&row.seconds[v], |s| format!("{s:.6e}"))
                    );
                }
            }
        } else {
            print_table(kernel, size, updates, &kernel_rows, openmp.err());
        }
    }
    if let Some(path) = &args.plot {
        match plot(path, &kernels, dataset, &rows) {
            Ok(()) => eprintln!("stencils: plot written to {}", path.display()),
            Err(error) => {
                eprintln!("stencils: cannot draw the plot: {error}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(dir) = &args.profile {
        if !profile_kernels(dir, &kernels, dataset, &threads) {
            return ExitCode::from(2);
        }
    }
    eprintln!("stencils: done in {:.1?}", started.elapsed());
    if mismatches > 0 {
        eprintln!("stencils: {mismatches} runs differ from the serial loop");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Runs each kernel's lockstep version once on a profiled pool per thread count, untimed (the
/// measured runs above are not profiled); prints each profile and draws its timeline into `dir`.
fn profile_kernels(dir: &Path, kernels: &[Kernel], dataset: Dataset, threads: &[usize]) -> bool {
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("stencils: cannot create {}: {error}", dir.display());
        return false;
    }
    let mut ok = true;
    for &t in threads {
        let pool = match common::build_pool_profiled(Some(t), true) {
            Ok(pool) => pool,
            Err(error) => {
                eprintln!("stencils: cannot build a profiled pool of {t}: {error}");
                return false;
            }
        };
        for kernel in kernels {
            let size = kernel.sizes[Dataset::ALL.iter().position(|&d| d == dataset).unwrap()];
            let mut arrays = (kernel.init)(size);
            let _ = pool.profile();
            (kernel.lockstep)(size, &mut arrays, &pool);
            eprintln!(
                "\nstencils: profile of {} (lockstep, {t} threads):",
                kernel.name
            );
            let picture = dir.join(format!("{}-{t}.png", kernel.name));
            ok &= common::report_profile("stencils", &pool, Some(&picture), &mut std::io::stderr());
        }
    }
    ok
}

/// Runs version `v` of `kernel` on `arrays`; the seconds.
fn run(
    kernel: &Kernel,
    size: Size,
    v: usize,
    arrays: &mut Arrays,
    pool: &PhasePool,
    rayon: &rayon::ThreadPool,
    threads: usize,
) -> f64 {
    match v {
        0 => (kernel.lockstep)(size, arrays, pool),
        1 => {
            let start = Instant::now();
            (kernel.serial)(size, arrays);
            start.elapsed().as_secs_f64()
        }
        2 => rayon.install(|| {
            let start = Instant::now();
            (kernel.rayon)(size, arrays);
            start.elapsed().as_secs_f64()
        }),
        _ => (kernel.omp)(size, arrays, threads),
    }
}

fn print_table(kernel: &Kernel, size: Size, updates: f64, rows: &[&Row], missing: Option<&str>) {
    let shape = if kernel.name == "fdtd-2d" {
        format!("nx {} ny {}", size.n, size.m)
    } else {
        format!("n {}", size.n)
    };
    println!("\n{} ({shape}, {} steps), MLUP/s", kernel.name, size.tsteps);
    println!(
        "{:>7} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "threads", "lockstep", "serial", "rayon", "openmp", "ls/serial", "ls/rayon", "ls/openmp"
    );
    for row in rows {
        let m: Vec<Option<f64>> = (0..4).map(|v| row.mlups(v, updates)).collect();
        let cell = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.1}"));
        let lockstep = m[0].unwrap_or(f64::NAN);
        // `lockstep / peer` in throughput is `peer / lockstep` in time: stats::ratio's order.
        let ratio = |peer: Option<f64>| {
            peer.map_or_else(|| "-".to_owned(), |p| format!("{:.2}", lockstep / p))
        };
        println!(
            "{:>7} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12}",
            row.threads,
            cell(m[0]),
            cell(m[1]),
            cell(m[2]),
            cell(m[3]),
            ratio(m[1]),
            ratio(m[2]),
            ratio(m[3])
        );
    }
    if let Some(why) = missing {
        println!("openmp: missing ({why})");
    }
}

fn write_dump(dir: &Path, kernel: &Kernel, size: Size, arrays: &Arrays) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(format!("{}.txt", kernel.name)),
        stencils::dump(kernel, size, arrays),
    )
}

/// Draws the median MLUP/s of every version against the thread count, one panel per kernel.
fn plot(
    path: &Path,
    kernels: &[Kernel],
    dataset: Dataset,
    rows: &[Row],
) -> Result<(), Box<dyn Error>> {
    use plotters::prelude::*;

    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font does not parse")?;
    const PANEL: (u32, u32) = (420, 360);
    let columns = kernels.len().clamp(1, 3);
    let lines = kernels.len().div_ceil(columns).max(1);
    let root = BitMapBackend::new(
        path,
        (PANEL.0 * columns as u32, PANEL.1 * lines as u32 + 40),
    )
    .into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "PolyBench stencils, {} dataset: median MLUP/s against threads",
            dataset.name()
        ),
        ("sans-serif", 22),
    )?;
    let max_threads = rows.iter().map(|r| r.threads).max().unwrap_or(1);
    for (panel, kernel) in root.split_evenly((lines, columns)).iter().zip(kernels) {
        let size = kernel.sizes[Dataset::ALL.iter().position(|&d| d == dataset).unwrap()];
        let updates = (kernel.updates)(size);
        let mine: Vec<&Row> = rows.iter().filter(|r| r.kernel == kernel.name).collect();
        let top = mine
            .iter()
            .flat_map(|r| (0..4).filter_map(|v| r.mlups(v, updates)))
            .fold(0.0, f64::max);
        let top = if top > 0.0 { top * 1.25 } else { 1.0 };
        let mut chart = ChartBuilder::on(panel)
            .caption(kernel.name, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0usize..max_threads + 1, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("MLUP/s")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_labels((max_threads + 2).min(17))
            .label_style(("sans-serif", 12))
            .draw()?;
        for (v, version) in VERSIONS.iter().enumerate() {
            let points: Vec<(usize, f64)> = mine
                .iter()
                .filter_map(|r| r.mlups(v, updates).map(|m| (r.threads, m)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let color = Palette99::pick(v).to_rgba();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))?
                .label(*version)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
