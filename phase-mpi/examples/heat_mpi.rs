//! The heat simulation of `examples/heat.rs` across MPI ranks: the plate is split into row
//! blocks ([`DistGrid`]), each rank sweeps its block on its own pool, halo rows travel while the
//! interior is swept, and the global residual decides when to stop. Rank 0 gathers the plate
//! and writes the same PNG as the single-node run (same field, same bytes).
//!
//! ```text
//! cargo build --release -p phase-mpi --examples
//! mpirun -np 2 target/release/examples/heat_mpi                  # 352 x 352, heat.png
//! mpirun -np 2 target/release/examples/heat_mpi --size 1024 --steps 20000 --threads 1
//! mpirun -np 3 target/release/examples/heat_mpi --quick          # CI: small, checks only
//! ```
//!
//! Flags: `--size`, `--steps`, `--tolerance`, `--threads` (per rank; default: the usable CPUs
//! shared among the node's ranks), `--output`, `--quick`, as in `heat`. Besides the human
//! lines, rank 0 prints one machine-readable `heat_mpi ranks=.. threads=.. n=.. steps=..
//! seconds=.. mlups=.. exchange_share=..` line (`exchange_share`: the largest share, over the
//! ranks, of the step time spent in halo exchange that the interior sweep did not hide).
//! With `LOCKSTEP_PROFILE=1` rank 0 also prints its pool's profile: the sweeps as labelled
//! phases, the halo exchange and the all-reduce as serial sections.
//!
//! Checks (every rank agrees on the exit code): the field stays within the edge temperatures
//! and is mirror-symmetric; a 64 x 64 plate stepped across the ranks equals the serial sweep
//! bitwise, step count included. Exits 0 when they pass, 1 when one fails, 2 on a bad flag.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phase_mpi::{Cluster, DistGrid, ReduceOp};
use phase_pool::{kernels, PhasePool};

#[path = "../../examples/common/flags.rs"]
mod flags;
#[path = "../../examples/common/plate.rs"]
mod plate;

use flags::at_least;
use plate::{
    check_heat_map_in_memory, check_physics, initial, parse_tolerance, write_heat_map, Run,
    CHECK_SIZE, COLD, DEFAULT_SIZE, DEFAULT_STEPS, HOT, QUICK_SIZE, QUICK_STEPS,
};

/// 2D heat diffusion across MPI ranks: hot top edge, cold other edges, stepped to steady state.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Grid points per side, boundary included [default: 352; 96 with --quick]
    #[arg(long, value_parser = at_least(3))]
    size: Option<usize>,

    /// Most time steps; stops earlier once the residual is below --tolerance
    /// [default: 500000; 3000 with --quick]
    #[arg(long, value_parser = at_least(1))]
    steps: Option<usize>,

    /// Worker threads per rank, the main thread included [default: the usable CPUs divided
    /// among the ranks of the node]
    #[arg(long, value_parser = at_least(1))]
    threads: Option<usize>,

    /// Stop once no point changes by more than this in one step
    #[arg(long, default_value = "1e-7", value_parser = parse_tolerance, allow_negative_numbers = true)]
    tolerance: f64,

    /// Where rank 0 writes the PNG heat map [default: heat.png; none with --quick]
    #[arg(long)]
    output: Option<PathBuf>,

    /// CI mode: a small plate, few steps, the PNG only checked in memory
    #[arg(long)]
    quick: bool,
}

