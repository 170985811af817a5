//! The BSP cost model of this machine, measured the way BSPedupack's `bspbench` measures it:
//! the computing rate `r` (flop/s of a DAXPY loop on every worker at once), and the sync
//! latency `l` and per-word cost `g` fitted by least squares to the time `T(h)` of a superstep
//! that routes an h-relation (every worker sends `h` words and receives `h`), for
//! `h = 0..=hmax`, once with coarray puts and once with messages.
//!
//! Beside them, in the same run, the peers these parameters are judged against: the cost of an
//! empty `ctx.sync` in a run that registers nothing, and the same h-relations routed by plain
//! copies between the workers' buffers (no coarray, no queue: the memory system's own `g`),
//! and by one block put per target instead of one put per word.
//!
//! Used by `bsp_probe` (which prints, saves and plots it) and by the BSP algorithm examples,
//! which predict their time from it: `T = sum over supersteps of (w / r + h g + l)`.
#![allow(dead_code, reason = "each example uses a subset of these helpers")]

use std::hint::black_box;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use lockstep::pool::{Ctx, PhasePool};

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct ProbeConfig {
    /// The largest h of the h-relations.
    pub hmax: usize,
    /// Supersteps timed per h.
    pub iterations: usize,
    /// DAXPY vector lengths are 1, 2, 4, .. up to this.
    pub daxpy_max: usize,
    /// Flops per DAXPY length timed (the repetitions adapt to the length).
    pub daxpy_flops: usize,
}

impl ProbeConfig {
    /// The full measurement (a few seconds per team size).
    pub const FULL: ProbeConfig = ProbeConfig {
        hmax: 256,
        iterations: 100,
        daxpy_max: 1024,
        daxpy_flops: 20_000_000,
    };

    /// A fraction of a second per team size, for CI and for the algorithm examples.
    pub const QUICK: ProbeConfig = ProbeConfig {
        hmax: 32,
        iterations: 20,
        daxpy_max: 256,
        daxpy_flops: 1_000_000,
    };
}

/// `T(h) = l + g h`, fitted to measured superstep times.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Seconds per word of the h-relation.
    pub g: f64,
    /// Seconds per superstep with nothing to route.
    pub l: f64,
    /// The measured `T(h)` in seconds, for `h = 0..=hmax`.
    pub times: Vec<f64>,
}

/// The BSP parameters of one team size.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Workers.
    pub p: usize,
    /// Flop/s of one worker while all `p` compute.
    pub r: f64,
    /// The fit with coarray puts (one word per put, as `bspbench`).
    pub put: Fit,
    /// The fit with messages (one word per message).
    pub send: Fit,
    /// The peers measured in the same run (absent in parameters read from a file).
    pub peers: Option<Peers>,
}

/// What the parameters are judged against, measured beside them.
#[derive(Clone, Debug, PartialEq)]
pub struct Peers {
    /// Seconds per empty superstep (`ctx.sync` with nothing registered and nothing sent).
    pub sync: f64,
    /// The h-relations as one coarray put per target (`h / p` words each) instead of per word.
    pub block_put: Fit,
    /// The h-relations as plain copies: each worker copies the words for each target into a
    /// buffer of its own, and after the sync each target copies them out; two `memcpy`s per
    /// word, as a buffered put does.
    pub copy: Fit,
}

impl Params {
    /// The BSP time of a program whose supersteps cost `w` flops (the most on any worker) and
    /// route an `h`-relation each, with puts: `w / r + h g + l` summed.
    pub fn predict(&self, supersteps: &[(f64, f64)]) -> f64 {
        supersteps
            .iter()
            .map(|&(w, h)| w / self.r + h * self.put.g + self.put.l)
            .sum()
    }

    /// One JSON object on one line.
    pub fn to_json(&self) -> String {
        let fit = |f: &Fit| {
            let times: Vec<String> = f.times.iter().map(|t| format!("{:.1}", t * 1e9)).collect();
            format!(
                "{{\"g_ns\": {:.3}, \"l_ns\": {:.1}, \"g_flops\": {:.2}, \"l_flops\": {:.1}, \
                 \"t_ns\": [{}]}}",
                f.g * 1e9,
                f.l * 1e9,
                f.g * self.r,
                f.l * self.r,
                times.join(", ")
            )
        };
        let peers = match &self.peers {
            Some(peers) => format!(
                ", \"sync_ns\": {:.1}, \"block_put\": {}, \"copy\": {}",
                peers.sync * 1e9,
                fit(&peers.block_put),
                fit(&peers.copy)
            ),
            None => String::new(),
        };
        format!(
            "{{\"p\": {}, \"r_mflops\": {:.2}, \"put\": {}, \"send\": {}{peers}}}",
            self.p,
            self.r / 1e6,
            fit(&self.put),
            fit(&self.send)
        )
    }

