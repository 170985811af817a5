//! lockstep side by side with its peers, in one program: barrier episode latency against
//! `std::sync::Barrier` and `hurdles`, the Jacobi sweep against rayon and a serial loop at
//! several sizes, and the cost of an empty phase with a max-reduction against rayon's broadcast,
//! at every thread count of `--threads`, with the ratios.
//!
//! ```text
//! cargo run --release --example compare                            # 1,2,4,..,cores; ~1 min
//! cargo run --release --example compare -- --threads 1,2 --sizes 256,1024 --plot jacobi.png
//! cargo run --release --example compare -- --json                  # one JSON object per line
//! cargo run --release --example compare -- --quick                 # CI smoke, a few seconds
//! ```
//!
//! The measurements are the ones of `barrier_compare` and `pool_compare` (the same code, in
//! `examples/common/barriers.rs` and `examples/common/pool_bench.rs`; see those programs for the
//! method): interleaved repetitions, medians, and ratios of medians. Barriers are measured at
//! the thread counts of at least 2. The output is those programs' tables followed by a summary,
//! one row per thread count: the fastest lockstep barrier against std and hurdles, lockstep's
//! Jacobi throughput over rayon's and the serial loop's at every size, and lockstep's cheapest
//! phase over rayon's broadcast. `--json` prints the same as one JSON object per line (the
//! objects of both programs, then one `"bench":"summary"` object per thread count).
//!
//! `--plot FILE.png` draws Jacobi throughput (median MLUP/s) against the thread count, one panel
//! per grid size and one line per contender, with plotters' bitmap backend and the DejaVu Sans
//! font embedded by the `dejavu` crate (no system font library needed).

#[path = "common/barriers.rs"]
mod barriers;
#[path = "common/mod.rs"]
mod common;
#[path = "common/interference.rs"]
mod interference;
#[path = "common/pool_bench.rs"]
mod pool_bench;
#[path = "common/stats.rs"]
mod stats;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use barriers::{Contender, Length, CONTENDERS};
use clap::Parser;
use pool_bench::{find, Config, Phase, JACOBI, PHASES, VERIFY_STEPS};
use stats::json_ratio;

const DEFAULT_SIZES: &[usize] = &[128, 512, 2048];
const QUICK_SIZES: &[usize] = &[64, 256];
const DEFAULT_REPS: usize = 5;
const QUICK_REPS: usize = 3;
/// Per timed run: on 2 cores (threads 1,2) 9 barrier runs + 2 x 20 pool runs = 49 runs per
/// rep, x 5 reps x 150 ms is about 37 s.
const DEFAULT_BUDGET: Duration = Duration::from_millis(150);
/// `--quick`: the budget of one run is [`QUICK_TOTAL`] over all the runs (39 x 3 reps on 2
/// cores: 25 ms), kept within these bounds.
const QUICK_BUDGET: (Duration, Duration) = (Duration::from_millis(5), Duration::from_millis(25));
/// `--quick`: the target of the timed runs together, about 3 s (plus the set-up).
const QUICK_TOTAL: Duration = Duration::from_secs(3);

/// lockstep beside its peers in one run: barrier episodes against std and hurdles, Jacobi sweeps
/// and empty phases against rayon, OpenMP and serial loops, with a summary of ratios.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Thread counts, comma-separated; barriers use those of at least 2 [default: 1,2,4,...
    /// up to the available cores, the core count included]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = common::at_least(1)
    )]
    threads: Option<Vec<usize>>,

    /// Jacobi grid sizes n, comma-separated, each at least 3 [default: 128,512,2048; 64,256
    /// with --quick]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = common::at_least(3)
    )]
    sizes: Option<Vec<usize>>,

    /// Interleaved repetitions; the median is reported [default: 5; 3 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    reps: Option<usize>,

    /// Target duration of one timed run, in milliseconds [default: 150; with --quick 3 s over
    /// all runs, within 5..25]
    #[arg(long, value_name = "MS", value_parser = common::at_least(1))]
    budget_ms: Option<usize>,

    /// One JSON object per line on stdout instead of the tables
    #[arg(long)]
    json: bool,

    /// Draw Jacobi MLUP/s against the thread count into this PNG, one panel per size
    #[arg(long, value_name = "FILE.png", value_parser = parse_png)]
    plot: Option<PathBuf>,

    /// Run a CPU-bound process pinned to CORE during the whole measurement
    #[arg(long, value_name = "CORE")]
    interference: Option<usize>,

    /// CI mode: a smoke run of about 3 s, small sizes and 3 short reps
    #[arg(long)]
    quick: bool,
}

/// A path that ends in `.png` (only PNG is drawn).
fn parse_png(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        Ok(path)
    } else {
        Err(format!("`{text}` does not end in .png (only PNG is drawn)"))
    }
}

#[derive(Debug)]
struct Options {
    config: Config,
    json: bool,
    plot: Option<PathBuf>,
}

