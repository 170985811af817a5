//! A lockstep n-body simulation: softened gravity, leapfrog (kick-drift) integration, and the
//! total energy reduced in the same phase as every step.
//!
//! ```text
//! cargo run --release --example nbody                       # 1,024 bodies, 200 steps
//! cargo run --release --example nbody -- --bodies 4096 --steps 100 --threads 4
//! cargo run --release --example nbody -- --quick            # CI smoke, well under a second
//! ```
//!
//! The bodies live in two buffers, `cur` and `next`. One step is one phase of the pool
//! ([`PhasePool::map_reduce_chunks_mut`] over `next` in chunks of [`CHUNK`] bodies, reading the
//! whole of `cur`): for each body `i` of its chunks a worker computes the acceleration `a_i` and
//! the potential `phi_i` at the positions `x_n` of step `n`, then
//!
//! ```text
//! v_n       = v_{n-1/2} + dt/2 a_i        (synchronised velocity, for the energy only)
//! v_{n+1/2} = v_{n-1/2} + dt a_i          (kick)
//! x_{n+1}   = x_n + dt v_{n+1/2}          (drift)
//! E_n      += m_i |v_n|^2 / 2 + m_i phi_i / 2
//! ```
//!
//! and returns its chunk's share of the energy; the pool folds the shares in chunk order, so
//! `E_n` arrives with the step, with no extra phase, and is bitwise reproducible whatever the
//! number of threads. The buffers swap after the phase.
//!
//! The program then runs the same steps serially (the same chunk function over
//! `chunks_mut`, folded in the same order) and checks that every position, velocity and energy
//! is bitwise equal, and that the relative energy drift `max_n |E_n - E_0| / |E_0|` stays below
//! [`MAX_DRIFT`]. It exits with status 1 if a check fails and 2 on bad arguments.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use lockstep::pool::PhasePool;

/// Bodies per chunk: the unit of work and of the energy reduction. Fixed, so the reduction
/// order (and so every bit of the energy) does not depend on the number of threads.
const CHUNK: usize = 32;
/// Gravitational constant (N-body units: G = 1, total mass 1, initial radius 1).
const G: f64 = 1.0;
/// Plummer softening length: keeps close encounters (and the time step) tame.
const SOFTENING: f64 = 0.05;
/// Initial virial ratio `KE / |PE|` (0.5: equilibrium).
const VIRIAL_RATIO: f64 = 0.5;
/// The largest relative energy drift accepted. Leapfrog's error is `O(dt^2)` and bounded; with
/// the default `dt` the drift of a few hundred steps is around `1e-6`.
const MAX_DRIFT: f64 = 1e-3;

/// Softened-gravity n-body on the pool: one phase per leapfrog step, with the total energy
/// reduced in the same phase; checked bitwise against a serial run and for energy drift.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Number of bodies, at least 2 [default: 1024; 256 with --quick]
    #[arg(long, value_name = "N", value_parser = common::at_least(2))]
    bodies: Option<usize>,

    /// Time steps [default: 200; 50 with --quick]
    #[arg(long, value_parser = common::at_least(1))]
    steps: Option<usize>,

    /// Time step, in units where G = M = R = 1
    #[arg(
        long,
        default_value = "0.001",
        value_parser = parse_dt,
        allow_negative_numbers = true
    )]
    dt: f64,

    /// Worker threads, the main thread included [default: physical cores, or
    /// LOCKSTEP_NUM_THREADS]
    #[arg(long, value_parser = common::at_least(1))]
    threads: Option<usize>,

    /// Seed of the initial conditions
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// CI mode: a small, fast run of 256 bodies and 50 steps
    #[arg(long)]
    quick: bool,
}

