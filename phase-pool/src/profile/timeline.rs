//! [`Profile::draw_timeline`]: a profile as a picture, each worker's computing and waiting
//! along time above a histogram of the steps' imbalance (feature `plot`).

use std::error::Error;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use barrier_core::{WaitCounts, WaitStage};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PhaseKind, PhaseProfile, Profile};

/// Why [`Profile::draw_timeline`] drew nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlotError {
    /// The pool does not record profiles: build it with
    /// [`profile(true)`](crate::PhasePoolBuilder::profile) or `LOCKSTEP_PROFILE=1`.
    Disabled,
    /// The profile holds no phases (none ran since the last
    /// [`PhasePool::profile`](crate::PhasePool::profile)).
    Empty,
    /// Drawing or writing the picture failed (a font, the PNG encoder, the file).
    Draw(String),
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::Disabled => f.write_str(
                "the profile is disabled: build the pool with profile(true) or LOCKSTEP_PROFILE=1",
            ),
            PlotError::Empty => f.write_str("the profile holds no phases to draw"),
            PlotError::Draw(message) => write!(f, "cannot draw the timeline: {message}"),
        }
    }
}

impl Error for PlotError {}

/// The picture's size in pixels.
const SIZE: (u32, u32) = (1400, 900);
/// The most phases the timeline draws: at about 10 px per phase on the picture's width, more
/// would leave the bars of each too thin to read.
const MAX_DRAWN_PHASES: usize = 100;
/// Bins of the imbalance histogram.
const BINS: usize = 20;
/// The narrowest phase, in pixels, that gets its label written above it.
const MIN_LABEL_WIDTH: i32 = 40;
/// The font family the embedded DejaVu Sans is registered under (its own name, so that a
/// program's own `sans-serif` is left alone).
const FONT: &str = "DejaVu Sans";

/// The height of a worker's row in the timeline's y units. The y axis counts in integers: its
/// labels sit at chosen points (the rows' middles), which plotters formats on integer axes
/// only.
const ROW: usize = 100;
/// The part of a row its bars cover, from its bottom, in y units.
const BAR: (usize, usize) = (15, 85);

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