/// 1, 2, 4, ... below `cores`, then `cores`.
fn default_threads(cores: usize) -> Vec<usize> {
    let mut threads: Vec<usize> = std::iter::successors(Some(1usize), |t| t.checked_mul(2))
        .take_while(|&t| t < cores)
        .collect();
    threads.push(cores);
    threads
}

impl Options {
    /// The options of `args`, defaults filled in.
    fn new(args: Args) -> Options {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let quick = args.quick;
        let mut threads = args.threads.unwrap_or_else(|| default_threads(cores));
        threads.sort_unstable();
        threads.dedup();
        let sizes = args
            .sizes
            .unwrap_or_else(|| (if quick { QUICK_SIZES } else { DEFAULT_SIZES }).to_vec());
        let reps = common::or_default(args.reps, quick, DEFAULT_REPS, QUICK_REPS);
        let quick_budget = {
            let barrier_runs = threads.iter().filter(|&&t| t >= 2).count() * CONTENDERS.len();
            let pool_runs = threads.len() * (JACOBI.len() * sizes.len() + PHASES.len());
            let runs = ((barrier_runs + pool_runs) * reps).max(1) as u32;
            (QUICK_TOTAL / runs).clamp(QUICK_BUDGET.0, QUICK_BUDGET.1)
        };
        let budget = args.budget_ms.map(|ms| Duration::from_millis(ms as u64));
        let budget = common::or_default(budget, quick, DEFAULT_BUDGET, quick_budget);
        let config = Config {
            threads,
            sizes,
            reps,
            budget,
            interference: args.interference,
        };
        Options {
            config,
            json: args.json,
            plot: args.plot,
        }
    }
}

