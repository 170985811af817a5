//! # omp-peers
//!
//! OpenMP C versions of the workspace's kernels, written in the style an OpenMP programmer
//! would use (one persistent `omp parallel` region per run, one `omp for` per sweep or phase,
//! `schedule(static)`), so the examples can measure lockstep against them in one process.
//!
//! The C sources (`c/*.c`) are compiled by the build script with the system C compiler, `-O3`
//! and `-fopenmp`, when the compiler has OpenMP and can link its runtime (gcc's libgomp, or
//! clang's libomp); `-ffp-contract=off` keeps every `a * b + c` two roundings, as in Rust, so
//! a C kernel with the same operation order as a Rust one agrees with it bitwise. Without
//! OpenMP the crate still builds: [`available`] says why the peers are missing, and the kernel
//! functions panic. `LOCKSTEP_NO_OPENMP=1` at build time builds that way on purpose.
//!
//! Thread binding is read by the OpenMP runtime when it loads, before `main`: set
//! `OMP_PROC_BIND=close` in the environment of the program, or let
//! [`rerun_with_proc_bind_close`] start the program again with it.
//!
//! | function | what it runs |
//! |----------|--------------|
//! | [`empty_phase_max`] | empty `omp for` phases ending in a max-reduction |
//! | [`jacobi2d_residual`], [`jacobi2d_residual_timed`] | the reference Jacobi kernel with its residual every sweep |
//! | [`jacobi_1d`], [`jacobi_2d`], [`heat_3d`], [`fdtd_2d`], [`seidel_2d`], [`adi`] | the PolyBench/C 4.2 stencils, in PolyBench's update order |
//! | [`StreamArrays::triad`] | STREAM's triad, the memory bandwidth roof |
//!
//! The PolyBench functions take the arrays row-major (plane-major for `heat_3d`) and return
//! the seconds of their parallel region.
//!
//! # Examples
//!
//! ```
//! match omp_peers::available() {
//!     Ok(()) => {
//!         let seconds = omp_peers::empty_phase_max(2, 100);
//!         assert!(seconds >= 0.0);
//!     }
//!     Err(why) => println!("no OpenMP peer: {why}"),
//! }
//! ```
#![deny(missing_docs, missing_debug_implementations)]

#[cfg(omp_peers_openmp)]
mod ffi;

/// The environment variable that selects OpenMP's thread binding.
pub const PROC_BIND_ENV: &str = "OMP_PROC_BIND";

/// `Ok` when the OpenMP peers were built; otherwise why not (no OpenMP in the C compiler, no
/// runtime to link, `LOCKSTEP_NO_OPENMP` set).
///
/// # Errors
///
/// The reason the crate was built without OpenMP.
pub fn available() -> Result<(), &'static str> {
    #[cfg(omp_peers_openmp)]
    return Ok(());
    #[cfg(not(omp_peers_openmp))]
    return Err(env!("OMP_PEERS_MISSING"));
}

/// The runtime's thread binding of the next parallel region (`omp_get_proc_bind`): `"false"`,
/// `"true"`, `"master"`, `"close"`, `"spread"`, or `None` without OpenMP.
#[must_use]
pub fn proc_bind() -> Option<&'static str> {
    #[cfg(omp_peers_openmp)]
    {
        Some(ffi::proc_bind())
    }
    #[cfg(not(omp_peers_openmp))]
    {
        None
    }
}

/// Runs this program again, with the same arguments and `OMP_PROC_BIND=close`, if
/// `OMP_PROC_BIND` is not set and the peers were built with OpenMP, and returns its exit
/// status; `None` otherwise (carry on in this process).
///
/// The OpenMP runtime reads its binding when it loads, before `main` runs, so a program that
/// wants the binding for its OpenMP peers calls this first thing in `main`. With a binding,
/// the runtime also pins the main thread to the first core when it loads, which would leave
/// the rest of the program (lockstep's pools, rayon) one core: in the run started here, this
/// call gives the main thread back the cores its parent had ([`PARENT_CPUS_ENV`]).
///
/// # Errors
///
/// When the program cannot be started again.
pub fn rerun_with_proc_bind_close() -> std::io::Result<Option<std::process::ExitStatus>> {
    if available().is_err() {
        return Ok(None);
    }
    if std::env::var_os(PROC_BIND_ENV).is_some() {
        restore_parent_cpus();
        return Ok(None);
    }
    let program = std::env::current_exe()?;
    let mut command = std::process::Command::new(program);
    command
        .args(std::env::args_os().skip(1))
        .env(PROC_BIND_ENV, "close");
    if let Some(cpus) = affinity::current() {
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        command.env(PARENT_CPUS_ENV, list.join(","));
    }
    command.status().map(Some)
}

