//! A [`Profile`] as JSON lines (one object per phase) or CSV (one row per worker and step),
//! for plotting or comparing elsewhere. Times are integer nanoseconds.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use barrier_core::{WaitCounts, WaitStage};

use super::{PhaseKind, PhaseProfile, Profile};

impl Profile {
    /// Writes one JSON object per phase and line:
    ///
    /// ```text
    /// {"phase":3,"label":"E","kind":"data-parallel","start_ns":81234,"wall_ns":5120,
    ///  "workers":[{"worker":0,"ran":true,"start_ns":0,"busy_ns":4100,"stage":"spin",...},...],
    ///  "steps":[{"start_ns":0,"end_ns":5120,"workers":[{"worker":0,"ran":true,"start_ns":0,
    ///  "compute_ns":4100,"wait_ns":1020,"stage":"spin","spins":12,...},...]}]}
    /// ```
    ///
    /// (shown wrapped; each object is on one line). A worker's and a step worker's wait
    /// fields are `stage` (`spin`, `yield`, `park`), `spins`, `yields`, `parks`, `wakeups`
    /// and `wake_latency_ns`.
    ///
    /// # Errors
    ///
    /// What writing to `out` returns.
    pub fn write_json_lines(&self, mut out: impl Write) -> io::Result<()> {
        for phase in &self.phases {
            writeln!(out, "{}", phase_json(phase))?;
        }
        Ok(())
    }

    /// Writes a header line and one row per phase, step and worker: `phase`, `label`, `kind`,
    /// `phase_start_ns`, `phase_wall_ns`, `step`, `worker`, `ran`, `start_ns`, `compute_ns`,
    /// `wait_ns`, `stage`, `spins`, `yields`, `parks`, `wakeups`, `wake_latency_ns`.
    ///
    /// # Errors
    ///
    /// What writing to `out` returns.
    pub fn write_csv(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(
            out,
            "phase,label,kind,phase_start_ns,phase_wall_ns,step,worker,ran,start_ns,compute_ns,\
             wait_ns,stage,spins,yields,parks,wakeups,wake_latency_ns"
        )?;
        for phase in &self.phases {
            for (index, step) in phase.steps.iter().enumerate() {
                for (worker, part) in step.workers.iter().enumerate() {
                    let counts = &part.waited;
                    writeln!(
                        out,
                        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        phase.number,
                        csv_field(phase.label.unwrap_or("")),
                        kind_name(phase.kind),
                        ns(phase.start),
                        ns(phase.wall),
                        index,
                        worker,
                        part.ran,
                        ns(part.start),
                        ns(part.compute),
                        ns(part.wait),
                        stage_name(counts.stage()),
                        counts.spins,
                        counts.yields,
                        counts.parks,
                        counts.wakeups,
                        ns(counts.wake_latency),
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn phase_json(phase: &PhaseProfile) -> String {
    let mut line = String::with_capacity(256);
    let label = phase.label.map_or_else(|| "null".to_owned(), json_string);
    let _ = write!(
        line,
        "{{\"phase\":{},\"label\":{label},\"kind\":\"{}\",\"start_ns\":{},\"wall_ns\":{},\"workers\":[",
        phase.number,
        kind_name(phase.kind),
        ns(phase.start),
        ns(phase.wall)
    );
    for (worker, part) in phase.workers.iter().enumerate() {
        if worker > 0 {
            line.push(',');
        }
        let _ = write!(
            line,
            "{{\"worker\":{worker},\"ran\":{},\"start_ns\":{},\"busy_ns\":{},{}}}",
            part.ran,
            ns(part.start),
            ns(part.busy),
            counts_json(&part.waited)
        );
    }
    line.push_str("],\"steps\":[");
    for (index, step) in phase.steps.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        let _ = write!(
            line,
            "{{\"start_ns\":{},\"end_ns\":{},\"workers\":[",
            ns(step.start),
            ns(step.end)
        );
        for (worker, part) in step.workers.iter().enumerate() {
            if worker > 0 {
                line.push(',');
            }
            let _ = write!(
                line,
                "{{\"worker\":{worker},\"ran\":{},\"start_ns\":{},\"compute_ns\":{},\"wait_ns\":{},{}}}",
                part.ran,
                ns(part.start),
                ns(part.compute),
                ns(part.wait),
                counts_json(&part.waited)
            );
        }
        line.push_str("]}");
    }
    line.push_str("]}");
    line
}

fn counts_json(counts: &WaitCounts) -> String {
    format!(
        "\"stage\":\"{}\",\"spins\":{},\"yields\":{},\"parks\":{},\"wakeups\":{},\"wake_latency_ns\":{}",
        stage_name(counts.stage()),
        counts.spins,
        counts.yields,
        counts.parks,
        counts.wakeups,
        ns(counts.wake_latency)
    )
}

pub(crate) fn kind_name(kind: PhaseKind) -> &'static str {
    match kind {
        PhaseKind::DataParallel => "data-parallel",
        PhaseKind::Run => "run",
        PhaseKind::Serial => "serial",
    }
}

pub(crate) fn stage_name(stage: WaitStage) -> &'static str {
    match stage {
        WaitStage::Park => "park",
        WaitStage::Yield => "yield",
        _ => "spin",
    }
}

fn ns(duration: Duration) -> u128 {
    duration.as_nanos()
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `text` as a CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
