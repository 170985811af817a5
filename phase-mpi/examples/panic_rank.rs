//! A job in which rank 1 panics in the middle of a run (in its pool's sweep, on a worker), to
//! check that the whole job aborts (`MPI_Abort`) instead of hanging the other ranks in the halo
//! exchange:
//!
//! ```text
//! timeout 60 mpirun -np 2 target/release/examples/panic_rank    # must exit non-zero, quickly
//! ```
//!
//! Exits 0 only if no rank panicked (a job of one rank).

use std::process::ExitCode;

use phase_mpi::{Cluster, DistGrid};
use phase_pool::{kernels, PhasePool};

/// The step in which rank 1 panics.
const PANIC_STEP: usize = 5;
/// Steps of the run (the other ranks would keep stepping, and wait for rank 1, after it).
const STEPS: usize = 1_000_000;

fn main() -> ExitCode {
    let cluster = match Cluster::init() {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("panic_rank: {error}");
            return ExitCode::FAILURE;
        }
    };
    let pool = PhasePool::new(2);
    let n = 65;
    let mut grid = DistGrid::new(&cluster, &pool, n, n, |i, j| {
        kernels::jacobi_initial_value(i * n + j)
    })
    .expect("65 rows are enough for the ranks of this check");
    let rank = cluster.rank();
    let steps = if cluster.size() == 1 {
        PANIC_STEP
    } else {
        STEPS
    };
    for step in 1..=steps {
        grid.step_max(&cluster, &pool, |cur, cols, i, next_row| {
            assert!(
                !(rank == 1 && step == PANIC_STEP),
                "panic_rank: rank 1 fails on purpose in step {step}"
            );
            kernels::jacobi_row(cur, cols, i, next_row)
        });
    }
    ExitCode::SUCCESS
}
