//! The C functions of `c/*.c` and the one safe wrapper around each; the only `unsafe` of the
//! crate. The wrappers take slices whose lengths the public functions have checked.

use std::ffi::{c_char, c_double, c_int, c_long, CStr};

extern "C" {
    fn omp_peers_empty_phase_max(threads: c_int, phases: c_long, result: *mut c_double)
        -> c_double;
    fn omp_peers_jacobi2d_residual(
        n: c_long,
        steps: c_long,
        threads: c_int,
        a: *mut c_double,
        b: *mut c_double,
        residual: *mut c_double,
    ) -> c_double;
    fn omp_peers_proc_bind() -> *const c_char;
    fn omp_peers_jacobi_1d(
        n: c_long,
        tsteps: c_long,
        threads: c_int,
        a: *mut c_double,
        b: *mut c_double,
    ) -> c_double;
    fn omp_peers_jacobi_2d(
        n: c_long,
        tsteps: c_long,
        threads: c_int,
        a: *mut c_double,
        b: *mut c_double,
    ) -> c_double;
    fn omp_peers_heat_3d(
        n: c_long,
        tsteps: c_long,
        threads: c_int,
        a: *mut c_double,
        b: *mut c_double,
    ) -> c_double;
    fn omp_peers_fdtd_2d(
        tmax: c_long,
        nx: c_long,
        ny: c_long,
        threads: c_int,
        ex: *mut c_double,
        ey: *mut c_double,
        hz: *mut c_double,
        fict: *const c_double,
    ) -> c_double;
    fn omp_peers_seidel_2d(
        n: c_long,
        tsteps: c_long,
        threads: c_int,
        a: *mut c_double,
        blocks: c_long,
        starts: *const c_long,
        tile: c_long,
        tiles: c_long,
        lag: c_long,
    ) -> c_double;
    fn omp_peers_adi(
        n: c_long,
        tsteps: c_long,
        threads: c_int,
        u: *mut c_double,
        vt: *mut c_double,
    ) -> c_double;
    fn omp_peers_stream_init(
        threads: c_int,
        n: c_long,
        a: *mut c_double,
        b: *mut c_double,
        c: *mut c_double,
    );
    fn omp_peers_stream_triad(
        threads: c_int,
        n: c_long,
        times: c_long,
        a: *mut c_double,
        b: *const c_double,
        c: *const c_double,
        scalar: c_double,
    ) -> c_double;
}

/// A two-array stencil (`jacobi_1d`, `jacobi_2d`, `heat_3d`): seconds. The public function
/// has checked that `a` and `b` hold the elements the kernel's `n` implies.
pub(crate) fn two_arrays(
    kernel: TwoArrays,
    n: c_long,
    tsteps: c_long,
    threads: c_int,
    a: &mut [f64],
    b: &mut [f64],
) -> f64 {
    let f = match kernel {
        TwoArrays::Jacobi1d => omp_peers_jacobi_1d,
        TwoArrays::Jacobi2d => omp_peers_jacobi_2d,
        TwoArrays::Heat3d => omp_peers_heat_3d,
    };
    // SAFETY: the C kernel reads and writes the `n`, `n * n` or `n * n * n` doubles of `a`
    // and `b` that the caller checked they hold; they do not overlap (two `&mut`); it keeps
    // no pointer after it returns.
    unsafe { f(n, tsteps, threads, a.as_mut_ptr(), b.as_mut_ptr()) }
}

/// Which C kernel [`two_arrays`] runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TwoArrays {
    Jacobi1d,
    Jacobi2d,
    Heat3d,
}

/// fdtd-2d: seconds. The fields hold `nx * ny` elements, `fict` at least `tmax`.
#[expect(clippy::too_many_arguments, reason = "the C signature")]
pub(crate) fn fdtd_2d(
    tmax: c_long,
    nx: c_long,
    ny: c_long,
    threads: c_int,
    ex: &mut [f64],
    ey: &mut [f64],
    hz: &mut [f64],
    fict: &[f64],
) -> f64 {
    // SAFETY: the C kernel accesses the `nx * ny` doubles of each field and the first `tmax`
    // of `fict`, which the caller checked they hold; the fields do not overlap (three `&mut`);
    // it keeps no pointer after it returns.
    unsafe {
        omp_peers_fdtd_2d(
            tmax,
            nx,
            ny,
            threads,
            ex.as_mut_ptr(),
            ey.as_mut_ptr(),
            hz.as_mut_ptr(),
            fict.as_ptr(),
        )
    }
}