impl Profile {
    /// Draws the profile as a PNG picture of 1400 x 900 pixels at `path`.
    ///
    /// The top panel is a timeline of the first phases (at most 100; the caption says how
    /// many of all), one row per worker, worker 0 at the top, time since the first phase
    /// started along: green where a worker computes, then its wait coloured by how far it
    /// went (spinning, yielding, sleeping), red for the end of a sleep spent waking up (its
    /// mean wake-up latency), light grey for a data-parallel phase a worker was skipped in,
    /// purple for worker 0 in a [serial section](PhaseKind::Serial) (the others idle, blank).
    /// A follower's late start into a phase is drawn as the wait it is. Thin black lines mark
    /// where phases start, with their labels above when there is room.
    ///
    /// The bottom panel is a histogram over every step of every phase (serial sections left
    /// out) of its imbalance, the longest computation over the mean of the workers that took
    /// part (1.0: balanced).
    ///
    /// # Examples
    ///
    /// ```
    /// use phase_pool::PhasePool;
    ///
    /// let pool = PhasePool::builder().threads(2).profile(true).build()?;
    /// let mut data = vec![1.0f64; 10_000];
    /// for _ in 0..10 {
    ///     pool.for_each_chunk_mut(&mut data, 1000, |_, chunk| chunk.iter_mut().for_each(|x| *x *= 1.5));
    /// }
    /// let path = std::env::temp_dir().join("phase-pool-timeline-example.png");
    /// pool.profile().draw_timeline(&path)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PlotError::Disabled`] for the profile of a pool that does not record one,
    /// [`PlotError::Empty`] for one without phases, [`PlotError::Draw`] when drawing or
    /// writing the file fails.
    pub fn draw_timeline(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        if !self.enabled {
            return Err(PlotError::Disabled);
        }
        if self.phases.is_empty() {
            return Err(PlotError::Empty);
        }
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| PlotError::Draw("the embedded DejaVu Sans font does not parse".into()))?;
        let root = BitMapBackend::new(path.as_ref(), SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw)?;
        let title = format!(
            "lockstep profile: {} workers, {} phases",
            self.threads,
            self.phases.len()
        );
        let root = root.titled(&title, (FONT, 24)).map_err(draw)?;
        let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 * 7 / 10);
        self.draw_phases(&upper)?;
        self.draw_imbalance(&lower)?;
        root.present().map_err(draw)
    }

    /// The timeline panel: caption and legend on one line, the chart below.
    fn draw_phases(&self, area: &Area<'_>) -> Result<(), PlotError> {
        let drawn = &self.phases[..self.phases.len().min(MAX_DRAWN_PHASES)];
        let caption = if drawn.len() < self.phases.len() {
            format!(
                "timeline: first {} of {} phases",
                drawn.len(),
                self.phases.len()
            )
        } else {
            format!("timeline: all {} phases", drawn.len())
        };
        let (head, body) = area.split_vertically(30);
        draw_legend(&head, &caption)?;

        let end = drawn
            .iter()
            .map(|phase| phase.start + phase.wall)
            .max()
            .unwrap_or_default();
        let scale = Scale::new(drawn[0].start, end);
        let rows = self.threads.max(1);
        // Label every worker, or every k-th when rows get thinner than a line of text.
        let every = (rows * 16)
            .div_ceil(body.dim_in_pixel().1.max(1) as usize)
            .max(1);
        let ticks = (0..rows)
            .step_by(every)
            .map(|w| row(rows, w) + ROW / 2)
            .collect();
        let mut chart = ChartBuilder::on(&body)
            .margin(10)
            .margin_top(24)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..scale.span, (0..rows * ROW).with_key_points(ticks))
            .map_err(draw)?;
        let x_label = |x: &f64| scale.label(*x);
        let y_label = |y: &usize| format!("{}", (rows - 1).saturating_sub(y / ROW));
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!(
                "time since the first phase started ({})",
                scale.unit
            ))
            .y_desc("worker")
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(draw)?;

        let bars = bars(drawn);
        for part in Part::ALL {
            chart
                .draw_series(bars.iter().filter(|bar| bar.part == part).map(|bar| {
                    let y = row(rows, bar.worker);
                    Rectangle::new(
                        [(scale.x(bar.from), y + BAR.0), (scale.x(bar.to), y + BAR.1)],
                        part.colour().filled(),
                    )
                }))
                .map_err(draw)?;
        }
        chart
            .draw_series(drawn.iter().map(|phase| {
                let x = scale.x(phase.start);
                PathElement::new([(x, 0), (x, rows * ROW)], BLACK.stroke_width(1))
            }))
            .map_err(draw)?;

        // Labels go just above the plotting area, centred over their phase.
        let style =
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        let base = body.get_base_pixel();
        for phase in drawn {
            let Some(label) = phase.label else { continue };
            let (left, top) = chart.backend_coord(&(scale.x(phase.start), rows * ROW));
            let (right, _) = chart.backend_coord(&(scale.x(phase.start + phase.wall), rows * ROW));
            let (text_width, _) = body.estimate_text_size(label, &style).map_err(draw)?;
            let width = right - left;
            if width >= MIN_LABEL_WIDTH && i32::try_from(text_width).is_ok_and(|w| w + 4 <= width) {
                let at = ((left + right) / 2 - base.0, top - 3 - base.1);
                body.draw(&Text::new(label, at, style.clone()))
                    .map_err(draw)?;
            }
        }
        Ok(())
    }

    /// The histogram panel: the imbalance of every step of every phase.
    fn draw_imbalance(&self, area: &Area<'_>) -> Result<(), PlotError> {
        let ratios = imbalances(&self.phases);
        let high = ratios.iter().copied().fold(1.1, f64::max);
        let width = (high - 1.0) / BINS as f64;
        let mut counts = [0usize; BINS];
        for ratio in &ratios {
            let bin = ((ratio - 1.0) / width).max(0.0) as usize;
            counts[bin.min(BINS - 1)] += 1;
        }
        let most = counts.iter().copied().max().unwrap_or(0);
        let caption = format!(
            "imbalance of {} steps, all phases (the profile's: {:.2})",
            ratios.len(),
            self.summary().imbalance
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..high, 0..most + (most / 8).max(1))
            .map_err(draw)?;
        let x_label = |x: &f64| format!("{x:.2}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("imbalance (max / mean compute per step)")
            .y_desc("steps")
            .x_label_formatter(&x_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(draw)?;
        let colour = RGBColor(70, 110, 170);
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &count)| count > 0)
                    .map(|(bin, &count)| {
                        let low = 1.0 + bin as f64 * width;
                        let mut bar =
                            Rectangle::new([(low, 0), (low + width, count)], colour.filled());
                        bar.set_margin(0, 0, 1, 1);
                        bar
                    }),
            )
            .map_err(draw)?;
        Ok(())
    }
}

