//! [`Summary`]: a profile's figures (imbalance, waiting, stragglers), and the table a
//! [`Profile`] prints.

use std::fmt;
use std::time::Duration;

use barrier_core::{WaitCounts, WaitStage};

use super::{PhaseKind, PhaseProfile, Profile};

/// The figures of a set of phases (a whole [`Profile`], or the phases of one label).
///
/// A step is a data-parallel phase or a superstep of a run (see [`Step`](super::Step)). In
/// each step a worker *computes* and then *waits* for the others; the step lasts until the
/// last one arrives, so what a worker loses is the step's length less its computation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// Phases counted.
    pub phases: usize,
    /// Their steps.
    pub steps: usize,
    /// Their wall time together.
    pub wall: Duration,
    /// Σ over steps of the longest computation / Σ over steps of the mean computation (of the
    /// workers that took part): 1.0 when every worker computes as long as the others, 2.0 when
    /// the slowest takes twice the mean. What the steps would save with perfect balance is
    /// `1 - 1 / imbalance` of their computing time.
    pub imbalance: f64,
    /// The share of the workers' time in the steps spent not computing (waiting for the
    /// others, waking up late, or skipped): 0.0 for none.
    pub waiting_share: f64,
    /// The worker that arrived last most often, and in how many steps.
    pub straggler: Option<(usize, usize)>,
    /// By worker index.
    pub workers: Vec<WorkerSummary>,
}

/// One worker's figures in a [`Summary`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerSummary {
    /// Time computing.
    pub compute: Duration,
    /// Time in the steps not computing.
    pub lost: Duration,
    /// Steps in which it arrived last.
    pub slowest: usize,
    /// Data-parallel phases it was skipped in (its share done by the others).
    pub skipped: usize,
    /// Its start in the phases it ran, summed: a follower's delay in joining each phase.
    pub late_start: Duration,
    /// Phases it ran.
    pub ran: usize,
    /// Waits (one per step it took part in) that only spun, that yielded, that slept.
    pub spun: usize,
    /// See [`spun`](Self::spun).
    pub yielded: usize,
    /// See [`spun`](Self::spun).
    pub parked: usize,
    /// Its waits' counts together.
    pub counts: WaitCounts,
}

impl Summary {
    pub(crate) fn of<'a>(
        threads: usize,
        phases: impl Iterator<Item = &'a PhaseProfile>,
    ) -> Summary {
        let mut workers = vec![WorkerSummary::default(); threads];
        let (mut count, mut steps, mut wall) = (0, 0, Duration::ZERO);
        let (mut max_sum, mut mean_sum) = (0.0, 0.0);
        let (mut computing, mut present) = (Duration::ZERO, Duration::ZERO);
        for phase in phases {
            count += 1;
            wall += phase.wall;
            for (summary, worker) in workers.iter_mut().zip(&phase.workers) {
                if worker.ran {
                    summary.ran += 1;
                    summary.late_start += worker.start;
                } else if phase.kind == PhaseKind::DataParallel {
                    summary.skipped += 1;
                }
            }
            for step in &phase.steps {
                steps += 1;
                let span = step.end.saturating_sub(step.start);
                let ran: Vec<_> = step.workers.iter().filter(|w| w.ran).collect();
                if ran.is_empty() {
                    continue;
                }
                let longest = ran.iter().map(|w| w.compute).max().unwrap_or_default();
                let total: Duration = ran.iter().map(|w| w.compute).sum();
                max_sum += longest.as_secs_f64();
                mean_sum += total.as_secs_f64() / ran.len() as f64;
                if let Some(last) = step.straggler() {
                    workers[last].slowest += 1;
                }
                for (summary, worker) in workers.iter_mut().zip(&step.workers) {
                    // A skipped worker loses the whole step (its core did other work, or none).
                    present += span;
                    if !worker.ran {
                        summary.lost += span;
                        continue;
                    }
                    summary.compute += worker.compute;
                    summary.lost += span.saturating_sub(worker.compute);
                    computing += worker.compute.min(span);
                    match worker.waited.stage() {
                        WaitStage::Park => summary.parked += 1,
                        WaitStage::Yield => summary.yielded += 1,
                        _ => summary.spun += 1,
                    }
                    summary.counts.add(&worker.waited);
                }
            }
        }
        let straggler = workers
            .iter()
            .enumerate()
            .max_by_key(|(index, worker)| (worker.slowest, std::cmp::Reverse(*index)))
            .filter(|(_, worker)| worker.slowest > 0)
            .map(|(index, worker)| (index, worker.slowest));
        Summary {
            phases: count,
            steps,
            wall,
            imbalance: if mean_sum > 0.0 {
                max_sum / mean_sum
            } else {
                1.0
            },
            waiting_share: if present.is_zero() {
                0.0
            } else {
                1.0 - computing.as_secs_f64() / present.as_secs_f64()
            },
            straggler,
            workers,
        }
    }
}