    /// Reads the line of `p` workers from a file that `bsp_probe` wrote (one object per line).
    pub fn load(path: &Path, p: usize) -> Result<Params, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let line = text
            .lines()
            .find(|line| number_after(line, "\"p\":") == Some(p as f64))
            .ok_or_else(|| format!("{}: no parameters for p = {p}", path.display()))?;
        let field = |part: &str, key: &str| {
            number_after(part, key).ok_or_else(|| format!("{}: no {key} in {line}", path.display()))
        };
        let r = field(line, "\"r_mflops\":")? * 1e6;
        let fit = |name: &str| -> Result<Fit, String> {
            let at = line
                .find(name)
                .ok_or_else(|| format!("{}: no {name} in {line}", path.display()))?;
            let part = &line[at..];
            Ok(Fit {
                g: field(part, "\"g_ns\":")? * 1e-9,
                l: field(part, "\"l_ns\":")? * 1e-9,
                times: Vec::new(),
            })
        };
        Ok(Params {
            p,
            r,
            put: fit("\"put\":")?,
            send: fit("\"send\":")?,
            peers: None,
        })
    }
}

/// The number right after the first `key` in `text`.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let rest = text[text.find(key)? + key.len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Least squares: the `(g, l)` of `T(h) = l + g h` closest to `times[h]`.
pub fn least_squares(times: &[f64]) -> (f64, f64) {
    let count = times.len() as f64;
    if times.len() < 2 {
        return (0.0, times.first().copied().unwrap_or(0.0));
    }
    let mean_h = (count - 1.0) / 2.0;
    let mean_t = times.iter().sum::<f64>() / count;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (h, &t) in times.iter().enumerate() {
        covariance += (h as f64 - mean_h) * (t - mean_t);
        variance += (h as f64 - mean_h) * (h as f64 - mean_h);
    }
    let g = covariance / variance;
    (g, mean_t - g * mean_h)
}

/// Measures the parameters of `pool`'s team.
pub fn probe(pool: &PhasePool, config: &ProbeConfig) -> Params {
    let p = pool.num_threads();
    let r = daxpy_rate(pool, config);
    let put = fit(h_relation_times(pool, config, Route::Put));
    let send = fit(h_relation_times(pool, config, Route::Send));
    let peers = Peers {
        sync: empty_sync_time(pool, config),
        block_put: fit(h_relation_times(pool, config, Route::BlockPut)),
        copy: fit(h_relation_times(pool, config, Route::Copy)),
    };
    Params {
        p,
        r,
        put,
        send,
        peers: Some(peers),
    }
}

fn fit(times: Vec<f64>) -> Fit {
    let (g, l) = least_squares(&times);
    Fit { g, l, times }
}

/// Flop/s of one worker running two DAXPYs (`y += a x`, `z -= a x`: 4 flops per element) while
/// every worker does the same; the harmonic mean over the vector lengths of the slowest
/// worker's rate.
fn daxpy_rate(pool: &PhasePool, config: &ProbeConfig) -> f64 {
    let rates = pool.run(|ctx| {
        let mut seconds = 0.0;
        let mut flops = 0.0;
        let mut n = 1;
        while n <= config.daxpy_max {
            let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
            let mut y = vec![1.0; n];
            let mut z = vec![1.0; n];
            let alpha = 1.0 / 3.0;
            let reps = (config.daxpy_flops / (4 * n)).max(1);
            ctx.sync();
            let start = ctx.time();
            for _ in 0..reps {
                for ((y, z), x) in y.iter_mut().zip(z.iter_mut()).zip(&x) {
                    *y += alpha * x;
                    *z -= alpha * x;
                }
                black_box((&mut y, &mut z));
            }
            seconds += ctx.time() - start;
            flops += (4 * n * reps) as f64;
            n *= 2;
        }
        flops / seconds
    });
    rates.into_iter().fold(f64::INFINITY, f64::min)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// One coarray put per word.
    Put,
    /// One message per word.
    Send,
    /// One coarray put per target, of the words for it.
    BlockPut,
    /// Plain copies through per-pair buffers (the peer).
    Copy,
}

