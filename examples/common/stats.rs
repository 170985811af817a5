//! Timing and statistics helpers shared by the measurement examples (`barrier_compare`,
//! `pool_compare`, `compare`, `profile_cost`, `stencils`), included by each with
//! `#[path = "common/stats.rs"] mod stats;`.
#![allow(dead_code, reason = "each example uses a subset of these helpers")]

use std::time::{Duration, Instant};

/// Runs `step` until `budget` has passed (checking the clock every `block` steps), after one
/// untimed warm-up step; returns the steps timed and their time.
pub fn timed(budget: Duration, block: u64, mut step: impl FnMut()) -> (u64, Duration) {
    step();
    let start = Instant::now();
    let mut steps = 0;
    loop {
        for _ in 0..block {
            step();
        }
        steps += block;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return (steps, elapsed);
        }
    }
}

/// The median of `samples` (the mean of the middle two for an even count).
///
/// # Panics
///
/// If `samples` is empty.
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// `peer / this`, formatted with two decimals, or `-` when the peer was not measured.
pub fn ratio(peer: Option<f64>, this: f64) -> String {
    peer.map_or_else(|| "-".to_owned(), |peer| format!("{:.2}", peer / this))
}

/// `peer / this` as a JSON number with four decimals, or `null` when the peer was not measured.
pub fn json_ratio(peer: Option<f64>, this: f64) -> String {
    peer.map_or_else(|| "null".to_owned(), |peer| format!("{:.4}", peer / this))
}

/// The values as a JSON array, each formatted by `format`.
pub fn json_array<T>(values: &[T], format: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = values.iter().map(format).collect();
    format!("[{}]", items.join(","))
}