/// A duration in the unit that suits it, three significant digits.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        let (value, unit) = if s >= 1.0 {
            (s, "s")
        } else if s >= 1e-3 {
            (s * 1e3, "ms")
        } else if s >= 1e-6 {
            (s * 1e6, "us")
        } else {
            (s * 1e9, "ns")
        };
        let text = if value >= 100.0 {
            format!("{value:.0} {unit}")
        } else if value >= 10.0 {
            format!("{value:.1} {unit}")
        } else {
            format!("{value:.2} {unit}")
        };
        f.pad(&text)
    }
}

fn mean(total: Duration, n: usize) -> Duration {
    u32::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .map_or(Duration::ZERO, |n| total / n)
}

/// The profile as two tables: one row per label (the phases' figures), one per worker.
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return writeln!(
                f,
                "profile: off (build the pool with .profile(true) or set LOCKSTEP_PROFILE=1)"
            );
        }
        let all = self.summary();
        writeln!(
            f,
            "profile: {} workers, {} phases, {} steps, {} wall{}",
            self.threads,
            all.phases,
            all.steps,
            Human(all.wall),
            if self.unrecorded > 0 {
                format!(" ({} more phases not recorded)", self.unrecorded)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "{:<16} {:>7} {:>7} {:>10} {:>10} {:>9} {:>8} {:>16}",
            "label", "phases", "steps", "wall", "per phase", "imbalance", "waiting", "straggler"
        )?;
        for (label, summary) in self.summaries_by_label() {
            let straggler = summary.straggler.map_or_else(
                || "-".to_owned(),
                |(worker, steps)| format!("w{worker} ({steps}/{})", summary.steps),
            );
            writeln!(
                f,
                "{:<16} {:>7} {:>7} {:>10} {:>10} {:>9.2} {:>7.1}% {:>16}",
                label.unwrap_or("-"),
                summary.phases,
                summary.steps,
                Human(summary.wall),
                Human(mean(summary.wall, summary.phases)),
                summary.imbalance,
                100.0 * summary.waiting_share,
                straggler
            )?;
        }
        writeln!(
            f,
            "{:<6} {:>10} {:>10} {:>10} {:>8} {:>8} {:>18} {:>9} {:>10} {:>10}",
            "worker",
            "compute",
            "waiting",
            "late start",
            "slowest",
            "skipped",
            "spun/yield/park",
            "wake-ups",
            "wake mean",
            "wake max"
        )?;
        for (index, worker) in all.workers.iter().enumerate() {
            writeln!(
                f,
                "{:<6} {:>10} {:>10} {:>10} {:>8} {:>8} {:>18} {:>9} {:>10} {:>10}",
                index,
                Human(worker.compute),
                Human(worker.lost),
                Human(mean(worker.late_start, worker.ran)),
                worker.slowest,
                worker.skipped,
                format!("{}/{}/{}", worker.spun, worker.yielded, worker.parked),
                worker.counts.wakeups,
                Human(worker.counts.mean_wake_latency()),
                Human(worker.counts.max_wake_latency),
            )?;
        }
        Ok(())
    }
}
