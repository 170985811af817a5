//! The distributed grid and collectives under MPI, for any rank count:
//! `mpirun -np N target/release/deps/distributed-*` (see `.ci/mpi`). Without `mpirun` it runs
//! as a single rank.
//!
//! MPI allows one initialisation per process, so this binary has its own `main` (no test
//! harness) and runs the cases in sequence. A failed check panics, and the panicking rank aborts
//! the whole job (`MPI_Abort`): the launcher exits non-zero. A watchdog aborts the process if
//! the cases hang.

use std::process;
use std::thread;
use std::time::Duration;

use phase_mpi::{Cluster, DistGrid, GridError, ReduceOp, StepTimes};
use phase_pool::profile::PhaseKind;
use phase_pool::{kernels, PhasePool};

/// How long the whole binary may take before the watchdog aborts it (a hang, not slowness:
/// the cases take well under a second).
const WATCHDOG: Duration = Duration::from_secs(120);
/// Steps of every equivalence case.
const STEPS: usize = 25;

fn main() {
    // The watchdog never calls MPI: aborting the process is enough, the launcher ends the job.
    thread::spawn(|| {
        thread::sleep(WATCHDOG);
        eprintln!("distributed: watchdog: still running after {WATCHDOG:?}, aborting");
        process::abort();
    });
    let cluster = Cluster::init().expect("MPI starts with Funneled support");
    let ranks = cluster.size();
    let say = |text: &str| {
        if cluster.rank() == 0 {
            println!("[{ranks} ranks] {text}");
        }
    };

    for threads in [1, 2] {
        let pool = PhasePool::new(threads);
        // Odd sizes; `ranks + 2` gives every rank exactly one row (halo exchange with a
        // single-row rank, its one row sent both ways), `2 * ranks + 3` uneven blocks of 2 and 3.
        let mut sizes = vec![ranks + 2, 2 * ranks + 3, 17, 33, 65];
        sizes.retain(|&n| n >= ranks + 2);
        sizes.sort_unstable();
        sizes.dedup();
        for n in sizes {
            equals_serial(&cluster, &pool, n);
            say(&format!(
                "ok: {n} x {n}, {threads} threads per rank, {STEPS} steps, bitwise"
            ));
        }
        collectives(&cluster, &pool);
        say(&format!("ok: collectives over {threads} workers per rank"));
        profiled_steps(&cluster, threads);
        say(&format!(
            "ok: a profiled pool, {threads} threads per rank: same results, step parts in the profile"
        ));
    }
    too_many_ranks(&cluster);
    say("ok: more ranks than rows is an error");
    wrong_thread(&cluster);
    say("ok: MPI calls from a pool worker are refused");
}

/// The distributed Jacobi sweep equals the single-process serial one, step by step (residual)
/// and at the end (every rank's rows, and the gathered field), bitwise.
fn equals_serial(cluster: &Cluster, pool: &PhasePool, n: usize) {
    let mut grid = DistGrid::new(cluster, pool, n, n, |i, j| {
        kernels::jacobi_initial_value(i * n + j)
    })
    .expect("enough rows for every rank");
    grid.time_steps(true);
    assert_eq!(grid.local_rows().len(), grid.owned_rows().len() + 2);
    let mut cur = kernels::jacobi_initial(n);
    let mut next = cur.clone();
    for step in 1..=STEPS {
        let distributed = grid.step_max(cluster, pool, kernels::jacobi_row);
        let serial = kernels::jacobi_step_serial(&cur, &mut next, n);
        std::mem::swap(&mut cur, &mut next);
        assert_eq!(
            distributed.to_bits(),
            serial.to_bits(),
            "rank {}: {n} x {n}, step {step}: residual {distributed:e} against {serial:e}",
            cluster.rank()
        );
    }
    for row in grid.owned_rows() {
        let mine = grid.owned_row(row).expect("an owned row");
        let reference = &cur[row * n..(row + 1) * n];
        assert!(
            mine.iter()
                .zip(reference)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "rank {}: {n} x {n}: row {row} differs from the serial sweep",
            cluster.rank()
        );
    }
    if let Some(field) = grid.gather(cluster, 0) {
        assert!(
            field
                .iter()
                .zip(&cur)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{n} x {n}: the gathered field differs from the serial sweep"
        );
    }
    let times = grid.times();
    assert_eq!(times.steps, STEPS as u64);
    assert!((0.0..=1.0).contains(&times.exchange_share()));
    grid.time_steps(false);
    let _ = grid.step_max(cluster, pool, kernels::jacobi_row);
    assert_eq!(grid.times(), times, "an untimed step reads no clock");
}

