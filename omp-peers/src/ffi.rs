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