/// Set by [`rerun_with_proc_bind_close`] for the run it starts: the cores the parent's main
/// thread could use, as a comma-separated list.
pub const PARENT_CPUS_ENV: &str = "OMP_PEERS_PARENT_CPUS";

/// Gives the calling thread the cores of [`PARENT_CPUS_ENV`], if set.
fn restore_parent_cpus() {
    let Some(list) = std::env::var_os(PARENT_CPUS_ENV) else {
        return;
    };
    let cpus: Option<Vec<usize>> = list
        .to_string_lossy()
        .split(',')
        .map(|cpu| cpu.trim().parse().ok())
        .collect();
    if let Some(cpus) = cpus.filter(|cpus| !cpus.is_empty()) {
        affinity::set(&cpus);
    }
}

/// The calling thread's CPU affinity (Linux; elsewhere nothing is read or changed).
mod affinity {
    /// The cores the calling thread may run on.
    #[cfg(target_os = "linux")]
    pub(crate) fn current() -> Option<Vec<usize>> {
        // SAFETY: `set` is a plain bit set, zero-initialised, and its size is passed.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return None;
            }
            let cpus = (0..libc::CPU_SETSIZE as usize)
                .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                .collect();
            Some(cpus)
        }
    }

    /// Lets the calling thread run on `cpus` (best effort).
    #[cfg(target_os = "linux")]
    pub(crate) fn set(cpus: &[usize]) {
        // SAFETY: as in `current`; `CPU_SET` ignores nothing out of range because of the filter.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cpus.iter().filter(|&&cpu| cpu < libc::CPU_SETSIZE as usize) {
                libc::CPU_SET(cpu, &mut set);
            }
            let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn current() -> Option<Vec<usize>> {
        None
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn set(_cpus: &[usize]) {}
}

/// Converts a thread count for OpenMP's `num_threads`.
fn omp_threads(threads: usize) -> i32 {
    assert!(threads > 0, "omp-peers: a team needs at least one thread");
    i32::try_from(threads).unwrap_or_else(|_| panic!("omp-peers: {threads} threads is too many"))
}

/// Converts a size or a count for the C side.
fn c_long(value: usize) -> i64 {
    i64::try_from(value).unwrap_or_else(|_| panic!("omp-peers: {value} does not fit a C long"))
}

/// Panics with the reason the peers are missing.
#[cfg(not(omp_peers_openmp))]
#[cold]
fn missing() -> ! {
    panic!(
        "omp-peers was built without OpenMP: {}",
        env!("OMP_PEERS_MISSING")
    )
}

/// `phases` empty phases on a team of `threads`, in one persistent `omp parallel` region: each
/// phase is an `omp for reduction(max: r)` over `threads` iterations, in which iteration `i`
/// of phase `p` contributes `i + p`. Returns the seconds the region took (start-up of the
/// region included, once).
///
/// # Panics
///
/// If `threads == 0`, or the crate was built without OpenMP (see [`available`]).
#[must_use]
pub fn empty_phase_max(threads: usize, phases: usize) -> f64 {
    let team = omp_threads(threads);
    let count = c_long(phases);
    #[cfg(omp_peers_openmp)]
    {
        let (seconds, result) = ffi::empty_phase_max(team, count);
        let expected = if phases == 0 {
            0.0
        } else {
            (threads - 1 + phases - 1) as f64
        };
        assert_eq!(result, expected, "omp-peers: the reduction is wrong");
        seconds
    }
    #[cfg(not(omp_peers_openmp))]
    {
        let _ = (team, count);
        missing()
    }
}