/// On a profiled pool the steps give the same results (bitwise), and the profile shows each
/// step's parts: the MPI ones as serial sections, the sweeps as labelled phases.
fn profiled_steps(cluster: &Cluster, threads: usize) {
    let pool = PhasePool::builder()
        .threads(threads)
        .profile(true)
        .build()
        .expect("a profiled pool");
    pool.set_label(Some("caller's"));
    equals_serial(cluster, &pool, 33);
    assert_eq!(
        pool.label(),
        Some("caller's"),
        "a step restores the caller's label"
    );
    let profile = pool.profile();
    // `equals_serial` steps STEPS timed steps and one untimed.
    let times = StepTimes::from_profile(&profile);
    assert_eq!(times.steps, STEPS as u64 + 1);
    assert!(times.total() > Duration::ZERO);
    for label in ["halo post", "halo wait", "all-reduce"] {
        let section = profile
            .phases()
            .iter()
            .find(|phase| phase.label == Some(label))
            .unwrap_or_else(|| panic!("no {label} section in {profile}"));
        assert_eq!(section.kind, PhaseKind::Serial);
        assert!(section.workers[0].ran && section.workers[1..].iter().all(|w| !w.ran));
    }
    for label in ["interior sweep", "boundary rows"] {
        assert!(profile
            .phases()
            .iter()
            .any(|phase| phase.label == Some(label) && phase.kind == PhaseKind::DataParallel));
    }
}

/// Node-local fold, then one MPI collective, seen by every worker of every rank.
fn collectives(cluster: &Cluster, pool: &PhasePool) {
    let (rank, ranks, threads) = (cluster.rank(), cluster.size(), pool.num_threads());
    let results = pool.run(|ctx| {
        let id = (rank * ctx.num_threads() + ctx.index()) as u64;
        let sum = cluster.pool_all_reduce(ctx, id, ReduceOp::Sum);
        let max = cluster.pool_all_reduce(ctx, id as f64, ReduceOp::Max);
        let min = cluster.pool_all_reduce(ctx, id as i64, ReduceOp::Min);
        let root = ranks - 1;
        let word = cluster.pool_broadcast(ctx, root, 1000 * rank as u64 + 7);
        (sum, max, min, word)
    });
    let workers = (ranks * threads) as u64;
    let expected = (
        workers * (workers - 1) / 2,
        (workers - 1) as f64,
        0,
        1000 * (ranks as u64 - 1) + 7,
    );
    assert_eq!(results.len(), threads);
    for result in results {
        assert_eq!(result, expected, "rank {rank}");
    }
    assert_eq!(cluster.all_reduce(1u32, ReduceOp::Sum), ranks as u32);
    assert_eq!(cluster.broadcast(0, rank as f64 + 0.5), 0.5);
}

/// A grid with fewer interior rows than ranks is refused on every rank, with a message that
/// says why.
fn too_many_ranks(cluster: &Cluster) {
    let pool = PhasePool::new(1);
    let ranks = cluster.size();
    let rows = ranks + 1; // ranks - 1 interior rows
    let error = DistGrid::new(cluster, &pool, rows, 5, |_, _| 0.0)
        .expect_err("fewer interior rows than ranks");
    assert_eq!(
        error,
        GridError::TooManyRanks {
            rows,
            interior_rows: ranks - 1,
            ranks
        }
    );
    assert!(error.to_string().contains("more ranks than rows"));
}

/// Funneled: a pool worker other than worker 0 may not call MPI.
fn wrong_thread(cluster: &Cluster) {
    let pool = PhasePool::new(2);
    // The refusals are expected panics: keep their messages out of the log.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let refused = pool.run(|ctx| {
        if ctx.index() == 0 {
            return true;
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = cluster.world();
        }))
        .is_err()
    });
    std::panic::set_hook(hook);
    assert!(refused.iter().all(|&r| r), "a worker thread reached MPI");
}