/// seidel-2d: seconds. `a` holds `n * n` elements; `starts` holds `blocks + 1` row indices
/// within `1..=n - 1`.
#[expect(clippy::too_many_arguments, reason = "the C signature")]
pub(crate) fn seidel_2d(
    n: c_long,
    tsteps: c_long,
    threads: c_int,
    a: &mut [f64],
    starts: &[c_long],
    tile: c_long,
    tiles: c_long,
    lag: c_long,
) -> f64 {
    let blocks = starts.len() as c_long - 1;
    // SAFETY: the C kernel reads `blocks + 1 == starts.len()` starts and updates rows
    // `starts[0]..starts[blocks]` (within the interior, checked by the caller) of the `n * n`
    // doubles of `a`, reading their neighbours; it keeps no pointer after it returns.
    unsafe {
        omp_peers_seidel_2d(
            n,
            tsteps,
            threads,
            a.as_mut_ptr(),
            blocks,
            starts.as_ptr(),
            tile,
            tiles,
            lag,
        )
    }
}

/// adi: seconds. `u` and `vt` hold `n * n` elements.
pub(crate) fn adi(n: c_long, tsteps: c_long, threads: c_int, u: &mut [f64], vt: &mut [f64]) -> f64 {
    // SAFETY: the C kernel reads and writes the `n * n` doubles of `u` and `vt`, which the
    // caller checked they hold and which do not overlap (two `&mut`); it keeps no pointer after
    // it returns.
    unsafe { omp_peers_adi(n, tsteps, threads, u.as_mut_ptr(), vt.as_mut_ptr()) }
}

/// Fills STREAM's arrays, each thread its static block. The three slices have one length.
pub(crate) fn stream_init(threads: c_int, a: &mut [f64], b: &mut [f64], c: &mut [f64]) {
    debug_assert!(a.len() == b.len() && b.len() == c.len());
    let n = c_long::try_from(a.len()).expect("a slice length fits a C long");
    // SAFETY: the C function writes `n` doubles through each pointer; the three slices hold
    // that many and do not overlap (three `&mut`); it keeps no pointer after it returns.
    unsafe { omp_peers_stream_init(threads, n, a.as_mut_ptr(), b.as_mut_ptr(), c.as_mut_ptr()) }
}

/// `times` STREAM triads `a = b + scalar * c`: seconds. The three slices have one length.
pub(crate) fn stream_triad(
    threads: c_int,
    times: c_long,
    a: &mut [f64],
    b: &[f64],
    c: &[f64],
    scalar: f64,
) -> f64 {
    debug_assert!(a.len() == b.len() && b.len() == c.len());
    let n = c_long::try_from(a.len()).expect("a slice length fits a C long");
    // SAFETY: the C function writes `n` doubles through `a` and reads `n` through `b` and `c`,
    // which hold that many; `a` is a `&mut`, so it overlaps neither; it keeps no pointer after
    // it returns.
    unsafe {
        omp_peers_stream_triad(
            threads,
            n,
            times,
            a.as_mut_ptr(),
            b.as_ptr(),
            c.as_ptr(),
            scalar,
        )
    }
}

/// `(seconds, last reduction)`.
pub(crate) fn empty_phase_max(threads: c_int, phases: c_long) -> (f64, f64) {
    let mut result = 0.0;
    // SAFETY: the C function writes one double through `result`, a valid `&mut f64`, and
    // keeps no pointer after it returns.
    let seconds = unsafe { omp_peers_empty_phase_max(threads, phases, &mut result) };
    (seconds, result)
}

/// `(seconds, residual)`. `a` and `b` hold `n * n` elements each.
pub(crate) fn jacobi2d_residual(
    n: c_long,
    steps: c_long,
    threads: c_int,
    a: &mut [f64],
    b: &mut [f64],
) -> (f64, f64) {
    debug_assert!(usize::try_from(n).is_ok_and(|n| n * n == a.len() && n * n == b.len()));
    let mut residual = 0.0;
    // SAFETY: the C function reads and writes `n * n` doubles through `a` and `b`, which hold
    // that many (checked by the caller) and do not overlap (two `&mut`), writes one double
    // through `residual`, and keeps no pointer after it returns.
    let seconds = unsafe {
        omp_peers_jacobi2d_residual(
            n,
            steps,
            threads,
            a.as_mut_ptr(),
            b.as_mut_ptr(),
            &mut residual,
        )
    };
    (seconds, residual)
}

/// The name of `omp_get_proc_bind()`.
pub(crate) fn proc_bind() -> &'static str {
    // SAFETY: the C function returns a pointer to a NUL-terminated string literal.
    let name = unsafe { CStr::from_ptr(omp_peers_proc_bind()) };
    name.to_str().unwrap_or("unknown")
}