/// The seconds a run took and what it computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timed<T> {
    /// Wall-clock seconds of the parallel region (`omp_get_wtime`).
    pub seconds: f64,
    /// The result.
    pub value: T,
}

/// `steps` sweeps of phase-pool's reference Jacobi kernel on the `n x n` grid, in one persistent
/// `omp parallel` region of `threads`: each sweep is one `omp for schedule(static)
/// reduction(max)` over the interior rows, writing
/// `next[i][j] = 0.2 * (cur[i][j] + cur[i][j-1] + cur[i][j+1] + cur[i-1][j] + cur[i+1][j])`
/// and reducing `max |next - cur|`; then the buffers swap. `a` is read first; both must hold
/// the fixed boundary. Returns the last sweep's residual; the grid it left is in `a` if `steps`
/// is even, in `b` if odd. The operation order is that of `phase_pool::kernels::jacobi_row`, so
/// grid and residual agree with it bitwise.
///
/// # Panics
///
/// If `a` or `b` does not hold `n * n` elements, `threads == 0`, or the crate was built without
/// OpenMP (see [`available`]).
pub fn jacobi2d_residual(
    n: usize,
    steps: usize,
    threads: usize,
    a: &mut [f64],
    b: &mut [f64],
) -> f64 {
    jacobi2d_residual_timed(n, steps, threads, a, b).value
}

/// [`jacobi2d_residual`], with the seconds its parallel region took.
///
/// # Panics
///
/// As [`jacobi2d_residual`].
pub fn jacobi2d_residual_timed(
    n: usize,
    steps: usize,
    threads: usize,
    a: &mut [f64],
    b: &mut [f64],
) -> Timed<f64> {
    let cells = n.checked_mul(n);
    assert!(
        cells == Some(a.len()) && cells == Some(b.len()),
        "omp-peers: jacobi2d_residual needs two buffers of {n} x {n} elements, got {} and {}",
        a.len(),
        b.len()
    );
    let team = omp_threads(threads);
    let (n, steps) = (c_long(n), c_long(steps));
    #[cfg(omp_peers_openmp)]
    {
        let (seconds, value) = ffi::jacobi2d_residual(n, steps, team, a, b);
        Timed { seconds, value }
    }
    #[cfg(not(omp_peers_openmp))]
    {
        let _ = (team, n, steps);
        missing()
    }
}

/// Runs `$call` (an expression over `ffi`) with OpenMP, or panics with the reason it is missing.
macro_rules! with_openmp {
    ($call:expr) => {{
        #[cfg(omp_peers_openmp)]
        {
            $call
        }
        #[cfg(not(omp_peers_openmp))]
        {
            missing()
        }
    }};
}

/// Checks that `array` holds `len` elements.
fn check_len(kernel: &str, name: &str, array: &[f64], len: Option<usize>) {
    assert!(
        len == Some(array.len()),
        "omp-peers: {kernel}: `{name}` holds {} elements, not the {len:?} its size needs",
        array.len()
    );
}

/// PolyBench jacobi-1d: `tsteps` times `B = f(A)` then `A = f(B)` over `n` elements, each
/// `0.33333 * (x[i-1] + x[i] + x[i+1])`; one `omp for` per sweep. Returns the seconds.
///
/// # Panics
///
/// If `a` or `b` does not hold `n` elements, `threads == 0`, or without OpenMP.
pub fn jacobi_1d(n: usize, tsteps: usize, threads: usize, a: &mut [f64], b: &mut [f64]) -> f64 {
    check_len("jacobi_1d", "a", a, Some(n));
    check_len("jacobi_1d", "b", b, Some(n));
    let (team, n, tsteps) = (omp_threads(threads), c_long(n), c_long(tsteps));
    let _ = (team, n, tsteps);
    with_openmp!(ffi::two_arrays(
        ffi::TwoArrays::Jacobi1d,
        n,
        tsteps,
        team,
        a,
        b
    ))
}

