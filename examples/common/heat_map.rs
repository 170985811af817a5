//! The heat map of a temperature field as an 8-bit RGB PNG: shared by `examples/heat.rs` and
//! `phase-mpi/examples/heat_mpi.rs` (included by each with `#[path]`), so the single-node and
//! the MPI run draw identical fields as identical bytes. Depends on `png` and std only.

use std::error::Error;
use std::io::Write;

/// The heat map's largest side in pixels; larger plates are sampled.
pub const MAX_IMAGE_SIDE: usize = 1024;

/// The "inferno"-like colour of `t` in `[0, 1]` (dark purple through red to pale yellow),
/// interpolated linearly between a few stops.
pub fn colour(t: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [87.0, 16.0, 110.0],
        [188.0, 55.0, 84.0],
        [249.0, 142.0, 9.0],
        [252.0, 255.0, 164.0],
    ];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    [0, 1, 2].map(|c| (a[c] + f * (b[c] - a[c])).round() as u8)
}

/// The heat map of the row-major `rows x cols` field `values` (temperatures from `cold` to
/// `hot`) as RGB pixels, row-major: `(width, height, pixels)`. A plate larger than
/// [`MAX_IMAGE_SIDE`] is sampled every `ceil(side / MAX_IMAGE_SIDE)` points.
pub fn heat_map_pixels(
    values: &[f64],
    rows: usize,
    cols: usize,
    cold: f64,
    hot: f64,
) -> (usize, usize, Vec<u8>) {
    assert_eq!(
        values.len(),
        rows * cols,
        "heat map: the field is not {rows} x {cols}"
    );
    let stride = rows.max(cols).div_ceil(MAX_IMAGE_SIDE);
    let (height, width) = (rows.div_ceil(stride), cols.div_ceil(stride));
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let t = (values[y * stride * cols + x * stride] - cold) / (hot - cold);
            pixels.extend_from_slice(&colour(t));
        }
    }
    (width, height, pixels)
}

/// Encodes RGB `pixels` as an 8-bit PNG into `out`.
pub fn encode_png(
    out: impl Write,
    width: usize,
    height: usize,
    pixels: &[u8],
) -> Result<(), Box<dyn Error>> {
    let mut encoder = png::Encoder::new(out, u32::try_from(width)?, u32::try_from(height)?);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(())
}
