//! The PolyBench/C 4.2 stencils, each as a serial loop in PolyBench's order, a rayon version, a
//! lockstep version and the OpenMP C peer of `omp-peers`; shared by `examples/stencils.rs` and
//! `tests/stencils.rs`.
//!
//! Every version of a kernel performs the same floating-point operations in the same order on
//! every element (the parallel ones change only which thread runs which update, and seidel-2d's
//! wavefront keeps every update's inputs as the sequential loop has them), so all versions agree
//! with the serial loop bitwise.
#![allow(dead_code, reason = "the example and the tests each use a subset")]
#![expect(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    reason = "the serial loops are PolyBench's, index for index and `x = x - ..` as it writes them"
)]

pub mod adi;
pub mod fdtd_2d;
pub mod heat_3d;
pub mod jacobi_1d;
pub mod jacobi_2d;
pub mod seidel_2d;

use lockstep::pool::PhasePool;

/// PolyBench's dataset sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// `MINI_DATASET`
    Mini,
    /// `SMALL_DATASET`
    Small,
    /// `MEDIUM_DATASET`
    Medium,
    /// `LARGE_DATASET` (PolyBench's default)
    Large,
    /// `EXTRALARGE_DATASET`
    ExtraLarge,
}

impl Dataset {
    /// Every dataset, smallest first.
    pub const ALL: [Dataset; 5] = [
        Dataset::Mini,
        Dataset::Small,
        Dataset::Medium,
        Dataset::Large,
        Dataset::ExtraLarge,
    ];

    /// PolyBench's name, in lower case (`mini`, ..., `extralarge`).
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mini => "mini",
            Dataset::Small => "small",
            Dataset::Medium => "medium",
            Dataset::Large => "large",
            Dataset::ExtraLarge => "extralarge",
        }
    }

    /// The dataset called `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Dataset> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name))
    }
}

/// A problem size: `tsteps` time steps on `n` (and, for fdtd-2d, `nx = n`, `ny = m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Time steps (`TSTEPS`, `TMAX`).
    pub tsteps: usize,
    /// `N` (`NX` for fdtd-2d).
    pub n: usize,
    /// `NY` for fdtd-2d; `N` for the others.
    pub m: usize,
}

impl Size {
    /// `tsteps` steps of a square (or cubic) problem of side `n`.
    pub const fn square(tsteps: usize, n: usize) -> Size {
        Size { tsteps, n, m: n }
    }
}

/// A kernel's arrays, in PolyBench's declaration order.
pub type Arrays = Vec<Vec<f64>>;

/// One kernel: its sizes, its arrays and its four versions.
#[derive(Clone, Copy)]
pub struct Kernel {
    /// PolyBench's name (`jacobi-2d`).
    pub name: &'static str,
    /// MINI to EXTRALARGE, as in PolyBench's header.
    pub sizes: [Size; 5],
    /// The arrays PolyBench dumps, in its order: (name, index into [`Arrays`]). The check
    /// against the serial loop compares these.
    pub dumped: &'static [(&'static str, usize)],
    /// PolyBench's `init_array`.
    pub init: fn(Size) -> Arrays,
    /// PolyBench's loop nest, literally.
    pub serial: fn(Size, &mut Arrays),
    /// On a rayon pool (the caller runs it inside `install`).
    pub rayon: fn(Size, &mut Arrays),
    /// On a lockstep pool; returns the seconds of the time loop (set-up excluded).
    pub lockstep: fn(Size, &mut Arrays, &PhasePool) -> f64,
    /// The OpenMP C peer on `threads`; returns the seconds of its parallel region.
    pub omp: fn(Size, &mut Arrays, usize) -> f64,
    /// Points updated by one run (the numerator of MLUP/s).
    pub updates: fn(Size) -> f64,
    /// The row length and PolyBench's multiplier of `i` in its dump line breaks.
    pub dump_rows: fn(Size) -> (usize, usize),
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("name", &self.name).finish()
    }
}

/// The suite, in PolyBench's directory order.
pub const KERNELS: [Kernel; 6] = [
    adi::KERNEL,
    fdtd_2d::KERNEL,
    heat_3d::KERNEL,
    jacobi_1d::KERNEL,
    jacobi_2d::KERNEL,
    seidel_2d::KERNEL,
];

/// The kernel called `name`.
pub fn kernel(name: &str) -> Option<Kernel> {
    KERNELS.into_iter().find(|k| k.name == name)
}

/// The index of the first element of the dumped arrays where `got` differs from `expected`
/// bitwise, with the array's name.
pub fn first_difference(
    kernel: &Kernel,
    expected: &Arrays,
    got: &Arrays,
) -> Option<(&'static str, usize)> {
    for &(name, index) in kernel.dumped {
        let (e, g) = (&expected[index], &got[index]);
        if e.len() != g.len() {
            return Some((name, e.len().min(g.len())));
        }
        if let Some(at) = e
            .iter()
            .zip(g)
            .position(|(a, b)| a.to_bits() != b.to_bits())
        {
            return Some((name, at));
        }
    }
    None
}

/// The dumped arrays in the layout of PolyBench's `-DPOLYBENCH_DUMP_ARRAYS` output (its
/// `print_array`, with its line breaks and its `==BEGIN`/`==END` lines where it prints them),
/// every value in Rust's shortest round-trip form instead of `%0.2lf`.
pub fn dump(kernel: &Kernel, size: Size, arrays: &Arrays) -> String {
    use std::fmt::Write as _;
    let (row, multiplier) = (kernel.dump_rows)(size);
    let mut out = String::from("==BEGIN DUMP_ARRAYS==\n");
    for (position, &(name, index)) in kernel.dumped.iter().enumerate() {
        let _ = write!(out, "begin dump: {name}");
        for (flat, value) in arrays[index].iter().enumerate() {
            let (i, j) = (flat / row.max(1), flat % row.max(1));
            if (i * multiplier + j) % 20 == 0 {
                out.push('\n');
            }
            let _ = write!(out, "{value:?} ");
        }
        let _ = writeln!(out, "\nend   dump: {name}");
        // PolyBench's fdtd-2d prints the closing line after its first array.
        if position == 0 && kernel.name == "fdtd-2d" || kernel.dumped.len() == 1 {
            out.push_str("==END   DUMP_ARRAYS==\n");
        }
    }
    out
}

/// A row-major `rows x cols` copy of `data` transposed.
pub fn transpose(data: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; data.len()];
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = data[i * cols + j];
        }
    }
    out
}