/// The timed supersteps of each h come in this many batches, and `T(h)` is the median batch's
/// mean: a batch in which the operating system descheduled a worker (the machine may be
/// shared) does not move it.
const BATCHES: usize = 5;

/// The median batch's mean time per superstep of `config.iterations` supersteps of `step`, on
/// worker 0's clock; `ctx.sync` comes after each `step`.
fn superstep_time<M: Send>(
    ctx: &mut Ctx<'_, M>,
    per_batch: usize,
    mut step: impl FnMut(&mut Ctx<'_, M>),
) -> f64 {
    let mut batches = [0.0; BATCHES];
    for batch in &mut batches {
        ctx.sync();
        let start = ctx.time();
        for _ in 0..per_batch {
            step(ctx);
            ctx.sync();
        }
        *batch = (ctx.time() - start) / per_batch as f64;
    }
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}

/// The time of an empty superstep in a run that registers nothing.
fn empty_sync_time(pool: &PhasePool, config: &ProbeConfig) -> f64 {
    let per_batch = config.iterations.div_ceil(BATCHES);
    let times =
        pool.run_bsp::<f64, _, _>(|ctx: &mut Ctx<'_, f64>| superstep_time(ctx, per_batch, |_| {}));
    times[0]
}

/// `T(h)` for `h = 0..=hmax`: the time per superstep of `config.iterations` supersteps in
/// which worker `s` sends word `i` of `h` to worker `(s + 1 + i) % p` (one put or message per
/// word, as `bspbench`; or the words for each target at once), on worker 0's clock.
fn h_relation_times(pool: &PhasePool, config: &ProbeConfig, route: Route) -> Vec<f64> {
    let hmax = config.hmax;
    let per_batch = config.iterations.div_ceil(BATCHES);
    let p = pool.num_threads();
    // The copy peer's buffers, `[parity][from * p + to]`: a superstep fills one parity while
    // the previous superstep's readers may still hold the other.
    let buffers: [Vec<Mutex<Vec<f64>>>; 2] =
        std::array::from_fn(|_| (0..p * p).map(|_| Mutex::new(Vec::new())).collect());
    let times = pool.run_bsp::<f64, _, _>(|ctx: &mut Ctx<'_, f64>| {
        let me = ctx.index();
        // Word i of sender s lands at index s + p * (i / p) of its target: every target
        // receives h words at distinct places.
        let dest = ctx.coarray::<f64>(hmax + p, 0.0);
        let mut copied = vec![0.0; hmax + p];
        let src: Vec<f64> = (0..hmax).map(|i| (me * hmax + i) as f64).collect();
        // The words for target t are i = (t - me - 1) mod p, (t - me - 1) mod p + p, ..
        let first = |to: usize| (to + p - me - 1) % p;
        let mut by_target: Vec<Vec<f64>> = vec![Vec::with_capacity(hmax); p];
        let mut parity = 0;
        let mut times = Vec::with_capacity(hmax + 1);
        for h in 0..=hmax {
            // A block route's words from sender `s` land at `s * slot..`: at most `slot` of
            // them per target, so the senders' blocks do not overlap.
            let slot = h.div_ceil(p);
            if matches!(route, Route::BlockPut | Route::Copy) {
                for (to, words) in by_target.iter_mut().enumerate() {
                    words.clear();
                    words.extend(src[..h].iter().skip(first(to)).step_by(p));
                }
            }
            times.push(superstep_time(ctx, per_batch, |ctx| match route {
                Route::Put => {
                    // Target and offset advance by counting, not by dividing: a division per
                    // word would cost more than the put.
                    let (mut to, mut offset) = ((me + 1) % p, me);
                    for word in &src[..h] {
                        dest.put(to, offset, std::slice::from_ref(word));
                        to += 1;
                        if to == p {
                            to = 0;
                        }
                        if to == (me + 1) % p {
                            offset += p;
                        }
                    }
                }
                Route::Send => {
                    black_box(ctx.messages());
                    let mut to = (me + 1) % p;
                    for &word in &src[..h] {
                        ctx.send(to, word);
                        to += 1;
                        if to == p {
                            to = 0;
                        }
                    }
                }
                Route::BlockPut => {
                    for (to, words) in by_target.iter().enumerate() {
                        dest.put(to, me * slot, words);
                    }
                }
                Route::Copy => {
                    // Read what the others wrote before the previous sync, then write this
                    // superstep's words: one transfer per word per superstep, as a put.
                    let other = 1 - parity;
                    for from in 0..p {
                        let buffer = lock(&buffers[other][from * p + me]);
                        copied[from * slot..][..buffer.len()].copy_from_slice(&buffer);
                    }
                    black_box(&mut copied);
                    for to in 0..p {
                        let mut buffer = lock(&buffers[parity][me * p + to]);
                        buffer.clear();
                        buffer.extend_from_slice(&by_target[to]);
                    }
                    parity = other;
                }
            }));
        }
        times
    });
    times.into_iter().next().expect("worker 0's times")
}

/// Locks a buffer of the copy peer; nothing panics while one is held.
fn lock(buffer: &Mutex<Vec<f64>>) -> std::sync::MutexGuard<'_, Vec<f64>> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Measures every team size `1..=max_p`, calling `done` after each.
pub fn probe_all(
    max_p: usize,
    config: &ProbeConfig,
    mut done: impl FnMut(&Params),
) -> Result<Vec<Params>, lockstep::pool::BuildError> {
    let mut all = Vec::with_capacity(max_p);
    for p in 1..=max_p {
        let pool = PhasePool::builder().threads(p).build()?;
        let params = probe(&pool, config);
        done(&params);
        all.push(params);
    }
    Ok(all)
}

/// The parameters for `pool`'s team: from `path` if given (a `bsp_probe` JSON file), else a
/// quick measurement.
pub fn params_for(pool: &PhasePool, path: Option<&Path>) -> Result<Params, String> {
    match path {
        Some(path) => Params::load(path, pool.num_threads()),
        None => Ok(probe(pool, &ProbeConfig::QUICK)),
    }
}

/// One line: `r`, `g` and `l` in flops and in ns.
pub fn describe(params: &Params) -> String {
    let fit = |f: &Fit| {
        format!(
            "g = {:7.1} flops ({:6.2} ns)  l = {:8.0} flops ({:8.0} ns)",
            f.g * params.r,
            f.g * 1e9,
            f.l * params.r,
            f.l * 1e9
        )
    };
    format!(
        "p = {:2}  r = {:8.1} Mflop/s  put: {}  send: {}",
        params.p,
        params.r / 1e6,
        fit(&params.put),
        fit(&params.send)
    )
}

/// One line: the peers and the parameters' ratios to them, or nothing without peers.
pub fn describe_peers(params: &Params) -> Option<String> {
    let peers = params.peers.as_ref()?;
    let per_word = |f: &Fit| f.g / peers.copy.g.max(f64::MIN_POSITIVE);
    Some(format!(
        "       empty sync {:6.0} ns (put l / sync {:.2})  copy g {:6.2} ns  \
         block put g {:6.2} ns  (put g / copy g {:.2}, block put g / copy g {:.2})",
        peers.sync * 1e9,
        params.put.l / peers.sync,
        peers.copy.g * 1e9,
        peers.block_put.g * 1e9,
        per_word(&params.put),
        per_word(&peers.block_put)
    ))
}

/// The model's time for `flops` of work, `words` of h-relations and `syncs` syncs, with puts.
pub fn predict(params: &Params, flops: f64, words: f64, syncs: f64) -> f64 {
    flops / params.r + words * params.put.g + syncs * params.put.l
}

/// Prints the measured time beside the model's, and the terms of the model.
pub fn report(name: &str, seconds: f64, params: &Params, flops: f64, words: f64, syncs: f64) {
    let model = predict(params, flops, words, syncs);
    println!(
        "{name}: measured {:.3} ms, BSP model {:.3} ms (w = {flops:.0} flops / r, \
         h = {words:.0} words x g, S = {syncs:.0} syncs x l; measured/model {:.2})",
        seconds * 1e3,
        model * 1e3,
        seconds / model
    );
}
