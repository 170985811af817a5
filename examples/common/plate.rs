//! The heat problem that `heat` and phase-mpi's `heat_mpi` both solve, defined once so that the
//! two write the same PNG: the plate (hot top edge, cold other edges), the defaults, the physics
//! checks and the heat-map output. Depends only on std and `png`, so both crates' examples can
//! include it with `#[path]`.

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Cursor};
use std::path::Path;

#[path = "heat_map.rs"]
mod heat_map;

/// Temperature of the top edge.
pub const HOT: f64 = 1.0;
/// Temperature of the other three edges and of the plate at the start.
pub const COLD: f64 = 0.0;

/// Default plate side (points, boundary included) and step limit: with the default tolerance
/// (`1e-7`) the plate settles after 151,870 steps, 12-15 s at the 1,200-1,500 MLUP/s of a 2-core
/// machine. (The steps to settle grow as `n^2`, the work as `n^4`: 512 would take 4.5 times as
/// long, 384 1.4 times.)
pub const DEFAULT_SIZE: usize = 352;
pub const DEFAULT_STEPS: usize = 500_000;
/// `--quick`: small enough for CI, long enough to settle a little.
pub const QUICK_SIZE: usize = 96;
pub const QUICK_STEPS: usize = 3_000;
/// The side of the plate that the self-check runs serially and in parallel.
pub const CHECK_SIZE: usize = 64;
/// How far mirror-image points may differ. They are summed in another order (`c + w + e`
/// against `c + e + w`), so they differ by rounding: a few `f64::EPSILON` (about 6e-16 is
/// measured); any real asymmetry would be many orders of magnitude larger.
pub const SYMMETRY_TOLERANCE: f64 = 1e-12;

/// The outcome of a run: how many steps, the last step's residual, whether it settled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    pub steps: usize,
    pub residual: f64,
    pub converged: bool,
}

/// The initial temperature of point `(i, j)`: the top edge hot, every other point cold.
pub fn initial(i: usize, _j: usize) -> f64 {
    if i == 0 {
        HOT
    } else {
        COLD
    }
}

/// A clap value parser for the tolerance: a finite number `>= 0`.
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Ok(_) => Err("the tolerance must be a finite number >= 0".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks the `n x n` field against the physics: within the boundary temperatures (maximum
/// principle) and mirror-symmetric about the vertical axis. Prints each verdict.
pub fn check_physics(values: &[f64], n: usize) -> bool {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let bounded = values.iter().all(|v| (COLD..=HOT).contains(v));
    if bounded {
        println!(
            "check: the field stays within the boundary temperatures [{COLD}, {HOT}] \
             (maximum principle)"
        );
    } else {
        eprintln!("check FAILED: the field spans [{lo}, {hi}], outside [{COLD}, {HOT}]");
    }

    let asymmetry = (0..n)
        .flat_map(|i| (0..n).map(move |j| (values[i * n + j] - values[i * n + n - 1 - j]).abs()))
        .fold(0.0, f64::max);
    let symmetric = asymmetry <= SYMMETRY_TOLERANCE;
    if symmetric {
        println!("check: the field is mirror-symmetric (largest difference {asymmetry:.1e})");
    } else {
        eprintln!("check FAILED: the mirror images differ by {asymmetry:e}");
    }
    bounded && symmetric
}

/// Writes the heat map of the `n x n` field to `path`; `program` names the caller in errors.
pub fn write_heat_map(program: &str, path: &Path, values: &[f64], n: usize) -> bool {
    let (width, height, pixels) = heat_map::heat_map_pixels(values, n, n, COLD, HOT);
    let written = File::create(path)
        .map_err(Box::<dyn Error>::from)
        .and_then(|file| heat_map::encode_png(BufWriter::new(file), width, height, &pixels));
    match written {
        Ok(()) => {
            println!("wrote {} ({width} x {height} heat map)", path.display());
            true
        }
        Err(error) => {
            eprintln!("{program}: cannot write {}: {error}", path.display());
            false
        }
    }
}

/// Encodes the heat map in memory and decodes it again: the pixels must survive the trip.
pub fn check_heat_map_in_memory(values: &[f64], n: usize) -> bool {
    let (width, height, pixels) = heat_map::heat_map_pixels(values, n, n, COLD, HOT);
    let mut bytes = Vec::new();
    let round_trip = heat_map::encode_png(&mut bytes, width, height, &pixels).and_then(|()| {
        let mut reader = png::Decoder::new(Cursor::new(&bytes)).read_info()?;
        let mut decoded = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader.next_frame(&mut decoded)?;
        decoded.truncate(info.buffer_size());
        Ok((info.width as usize, info.height as usize, decoded))
    });
    match round_trip {
        Ok(decoded) if decoded == (width, height, pixels) => {
            println!(
                "check: the {width} x {height} heat map encodes to a {} byte PNG that decodes \
                 to the same pixels",
                bytes.len()
            );
            true
        }
        Ok(_) => {
            eprintln!("check FAILED: the PNG decodes to other pixels");
            false
        }
        Err(error) => {
            eprintln!("check FAILED: PNG round trip: {error}");
            false
        }
    }
}