/// Steps `plate` until the global residual falls below `tolerance` or after `max_steps`.
fn simulate(
    cluster: &Cluster,
    pool: &PhasePool,
    plate: &mut DistGrid,
    max_steps: usize,
    tolerance: f64,
) -> Run {
    let mut residual = 0.0;
    for step in 1..=max_steps {
        residual = plate.step_max(cluster, pool, kernels::jacobi_row);
        if residual < tolerance {
            return Run {
                steps: step,
                residual,
                converged: true,
            };
        }
    }
    Run {
        steps: max_steps,
        residual,
        converged: false,
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cluster = match Cluster::init() {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("heat_mpi: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = run(&cluster, &args);
    drop(cluster); // finalises MPI before the exit
    code
}

fn run(cluster: &Cluster, args: &Args) -> ExitCode {
    let root = cluster.rank() == 0;
    let n = args
        .size
        .unwrap_or(if args.quick { QUICK_SIZE } else { DEFAULT_SIZE });
    let max_steps = args.steps.unwrap_or(if args.quick {
        QUICK_STEPS
    } else {
        DEFAULT_STEPS
    });
    let output = match (&args.output, args.quick) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(PathBuf::from("heat.png")),
        (None, true) => None,
    };
    let threads = args.threads.unwrap_or_else(|| {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        (cpus / cluster.node_size()).max(1)
    });
    let pool = match PhasePool::builder()
        .threads(threads)
        .placement(cluster.node_placement(threads))
        .build()
    {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!(
                "heat_mpi: rank {}: cannot start the pool: {error}",
                cluster.rank()
            );
            cluster.abort(1);
        }
    };
    let mut plate = match DistGrid::new(cluster, &pool, n, n, initial) {
        Ok(plate) => plate,
        Err(error) => {
            if root {
                eprintln!("heat_mpi: {error}");
            }
            return ExitCode::FAILURE;
        }
    };
    // The run reports how much of a step the halo exchange left exposed.
    plate.time_steps(true);
    if root {
        println!(
            "heat_mpi: {n} x {n} plate, top edge at {HOT}, other edges at {COLD}; {} ranks x {} \
             threads; at most {max_steps} steps, tolerance {:e}",
            cluster.size(),
            pool.num_threads(),
            args.tolerance
        );
    }

    let start = Instant::now();
    let run = simulate(cluster, &pool, &mut plate, max_steps, args.tolerance);
    let seconds = cluster.all_reduce(start.elapsed().as_secs_f64(), ReduceOp::Max);
    let share = cluster.all_reduce(plate.times().exchange_share(), ReduceOp::Max);
    // With LOCKSTEP_PROFILE=1 the pool recorded every step's parts: rank 0 shows its own.
    let profile = pool.profile();
    let updates = ((n - 2) * (n - 2)) as f64 * run.steps as f64;
    let mlups = updates / seconds / 1e6;
    if root {
        println!(
            "{} after {} steps: residual {:.3e} (tolerance {:e})",
            if run.converged {
                "converged"
            } else {
                "stopped at the step limit"
            },
            run.steps,
            run.residual,
            args.tolerance
        );
        println!(
            "time {seconds:.2} s, {mlups:.0} MLUP/s on {} ranks x {} threads; halo exchange \
             {:.1}% of a step (largest rank)",
            cluster.size(),
            pool.num_threads(),
            100.0 * share
        );
        println!(
            "heat_mpi ranks={} threads={} n={n} steps={} seconds={seconds:.4} mlups={mlups:.1} \
             exchange_share={share:.4}",
            cluster.size(),
            pool.num_threads(),
            run.steps
        );
        if profile.is_enabled() {
            print!("rank 0's profile (MPI parts as serial sections):\n{profile}");
        }
    }

    let field = plate.gather(cluster, 0);
    let mut ok = check_against_serial(cluster, &pool, max_steps, args.tolerance);
    if let Some(field) = field {
        ok &= check_physics(&field, n);
        ok &= match &output {
            Some(path) => write_heat_map("heat_mpi", path, &field, n),
            None => check_heat_map_in_memory(&field, n),
        };
    }
    // Every rank exits with rank 0's verdict.
    let ok = cluster.broadcast(0, u8::from(ok)) == 1;
    if ok {
        ExitCode::SUCCESS
    } else {
        if root {
            eprintln!("heat_mpi: a check failed");
        }
        ExitCode::FAILURE
    }
}

/// The maximum principle and the mirror symmetry of the final field.
/// Steps a small plate across the ranks and serially (on rank 0); both must agree bitwise,
/// step count included. Every rank takes part; the verdict is rank 0's.
fn check_against_serial(cluster: &Cluster, pool: &PhasePool, max_steps: usize, tol: f64) -> bool {
    let n = CHECK_SIZE;
    let Ok(mut plate) = DistGrid::new(cluster, pool, n, n, initial) else {
        if cluster.rank() == 0 {
            println!("check: skipped the serial comparison ({n} rows are too few for the ranks)");
        }
        return true;
    };
    let distributed = simulate(cluster, pool, &mut plate, max_steps, tol);
    let Some(field) = plate.gather(cluster, 0) else {
        return true;
    };
    let mut cur: Vec<f64> = (0..n * n).map(|k| initial(k / n, k % n)).collect();
    let mut next = cur.clone();
    let mut serial = Run {
        steps: max_steps,
        residual: 0.0,
        converged: false,
    };
    for step in 1..=max_steps {
        serial.residual = kernels::jacobi_step_serial(&cur, &mut next, n);
        std::mem::swap(&mut cur, &mut next);
        if serial.residual < tol {
            serial.steps = step;
            serial.converged = true;
            break;
        }
    }
    let same_run = distributed.steps == serial.steps
        && distributed.converged == serial.converged
        && distributed.residual.to_bits() == serial.residual.to_bits();
    let same_field = field
        .iter()
        .zip(&cur)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    if same_run && same_field {
        println!(
            "check: the distributed result equals the serial reference ({n} x {n}, {} steps, \
             bitwise)",
            distributed.steps
        );
        true
    } else {
        eprintln!(
            "check FAILED: on {n} x {n} the ranks gave {distributed:?}, the serial reference \
             {serial:?}; fields equal: {same_field}"
        );
        false
    }
}