/// PolyBench jacobi-2d on `n x n` row-major arrays (5 points, `B` then `A` every step).
/// Returns the seconds.
///
/// # Panics
///
/// If `a` or `b` does not hold `n * n` elements, `threads == 0`, or without OpenMP.
pub fn jacobi_2d(n: usize, tsteps: usize, threads: usize, a: &mut [f64], b: &mut [f64]) -> f64 {
    check_len("jacobi_2d", "a", a, n.checked_mul(n));
    check_len("jacobi_2d", "b", b, n.checked_mul(n));
    let (team, n, tsteps) = (omp_threads(threads), c_long(n), c_long(tsteps));
    let _ = (team, n, tsteps);
    with_openmp!(ffi::two_arrays(
        ffi::TwoArrays::Jacobi2d,
        n,
        tsteps,
        team,
        a,
        b
    ))
}

/// PolyBench heat-3d on `n x n x n` arrays (7 points, `B` then `A` every step, planes shared
/// out). Returns the seconds.
///
/// # Panics
///
/// If `a` or `b` does not hold `n * n * n` elements, `threads == 0`, or without OpenMP.
pub fn heat_3d(n: usize, tsteps: usize, threads: usize, a: &mut [f64], b: &mut [f64]) -> f64 {
    let len = n.checked_mul(n).and_then(|p| p.checked_mul(n));
    check_len("heat_3d", "a", a, len);
    check_len("heat_3d", "b", b, len);
    let (team, n, tsteps) = (omp_threads(threads), c_long(n), c_long(tsteps));
    let _ = (team, n, tsteps);
    with_openmp!(ffi::two_arrays(
        ffi::TwoArrays::Heat3d,
        n,
        tsteps,
        team,
        a,
        b
    ))
}

/// The three fields of [`fdtd_2d`], each `nx x ny` row-major.
#[derive(Debug)]
pub struct Fields<'a> {
    /// The electric field's x component.
    pub ex: &'a mut [f64],
    /// The electric field's y component.
    pub ey: &'a mut [f64],
    /// The magnetic field.
    pub hz: &'a mut [f64],
}

/// PolyBench fdtd-2d: `tmax` steps of the electric fields (row by row, `ey` then `ex`, one
/// `omp for`) and then `hz` (one `omp for`); `fict[t]` drives row 0 of `ey`. Returns the
/// seconds.
///
/// # Panics
///
/// If a field does not hold `nx * ny` elements, `fict` fewer than `tmax`, `threads == 0`, or
/// without OpenMP.
pub fn fdtd_2d(
    tmax: usize,
    nx: usize,
    ny: usize,
    threads: usize,
    fields: Fields<'_>,
    fict: &[f64],
) -> f64 {
    let len = nx.checked_mul(ny);
    check_len("fdtd_2d", "ex", fields.ex, len);
    check_len("fdtd_2d", "ey", fields.ey, len);
    check_len("fdtd_2d", "hz", fields.hz, len);
    assert!(
        fict.len() >= tmax,
        "omp-peers: fdtd_2d: `fict` holds fewer than {tmax} values"
    );
    let (team, tmax, nx, ny) = (omp_threads(threads), c_long(tmax), c_long(nx), c_long(ny));
    let _ = (team, tmax, nx, ny, &fields);
    with_openmp!(ffi::fdtd_2d(
        tmax, nx, ny, team, fields.ex, fields.ey, fields.hz, fict
    ))
}

/// The wavefront schedule of [`seidel_2d`] (computed by the caller, so that every version of
/// the kernel runs the same one): the interior rows in blocks `starts[w]..starts[w + 1]`, the
/// columns of each step in `tiles` tiles of `tile` columns that lean one column left per row of
/// a block, and block `w` working on global tile `s - lag * w` in wave `s`.
#[derive(Clone, Copy, Debug)]
pub struct Wavefront<'a> {
    /// `blocks + 1` row indices, from 1 to `n - 1`, increasing.
    pub starts: &'a [usize],
    /// Columns per tile.
    pub tile: usize,
    /// Tiles per step.
    pub tiles: usize,
    /// Waves between one block and the next.
    pub lag: usize,
}

