//! Measures this machine's BSP parameters, as BSPedupack's `bspbench` does, for every team
//! size from 1 to the cores: the computing rate `r` (flop/s of a DAXPY loop on every worker at
//! once), and the sync latency `l` and per-word cost `g`, fitted by least squares to the time
//! `T(h)` of a superstep routing an h-relation, `h = 0..=hmax`, with coarray puts and with
//! messages.
//!
//! ```text
//! cargo run --release --example bsp_probe                        # hmax 256, bsp_probe.json/.png
//! cargo run --release --example bsp_probe -- --max-threads 4 --hmax 512
//! cargo run --release --example bsp_probe -- --quick             # CI: hmax 32, no files
//! ```
//!
//! Prints `r`, and `g` and `l` in flops (`g r`, `l r`: the BSP convention, comparable across
//! machines) and in ns; writes one JSON object per team size per line (`--json`, which the BSP
//! algorithm examples read with `--params`), and plots the measured `T(h)` beside the fitted
//! lines, one panel per team size (`--plot`). Exits with 0, or 1 if a file cannot be written,
//! 2 on a bad flag.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

#[path = "common/bsp_model.rs"]
mod bsp_model;
#[path = "common/mod.rs"]
mod common;

use bsp_model::{Params, ProbeConfig};

/// This machine's BSP parameters for p = 1..cores, measured as BSPedupack's bspbench does: the
/// computing rate r, and the per-word cost g and sync latency l of puts and of messages, beside
/// an empty sync and plain copies
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// The largest team [default: physical cores, or LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    max_threads: Option<usize>,

    /// The largest h of the h-relations [default: 256; 32 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    hmax: Option<usize>,

    /// Supersteps timed per h [default: 100; 20 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    iterations: Option<usize>,

    /// Where to write the JSON lines [default: bsp_probe.json; none with --quick]
    #[arg(long)]
    json: Option<PathBuf>,

    /// Where to draw T(h) [default: bsp_probe.png; none with --quick]
    #[arg(long)]
    plot: Option<PathBuf>,

    /// CI mode: small h-relations, few iterations, no files unless asked for
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let base = if args.quick {
        ProbeConfig::QUICK
    } else {
        ProbeConfig::FULL
    };
    let config = ProbeConfig {
        hmax: args.hmax.unwrap_or(base.hmax),
        iterations: args.iterations.unwrap_or(base.iterations),
        ..base
    };
    let max_p = match args.max_threads {
        Some(p) => p,
        None => match common::build_pool(None) {
            Ok(pool) => pool.num_threads(),
            Err(error) => {
                eprintln!("bsp_probe: cannot build the pool: {error}");
                return ExitCode::from(2);
            }
        },
    };
    println!(
        "BSP parameters, p = 1..{max_p}: h-relations h = 0..{} (one word per put or message), \
         {} supersteps per h",
        config.hmax, config.iterations
    );
    let all = match bsp_model::probe_all(max_p, &config, |params| {
        println!("{}", bsp_model::describe(params));
        if let Some(peers) = bsp_model::describe_peers(params) {
            println!("{peers}");
        }
    }) {
        Ok(all) => all,
        Err(error) => {
            eprintln!("bsp_probe: cannot build the pool: {error}");
            return ExitCode::from(2);
        }
    };
    let default = |name: &str| (!args.quick).then(|| PathBuf::from(name));
    let json = args.json.clone().or_else(|| default("bsp_probe.json"));
    let plot = args.plot.clone().or_else(|| default("bsp_probe.png"));
    if let Some(path) = json {
        let text: String = all.iter().map(|p| p.to_json() + "\n").collect();
        if let Err(error) = std::fs::write(&path, text) {
            eprintln!("bsp_probe: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    if let Some(path) = plot {
        if let Err(error) = plot_times(&path, &all) {
            eprintln!("bsp_probe: cannot draw {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

/// Draws the measured `T(h)` (points) and the fitted `l + g h` (lines), puts and messages, one
/// panel per team size.
fn plot_times(path: &Path, all: &[Params]) -> Result<(), Box<dyn Error>> {
    use plotters::prelude::*;

    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font does not parse")?;
    const PANEL: (u32, u32) = (480, 400);
    let panels = all.len().max(1);
    let root =
        BitMapBackend::new(path, (PANEL.0 * panels as u32, PANEL.1 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "Superstep time T(h) of an h-relation, measured and fitted",
        ("sans-serif", 22),
    )?;
    for (panel, params) in root.split_evenly((1, panels)).iter().zip(all) {
        let hmax = params.put.times.len().saturating_sub(1);
        let top = params
            .put
            .times
            .iter()
            .chain(&params.send.times)
            .fold(0.0f64, |a, &t| a.max(t * 1e6))
            * 1.2;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("p = {}", params.p), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..hmax as f64, 0.0..top.max(1e-3))?;
        chart
            .configure_mesh()
            .x_desc("h (words)")
            .y_desc("T(h) (µs)")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, (name, fit)) in [("put", &params.put), ("send", &params.send)]
            .into_iter()
            .enumerate()
        {
            let color = Palette99::pick(i).to_rgba();
            let points = fit
                .times
                .iter()
                .enumerate()
                .map(|(h, &t)| (h as f64, t * 1e6));
            chart
                .draw_series(points.map(|at| Circle::new(at, 2, color.filled())))?
                .label(format!(
                    "{name}: g = {:.1} ns, l = {:.2} µs",
                    fit.g * 1e9,
                    fit.l * 1e6
                ))
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
            let line = [0.0, hmax as f64].map(|h| (h, (fit.l + fit.g * h) * 1e6));
            chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
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