/// A positive, finite time step.
fn parse_dt(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(dt) if dt > 0.0 && dt.is_finite() => Ok(dt),
        Ok(_) => Err("must be a positive, finite number".into()),
        Err(error) => Err(error.to_string()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Body {
    pos: [f64; 3],
    /// The velocity half a step behind the positions: `v_{n-1/2}`.
    vel: [f64; 3],
    mass: f64,
}

/// splitmix64: a small, well-mixed generator for reproducible initial conditions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in the unit ball (rejection sampling).
    fn in_unit_ball(&mut self) -> [f64; 3] {
        loop {
            let p = [0, 1, 2].map(|_| 2.0 * self.next_f64() - 1.0);
            if dot(p, p) <= 1.0 {
                return p;
            }
        }
    }
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a + s * b`.
fn axpy(a: [f64; 3], s: f64, b: [f64; 3]) -> [f64; 3] {
    [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]]
}

/// The softened acceleration on body `i` and its potential `phi_i = -G sum_j m_j / r_ij`.
fn field_at(bodies: &[Body], i: usize) -> ([f64; 3], f64) {
    let eps2 = SOFTENING * SOFTENING;
    let pi = bodies[i].pos;
    let mut acc = [0.0; 3];
    let mut phi = 0.0;
    for other in bodies[..i].iter().chain(&bodies[i + 1..]) {
        let d = [
            other.pos[0] - pi[0],
            other.pos[1] - pi[1],
            other.pos[2] - pi[2],
        ];
        let inv_r = 1.0 / (dot(d, d) + eps2).sqrt();
        let m_inv_r = G * other.mass * inv_r;
        acc = axpy(acc, m_inv_r * inv_r * inv_r, d);
        phi -= m_inv_r;
    }
    (acc, phi)
}

/// One step of the bodies `first..first + out.len()`: reads every body of step `n` in `cur`,
/// writes those bodies of step `n + 1` into `out`, and returns their share of `E_n`.
fn step_chunk(cur: &[Body], first: usize, out: &mut [Body], dt: f64) -> f64 {
    let mut energy = 0.0;
    for (k, slot) in out.iter_mut().enumerate() {
        let i = first + k;
        let body = cur[i];
        let (acc, phi) = field_at(cur, i);
        let v_n = axpy(body.vel, 0.5 * dt, acc);
        energy += 0.5 * body.mass * dot(v_n, v_n) + 0.5 * body.mass * phi;
        let vel = axpy(body.vel, dt, acc);
        *slot = Body {
            pos: axpy(body.pos, dt, vel),
            vel,
            mass: body.mass,
        };
    }
    energy
}

/// Equal masses uniform in the unit ball, isotropic velocities scaled to [`VIRIAL_RATIO`], no
/// net momentum; velocities then set half a step back (`v_{-1/2} = v_0 - dt/2 a_0`).
fn initial_bodies(n: usize, seed: u64, dt: f64) -> Vec<Body> {
    let mut rng = SplitMix64(seed);
    let mass = 1.0 / n as f64;
    let mut bodies: Vec<Body> = (0..n)
        .map(|_| Body {
            pos: rng.in_unit_ball(),
            vel: rng.in_unit_ball(),
            mass,
        })
        .collect();
    let mut mean = [0.0; 3];
    for b in &bodies {
        mean = axpy(mean, 1.0 / n as f64, b.vel);
    }
    let fields: Vec<([f64; 3], f64)> = (0..n).map(|i| field_at(&bodies, i)).collect();
    let potential: f64 = bodies
        .iter()
        .zip(&fields)
        .map(|(b, (_, phi))| 0.5 * b.mass * phi)
        .sum();
    let kinetic: f64 = bodies
        .iter()
        .map(|b| {
            let v = axpy(b.vel, -1.0, mean);
            0.5 * b.mass * dot(v, v)
        })
        .sum();
    let scale = (VIRIAL_RATIO * potential.abs() / kinetic).sqrt();
    for (b, (acc, _)) in bodies.iter_mut().zip(&fields) {
        let v0 = axpy(b.vel, -1.0, mean).map(|v| v * scale);
        b.vel = axpy(v0, -0.5 * dt, *acc);
    }
    bodies
}

/// The trajectory of a run: the final bodies and `E_n` for every step `n`.
struct Run {
    bodies: Vec<Body>,
    energies: Vec<f64>,
    seconds: f64,
}

fn run_pooled(pool: &PhasePool, initial: &[Body], steps: usize, dt: f64) -> Run {
    let mut cur = initial.to_vec();
    let mut next = initial.to_vec();
    let mut energies = Vec::with_capacity(steps);
    let start = Instant::now();
    for _ in 0..steps {
        let bodies = &cur;
        let energy = pool.map_reduce_chunks_mut(
            &mut next,
            CHUNK,
            0.0,
            |chunk, out| step_chunk(bodies, chunk * CHUNK, out, dt),
            |a, b| a + b,
        );
        energies.push(energy);
        std::mem::swap(&mut cur, &mut next);
    }
    Run {
        bodies: cur,
        energies,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn run_serial(initial: &[Body], steps: usize, dt: f64) -> Run {
    let mut cur = initial.to_vec();
    let mut next = initial.to_vec();
    let mut energies = Vec::with_capacity(steps);
    let start = Instant::now();
    for _ in 0..steps {
        let energy = next
            .chunks_mut(CHUNK)
            .enumerate()
            .map(|(chunk, out)| step_chunk(&cur, chunk * CHUNK, out, dt))
            .fold(0.0, |a, b| a + b);
        energies.push(energy);
        std::mem::swap(&mut cur, &mut next);
    }
    Run {
        bodies: cur,
        energies,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The first difference between two runs, bit for bit.
fn first_difference(a: &Run, b: &Run) -> Option<String> {
    let bits = |v: f64| v.to_bits();
    for (n, (x, y)) in a.energies.iter().zip(&b.energies).enumerate() {
        if bits(*x) != bits(*y) {
            return Some(format!("energy of step {n}: {x:e} vs {y:e}"));
        }
    }
    for (i, (x, y)) in a.bodies.iter().zip(&b.bodies).enumerate() {
        let same = x.pos.map(bits) == y.pos.map(bits) && x.vel.map(bits) == y.vel.map(bits);
        if !same {
            return Some(format!("body {i}: {x:?} vs {y:?}"));
        }
    }
    None
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pool = match common::pool_or_exit("nbody", args.threads) {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let n = common::or_default(args.bodies, args.quick, 1024, 256);
    let steps = common::or_default(args.steps, args.quick, 200, 50);
    let Args { dt, seed, .. } = args;
    println!(
        "nbody: {n} bodies, {steps} steps of dt = {dt}, softening {SOFTENING}, {} threads, \
         chunks of {CHUNK} bodies, seed {seed}",
        pool.num_threads()
    );

    let initial = initial_bodies(n, seed, dt);
    let pooled = run_pooled(&pool, &initial, steps, dt);
    let serial = run_serial(&initial, steps, dt);

    let e0 = pooled.energies[0];
    let drift = |e: f64| ((e - e0) / e0).abs();
    let report_every = (steps / 5).max(1);
    for (step, &energy) in pooled.energies.iter().enumerate() {
        if step % report_every == 0 || step + 1 == steps {
            println!(
                "  step {step:>6}  t = {:>8.4}  E = {energy:+.12e}  |dE/E0| = {:.3e}",
                step as f64 * dt,
                drift(energy)
            );
        }
    }
    let max_drift = pooled
        .energies
        .iter()
        .map(|&e| drift(e))
        .fold(0.0, f64::max);
    let final_drift = drift(*pooled.energies.last().expect("at least one step"));
    let pairs = (n * (n - 1) * steps) as f64;
    println!(
        "relative energy drift: final {final_drift:.3e}, max {max_drift:.3e} over {steps} steps"
    );
    println!(
        "pool:   {:.3} s ({:.1} M pair interactions/s)\nserial: {:.3} s ({:.1} M pair \
         interactions/s), speedup {:.2}x",
        pooled.seconds,
        pairs / pooled.seconds / 1e6,
        serial.seconds,
        pairs / serial.seconds / 1e6,
        serial.seconds / pooled.seconds
    );

    let mut ok = true;
    match first_difference(&pooled, &serial) {
        None => println!("check: pool == serial, bitwise (positions, velocities, energies): ok"),
        Some(difference) => {
            println!("check: pool != serial: first difference at {difference}: FAILED");
            ok = false;
        }
    }
    if max_drift <= MAX_DRIFT {
        println!("check: max energy drift {max_drift:.3e} <= {MAX_DRIFT:e}: ok");
    } else {
        println!("check: max energy drift {max_drift:.3e} > {MAX_DRIFT:e}: FAILED");
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