/// PolyBench seidel-2d (in-place, 9 points) on the wavefront `plan`: one `omp for` over the
/// blocks per wave. Returns the seconds.
///
/// # Panics
///
/// If `a` does not hold `n * n` elements, the plan's blocks are not increasing rows within
/// `1..=n - 1` (or there are none), `threads == 0`, or without OpenMP.
pub fn seidel_2d(
    n: usize,
    tsteps: usize,
    threads: usize,
    a: &mut [f64],
    plan: Wavefront<'_>,
) -> f64 {
    check_len("seidel_2d", "a", a, n.checked_mul(n));
    let starts = plan.starts;
    assert!(
        starts.len() >= 2
            && starts[0] >= 1
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts[starts.len() - 1] < n.max(1),
        "omp-peers: seidel_2d: the blocks {starts:?} are not rows of the interior of {n} x {n}"
    );
    assert!(
        plan.tiles > 0,
        "omp-peers: seidel_2d: a step needs at least one tile"
    );
    let starts: Vec<i64> = starts.iter().map(|&s| c_long(s)).collect();
    let (team, n, tsteps) = (omp_threads(threads), c_long(n), c_long(tsteps));
    let (tile, tiles, lag) = (c_long(plan.tile), c_long(plan.tiles), c_long(plan.lag));
    let _ = (team, n, tsteps, &starts, tile, tiles, lag);
    with_openmp!(ffi::seidel_2d(
        n, tsteps, team, a, &starts, tile, tiles, lag
    ))
}

/// PolyBench adi with `v` stored transposed (`vt[i][j] = v[j][i]`, so that the column sweep
/// writes rows), `p` and `q` one scratch row per thread: per step, the column sweep (one `omp
/// for` over `i`) and the row sweep (one `omp for`). Returns the seconds.
///
/// # Panics
///
/// If `u` or `vt` does not hold `n * n` elements, `threads == 0`, or without OpenMP.
pub fn adi(n: usize, tsteps: usize, threads: usize, u: &mut [f64], vt: &mut [f64]) -> f64 {
    check_len("adi", "u", u, n.checked_mul(n));
    check_len("adi", "vt", vt, n.checked_mul(n));
    let (team, n, tsteps) = (omp_threads(threads), c_long(n), c_long(tsteps));
    let _ = (team, n, tsteps);
    with_openmp!(ffi::adi(n, tsteps, team, u, vt))
}

/// STREAM's three arrays (McCalpin's `stream.c`), filled by the OpenMP threads that sweep them
/// (`schedule(static)`), for the triad `a = b + scalar * c`: the memory bandwidth roof of the
/// stencils. A triad moves `24 * len` bytes by STREAM's count (read `b` and `c`, write `a`).
#[derive(Debug)]
pub struct StreamArrays {
    threads: i32,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl StreamArrays {
    /// Three arrays of `len` elements (`a` = 1, `b` = 2, `c` = 0.5), each page first written by
    /// the thread of `threads` that owns it in the triad.
    ///
    /// # Panics
    ///
    /// If `threads == 0`, or without OpenMP.
    pub fn new(threads: usize, len: usize) -> StreamArrays {
        let team = omp_threads(threads);
        // `vec![0.0; len]` of a large `len` is fresh zero pages that nobody has touched yet,
        // so the C fill places each page.
        let (mut a, mut b, mut c) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let _ = (team, &mut a, &mut b, &mut c);
        with_openmp!(ffi::stream_init(team, &mut a, &mut b, &mut c));
        StreamArrays {
            threads: team,
            a,
            b,
            c,
        }
    }

    /// Runs `times` triads in one parallel region (one `omp for` each) and returns the seconds.
    ///
    /// # Panics
    ///
    /// Without OpenMP.
    pub fn triad(&mut self, times: usize, scalar: f64) -> f64 {
        let times = c_long(times);
        let _ = (times, scalar);
        with_openmp!(ffi::stream_triad(
            self.threads,
            times,
            &mut self.a,
            &self.b,
            &self.c,
            scalar
        ))
    }

    /// The array the triads write.
    pub fn a(&self) -> &[f64] {
        &self.a
    }
}