/// What a stretch of a worker's time is, in the legend's order (which is also the drawing
/// order: a wake-up is drawn over the sleep it ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Compute,
    Serial,
    Spin,
    Yield,
    Park,
    WakeUp,
    Skipped,
}

impl Part {
    const ALL: [Part; 7] = [
        Part::Compute,
        Part::Serial,
        Part::Spin,
        Part::Yield,
        Part::Park,
        Part::WakeUp,
        Part::Skipped,
    ];

    fn of(stage: WaitStage) -> Part {
        match stage {
            WaitStage::Park => Part::Park,
            WaitStage::Yield => Part::Yield,
            _ => Part::Spin,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Part::Compute => "compute",
            Part::Serial => "serial",
            Part::Spin => "spin",
            Part::Yield => "yield",
            Part::Park => "park",
            Part::WakeUp => "wake-up",
            Part::Skipped => "skipped",
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            Part::Compute => RGBColor(60, 170, 80),
            Part::Serial => RGBColor(150, 95, 190),
            Part::Spin => RGBColor(250, 180, 110),
            Part::Yield => RGBColor(235, 215, 50),
            Part::Park => RGBColor(120, 140, 170),
            Part::WakeUp => RGBColor(215, 35, 35),
            Part::Skipped => RGBColor(215, 215, 215),
        }
    }
}

/// A stretch of one worker's time, since the pool was built.
struct Bar {
    part: Part,
    worker: usize,
    from: Duration,
    to: Duration,
}

/// The bars of `phases`.
fn bars(phases: &[PhaseProfile]) -> Vec<Bar> {
    let mut bars = Vec::new();
    for phase in phases {
        let at = |offset: Duration| phase.start + offset;
        for (worker, part) in phase.workers.iter().enumerate() {
            if !part.ran {
                // The others idle through a serial section: their wait for the next phase
                // belongs to that phase.
                if phase.kind == PhaseKind::Serial {
                    continue;
                }
                bars.push(Bar {
                    part: Part::Skipped,
                    worker,
                    from: phase.start,
                    to: at(phase.wall),
                });
            } else if worker > 0 {
                // A follower's counts are those of its wait for the phase, which ends here.
                push_wait(
                    &mut bars,
                    worker,
                    phase.start,
                    at(part.start),
                    &part.waited,
                    true,
                );
            }
        }
        let compute = match phase.kind {
            PhaseKind::Serial => Part::Serial,
            _ => Part::Compute,
        };
        for step in &phase.steps {
            for (worker, part) in step.workers.iter().enumerate().filter(|(_, w)| w.ran) {
                let arrived = at(part.arrived());
                bars.push(Bar {
                    part: compute,
                    worker,
                    from: at(part.start),
                    to: arrived,
                });
                // In a data-parallel phase a follower's wake-up was drawn at its late start;
                // the leader's counts and a run's are those of this wait.
                let wakes_here = phase.kind == PhaseKind::Run || worker == 0;
                let to = arrived + part.wait;
                push_wait(&mut bars, worker, arrived, to, &part.waited, wakes_here);
            }
        }
    }
    bars
}