fn main() -> ExitCode {
    if let Some(code) = interference::run_child_if_asked() {
        return code;
    }
    if let Some(code) = common::rerun_for_openmp("compare") {
        return code;
    }
    let options = Options::new(Args::parse());
    let config = &options.config;
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    eprintln!(
        "compare: threads {:?}, sizes {:?}, {} reps of ~{:?} (available parallelism: {cores})",
        config.threads, config.sizes, config.reps, config.budget
    );

    // Bounded by itself too: far longer than the measurement takes.
    let limit = config.budget * 2000 + Duration::from_secs(120);
    let _busy = match interference::start_or_exit("compare", config.interference, limit) {
        Ok(busy) => busy,
        Err(code) => return code,
    };
    let barrier_threads: Vec<usize> = config.threads.iter().copied().filter(|&t| t >= 2).collect();
    eprintln!("barrier episodes at threads {barrier_threads:?}:");
    let barrier_series = barriers::measure(
        &barrier_threads,
        &CONTENDERS,
        config.reps,
        Length::Budget(config.budget),
        false,
    );
    eprintln!("Jacobi and phase overhead:");
    let mut pool_series = Vec::new();
    for &threads in &config.threads {
        if let Err(message) = pool_bench::measure(config, threads, &mut pool_series) {
            eprintln!("compare: {message}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("  every contender's first {VERIFY_STEPS} sweeps agree bitwise");

    let summaries: Vec<Summary> = config
        .threads
        .iter()
        .map(|&t| Summary::new(config, &barrier_series, &pool_series, t))
        .collect();
    if options.json {
        barriers::print_json(&barrier_series, cores);
        pool_bench::print_json(config, &pool_series, cores);
        for summary in &summaries {
            summary.print_json(cores);
        }
    } else {
        if !barrier_series.is_empty() {
            barriers::print_table(&barrier_series, cores);
            println!();
        }
        pool_bench::print_tables(config, &pool_series, cores);
        println!();
        print_summary(config, &summaries, cores);
    }
    if let Some(path) = &options.plot {
        if let Err(error) = plot_jacobi(path, config, &pool_series) {
            eprintln!("compare: cannot draw {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("compare: wrote {}", path.display());
    }
    eprintln!("compare: done in {:.1?}", started.elapsed());
    ExitCode::SUCCESS
}

/// The headline numbers of one thread count.
#[derive(Debug)]
struct Summary {
    threads: usize,
    /// The fastest lockstep barrier (median ns per episode), if barriers ran at this count.
    best_barrier: Option<(Contender, f64)>,
    std_ns: Option<f64>,
    hurdles_ns: Option<f64>,
    /// Per size: `(n, lockstep / rayon, lockstep / serial)` of the median MLUP/s.
    jacobi: Vec<(usize, f64, f64)>,
    /// lockstep's cheapest phase over `rayon-broadcast`, in ns per phase (below 1: cheaper).
    phase_over_rayon: f64,
}

impl Summary {
    fn new(
        config: &Config,
        barrier_series: &[barriers::Series],
        pool_series: &[pool_bench::Series],
        threads: usize,
    ) -> Summary {
        let at = |c: Contender| barriers::peer_median(barrier_series, c, threads);
        let best_barrier = barrier_series
            .iter()
            .filter(|s| s.threads == threads)
            .filter(|s| matches!(s.contender, Contender::Lockstep(_) | Contender::Seated(_)))
            .map(|s| (s.contender, s.median()))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let jacobi_median = |c: &str, n| find(pool_series, "jacobi", c, threads, Some(n)).median();
        let jacobi = config
            .sizes
            .iter()
            .map(|&n| {
                let lockstep = jacobi_median("lockstep", n);
                (
                    n,
                    lockstep / jacobi_median("rayon", n),
                    lockstep / jacobi_median("serial", n),
                )
            })
            .collect();
        let phase = |p: Phase| find(pool_series, "phase", p.name(), threads, None).median();
        let cheapest = [Phase::MapReduceIndex, Phase::RunReduce, Phase::ReduceInRun]
            .map(phase)
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        Summary {
            threads,
            best_barrier,
            std_ns: at(Contender::Std),
            hurdles_ns: at(Contender::Hurdles),
            jacobi,
            phase_over_rayon: cheapest / phase(Phase::RayonBroadcast),
        }
    }

    fn print_json(&self, cores: usize) {
        let mut line = format!(
            "{{\"bench\":\"summary\",\"threads\":{},\"cores\":{cores},",
            self.threads
        );
        match self.best_barrier {
            Some((contender, ns)) => {
                line += &format!(
                    "\"best_barrier\":\"{}\",\"best_barrier_ns\":{ns:.1},\"std_over_best\":{},\
                     \"hurdles_over_best\":{},",
                    contender.name(),
                    json_ratio(self.std_ns, ns),
                    json_ratio(self.hurdles_ns, ns)
                );
            }
            None => line += "\"best_barrier\":null,",
        }
        let jacobi: Vec<String> = self
            .jacobi
            .iter()
            .map(|(n, rayon, serial)| {
                format!(
                    "{{\"n\":{n},\"lockstep_over_rayon\":{rayon:.4},\
                     \"lockstep_over_serial\":{serial:.4}}}"
                )
            })
            .collect();
        line += &format!(
            "\"jacobi\":[{}],\"phase_cheapest_over_rayon_broadcast\":{:.4}}}",
            jacobi.join(","),
            self.phase_over_rayon
        );
        println!("{line}");
    }
}

fn print_summary(config: &Config, summaries: &[Summary], cores: usize) {
    println!(
        "Summary, medians of {} interleaved runs of ~{} ms ({cores} cores available)",
        config.reps,
        config.budget.as_millis()
    );
    let mut header = format!(
        "{:>7}  {:<23} {:>10} {:>9} {:>13}",
        "threads", "best lockstep barrier", "ns", "std/best", "hurdles/best"
    );
    for n in &config.sizes {
        header += &format!(" {:>22}", format!("n={n} /rayon /serial"));
    }
    header += &format!(" {:>15}", "phase/rayon-bc");
    println!("{header}");
    for s in summaries {
        let mut row = match s.best_barrier {
            Some((contender, ns)) => format!(
                "{:>7}  {:<23} {ns:>10.1} {:>9} {:>13}",
                s.threads,
                contender.name(),
                stats::ratio(s.std_ns, ns),
                stats::ratio(s.hurdles_ns, ns)
            ),
            None => format!(
                "{:>7}  {:<23} {:>10} {:>9} {:>13}",
                s.threads, "-", "-", "-", "-"
            ),
        };
        for (_, rayon, serial) in &s.jacobi {
            row += &format!(" {:>22}", format!("{rayon:.2}x {serial:.2}x"));
        }
        row += &format!(" {:>14.3}x", s.phase_over_rayon);
        println!("{row}");
    }
    println!(
        "(std/best, hurdles/best and Jacobi /rayon, /serial: above 1 = lockstep faster; \
         phase/rayon-bc: lockstep's cheapest phase over rayon-broadcast, below 1 = cheaper)"
    );
}

/// Draws the median Jacobi MLUP/s of every contender against the thread count into a PNG at
/// `path`, one panel per grid size.
fn plot_jacobi(
    path: &Path,
    config: &Config,
    series: &[pool_bench::Series],
) -> Result<(), Box<dyn Error>> {
    use plotters::prelude::*;

    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font does not parse")?;
    const PANEL: (u32, u32) = (520, 440);
    let panels = config.sizes.len().max(1);
    let root =
        BitMapBackend::new(path, (PANEL.0 * panels as u32, PANEL.1 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "Jacobi throughput against threads (median MLUP/s of {} runs)",
            config.reps
        ),
        ("sans-serif", 22),
    )?;
    let max_threads = config.threads.iter().copied().max().unwrap_or(1);
    for (panel, &n) in root.split_evenly((1, panels)).iter().zip(&config.sizes) {
        let top = series
            .iter()
            .filter(|s| s.bench == "jacobi" && s.n == Some(n))
            .map(pool_bench::Series::median)
            .fold(0.0, f64::max);
        let top = if top > 0.0 { top * 1.25 } else { 1.0 };
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("n = {n}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0usize..max_threads + 1, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("MLUP/s")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_labels((max_threads + 2).min(17))
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, contender) in pool_bench::jacobi_contenders().iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(usize, f64)> = config
                .threads
                .iter()
                .map(|&t| {
                    (
                        t,
                        find(series, "jacobi", contender.name(), t, Some(n)).median(),
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))?
                .label(contender.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