/// A wait from `from` to `to` coloured by its stage; a sleep that a wake-up ended (when
/// `wakes_here`) ends with the mean wake-up latency in red.
fn push_wait(
    bars: &mut Vec<Bar>,
    worker: usize,
    from: Duration,
    to: Duration,
    counts: &WaitCounts,
    wakes_here: bool,
) {
    if to <= from {
        return;
    }
    let stage = counts.stage();
    bars.push(Bar {
        part: Part::of(stage),
        worker,
        from,
        to,
    });
    if wakes_here && stage == WaitStage::Park && counts.wakeups > 0 {
        let late = counts.mean_wake_latency().min(to - from);
        bars.push(Bar {
            part: Part::WakeUp,
            worker,
            from: to - late,
            to,
        });
    }
}

/// Each step's longest computation over the mean of the workers that took part (serial
/// sections, which worker 0 runs alone, and steps without computation left out).
fn imbalances(phases: &[PhaseProfile]) -> Vec<f64> {
    phases
        .iter()
        .filter(|phase| phase.kind != PhaseKind::Serial)
        .flat_map(|phase| &phase.steps)
        .filter_map(|step| {
            let ran: Vec<f64> = step
                .workers
                .iter()
                .filter(|w| w.ran)
                .map(|w| w.compute.as_secs_f64())
                .collect();
            let total: f64 = ran.iter().sum();
            let longest = ran.iter().copied().fold(0.0, f64::max);
            (total > 0.0).then(|| longest * ran.len() as f64 / total)
        })
        .collect()
}

/// The chart's y value at the bottom of worker `worker`'s row (worker 0 at the top).
fn row(rows: usize, worker: usize) -> usize {
    (rows - 1 - worker) * ROW
}

/// The time axis: a moment as a number of microseconds, or milliseconds for longer spans,
/// since `origin`.
struct Scale {
    origin: Duration,
    seconds_per_unit: f64,
    unit: &'static str,
    span: f64,
}

impl Scale {
    fn new(origin: Duration, end: Duration) -> Scale {
        let seconds = end.saturating_sub(origin).as_secs_f64();
        // From 10 ms on, µs figures get five digits: switch to ms.
        let (seconds_per_unit, unit) = if seconds >= 0.01 {
            (1e-3, "ms")
        } else {
            (1e-6, "µs")
        };
        let span = seconds / seconds_per_unit;
        Scale {
            origin,
            seconds_per_unit,
            unit,
            span: if span > 0.0 { span } else { 1.0 },
        }
    }

    fn x(&self, at: Duration) -> f64 {
        at.saturating_sub(self.origin).as_secs_f64() / self.seconds_per_unit
    }

    /// An axis label with as many decimals as the span needs.
    fn label(&self, x: f64) -> String {
        match self.span {
            s if s >= 10.0 => format!("{x:.0}"),
            s if s >= 1.0 => format!("{x:.1}"),
            _ => format!("{x:.2}"),
        }
    }
}

/// The caption on the left of `area`, the legend's swatches on the right.
fn draw_legend(area: &Area<'_>, caption: &str) -> Result<(), PlotError> {
    const SWATCH: i32 = 14;
    let (width, height) = area.dim_in_pixel();
    let middle = height as i32 / 2;
    let left = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(caption, (70, middle), left))
        .map_err(draw)?;
    let style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut widths = Vec::with_capacity(Part::ALL.len());
    for part in Part::ALL {
        let (text, _) = area.estimate_text_size(part.name(), &style).map_err(draw)?;
        widths.push(SWATCH + 6 + text as i32 + 18);
    }
    let mut x = width as i32 - 20 - widths.iter().sum::<i32>();
    for (part, item) in Part::ALL.into_iter().zip(widths) {
        let corners = [(x, middle - SWATCH / 2), (x + SWATCH, middle + SWATCH / 2)];
        area.draw(&Rectangle::new(corners, part.colour().filled()))
            .map_err(draw)?;
        area.draw(&Rectangle::new(corners, BLACK.mix(0.5)))
            .map_err(draw)?;
        area.draw(&Text::new(
            part.name(),
            (x + SWATCH + 6, middle),
            style.clone(),
        ))
        .map_err(draw)?;
        x += item;
    }
    Ok(())
}

/// A plotters error (generic over the backend) as a [`PlotError`].
fn draw(error: impl fmt::Display) -> PlotError {
    PlotError::Draw(error.to_string())
}
