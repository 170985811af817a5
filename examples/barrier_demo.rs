//! The server/client program of the Python `threading.Barrier` tutorial, with lockstep's
//! [`Barrier`].
//!
//! A server thread gets ready and a client thread waits for it; both call `wait()` and are
//! released together. Three scenarios, each checking its own answers:
//!
//! - `ready`: the tutorial. An action prints once per generation, before anyone is released;
//!   the `wait()` index picks one thread for housekeeping; the indices of every generation are a
//!   permutation of `0..parties`.
//! - `timeout`: the server is slow to start; the client's `wait_timeout` expires, which breaks
//!   the barrier for both (`BrokenCause::TimedOut`); `reset()` repairs it and a retry succeeds.
//! - `abort`: the server fails to start and calls `abort()`; the waiting client gets a
//!   `BrokenBarrierError` with cause `Aborted`, so does any later `wait()`, until `reset()`; then
//!   a retry succeeds.
//!
//! ```text
//! cargo run --release --example barrier_demo                 # every scenario
//! cargo run --release --example barrier_demo -- --abort      # only the abort scenario
//! cargo run --release --example barrier_demo -- --scenario timeout
//! ```
//!
//! Exits with 0 when every scenario behaved as expected, 1 when one did not, 2 on a bad flag.
//! Takes well under a second; the ordering between the two threads is established by the
//! barrier's state (`n_waiting`) and channels, never by sleeping and hoping.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use lockstep::barrier::{Barrier, BrokenBarrierError, BrokenCause};

/// A server and a client.
const PARTIES: usize = 2;
/// Generations in the `ready` scenario.
const ROUNDS: usize = 3;
/// The barrier's default timeout: far longer than any scenario needs, so a bug makes a scenario
/// fail with `TimedOut` instead of hanging the program (and CI).
const SAFETY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the client waits for a slow server in the `timeout` scenario.
const CLIENT_PATIENCE: Duration = Duration::from_millis(50);
/// How long a thread waits for the other to show up before declaring the scenario failed.
const RENDEZVOUS_LIMIT: Duration = Duration::from_secs(2);

/// What a scenario returns: `Err` says which expectation failed.
type Outcome = Result<(), String>;

/// A scenario: a name for `--scenario`, and the function that runs and checks it.
type Scenario = (&'static str, fn() -> Outcome);

const SCENARIOS: [Scenario; 3] = [("ready", ready), ("timeout", timeout), ("abort", abort)];

/// The Python `threading.Barrier` tutorial's server and client on lockstep's barrier: an action
/// per generation, a timeout that breaks the barrier, and `abort()`, each repaired by `reset()`.
#[derive(Parser, Debug)]
#[command(long_about = None)]
struct Args {
    /// Run only this scenario (may be repeated) [default: all of them]
    #[arg(long, value_name = "NAME", value_parser = SCENARIOS.map(|(name, _)| name))]
    scenario: Vec<String>,

    /// Same as --scenario abort: the server fails to start and aborts
    #[arg(long)]
    abort: bool,

    /// Accepted for uniformity with the other examples (the demo is always quick)
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut selected = args.scenario;
    if args.abort {
        selected.push("abort".to_owned());
    }

    let started = Instant::now();
    let mut failures = 0;
    for (name, scenario) in SCENARIOS {
        if !selected.is_empty() && !selected.iter().any(|s| s == name) {
            continue;
        }
        println!("== scenario `{name}` ==");
        match scenario() {
            Ok(()) => println!("-- `{name}`: behaved as expected\n"),
            Err(why) => {
                eprintln!("-- `{name}`: FAILED: {why}\n");
                failures += 1;
            }
        }
    }
    if failures == 0 {
        println!(
            "all scenarios behaved as expected ({:.0?})",
            started.elapsed()
        );
        ExitCode::SUCCESS
    } else {
        eprintln!("{failures} scenario(s) failed");
        ExitCode::FAILURE
    }
}

/// The tutorial: the client waits for the server to get ready, then sends its request.
fn ready() -> Outcome {
    let actions = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&actions);
    let barrier = Barrier::builder(PARTIES)
        .action(move || {
            let generation = counter.fetch_add(1, Ordering::SeqCst);
            println!("  [action] generation {generation}: server and client both ready");
        })
        .timeout(SAFETY_TIMEOUT)
        .build()
        .map_err(|error| format!("building the barrier: {error}"))?;
    let housekeeping = AtomicUsize::new(0);

    for round in 0..ROUNDS {
        // Round 0 follows the tutorial exactly: the server finishes getting ready only once the
        // client is inside the barrier, so the server arrives last and gets index PARTIES - 1.
        // Later rounds let the two threads race.
        let ordered = round == 0;
        let (server, client) = thread::scope(|s| {
            let server = s.spawn(|| -> Result<usize, String> {
                println!("  server: starting (round {round})");
                if ordered {
                    wait_for_waiters(&barrier, 1)?;
                }
                println!("  server: ready");
                let index = barrier.wait().map_err(|e| format!("server's wait: {e}"))?;
                after_release("server", index, round, &actions, &housekeeping)?;
                Ok(index)
            });
            let client = s.spawn(|| -> Result<usize, String> {
                println!("  client: waiting for the server (round {round})");
                let index = barrier.wait().map_err(|e| format!("client's wait: {e}"))?;
                println!("  client: sending request");
                after_release("client", index, round, &actions, &housekeeping)?;
                Ok(index)
            });
            (join(server), join(client))
        });
        let (server, client) = (server??, client??);
        ensure_permutation(&[server, client])?;
        if ordered {
            ensure(server == PARTIES - 1, || {
                format!("the server arrived last, got {server}")
            })?;
            ensure(client == 0, || {
                format!("the client arrived first, got {client}")
            })?;
        }
        ensure(housekeeping.load(Ordering::SeqCst) == round + 1, || {
            format!(
                "housekeeping ran {} times in {} rounds",
                housekeeping.load(Ordering::SeqCst),
                round + 1
            )
        })?;
    }

    ensure(actions.load(Ordering::SeqCst) == ROUNDS, || {
        format!(
            "the action ran {} times in {ROUNDS} generations",
            actions.load(Ordering::SeqCst)
        )
    })?;
    ensure_idle(&barrier)
}

/// What each thread does once released: checks that the action of this generation has run,
/// and uses its index to decide who does the housekeeping.
fn after_release(
    who: &str,
    index: usize,
    round: usize,
    actions: &AtomicUsize,
    housekeeping: &AtomicUsize,
) -> Outcome {
    let ran = actions.load(Ordering::SeqCst);
    ensure(ran == round + 1, || {
        format!("{who} returned from generation {round} but the action has run {ran} times")
    })?;
    // Like the tutorial's `if i == 0:`: exactly one thread per generation gets index 0.
    if index == 0 {
        housekeeping.fetch_add(1, Ordering::SeqCst);
        println!("  {who}: index 0, so I remove the temporary file");
    }
    Ok(())
}

/// The server is slow to start and the client gives up: the barrier breaks for both.
fn timeout() -> Outcome {
    let barrier = safety_barrier()?;
    let (gave_up, told) = mpsc::channel::<()>();

    let (server, client) = thread::scope(|s| {
        let barrier = &barrier;
        let server = s.spawn(move || {
            println!("  server: starting, slowly");
            // Blocked until the client has given up; if the client's timeout never fires, arrive
            // anyway so the client is released and the scenario fails instead of hanging.
            if told.recv_timeout(RENDEZVOUS_LIMIT).is_err() {
                println!("  server: the client never gave up; arriving anyway");
            }
            println!("  server: ready at last");
            let outcome = barrier.wait();
            if let Err(error) = &outcome {
                println!("  server: {error}");
            }
            outcome
        });
        let client = s.spawn(move || {
            println!("  client: waiting at most {CLIENT_PATIENCE:?} for the server");
            let outcome = barrier.wait_timeout(CLIENT_PATIENCE);
            if let Err(error) = &outcome {
                println!("  client: {error}");
            }
            println!("  client: barrier is {barrier:?}");
            // The server may already have left (only in the failing case); ignore that.
            let _ = gave_up.send(());
            outcome
        });
        (join(server), join(client))
    });

    expect_broken("client", client?, BrokenCause::TimedOut)?;
    // The barrier was already broken when the server arrived: its wait failed at once.
    expect_broken("server", server?, BrokenCause::TimedOut)?;
    ensure(barrier.is_broken(), || {
        "the barrier should stay broken until reset()".into()
    })?;
    ensure_debug(&barrier, "Barrier(broken)")?;

    retry_after_reset(&barrier)
}

/// The server fails to start and aborts: the waiting client is released with an error.
fn abort() -> Outcome {
    let barrier = safety_barrier()?;

    let (server, client) = thread::scope(|s| {
        let server = s.spawn(|| -> Result<Result<usize, BrokenBarrierError>, String> {
            println!("  server: starting");
            wait_for_waiters(&barrier, 1)?;
            println!("  server: failed to start (port in use); aborting the barrier");
            barrier.abort();
            // Python: "current and future waiters fail until reset()".
            let again = barrier.wait();
            if let Err(error) = &again {
                println!("  server: wait() after abort(): {error}");
            }
            Ok(again)
        });
        let client = s.spawn(|| {
            println!("  client: waiting for the server");
            let outcome = barrier.wait();
            match &outcome {
                Ok(index) => println!("  client: released with index {index}?!"),
                Err(error) => println!("  client: {error}; not sending the request"),
            }
            outcome
        });
        (join(server), join(client))
    });

    expect_broken("client", client?, BrokenCause::Aborted)?;
    expect_broken(
        "server's wait after abort()",
        server??,
        BrokenCause::Aborted,
    )?;
    ensure(barrier.is_broken(), || {
        "an aborted barrier stays broken until reset()".into()
    })?;
    ensure(barrier.n_waiting() == 0, || {
        "a broken barrier has no waiters".into()
    })?;
    ensure_debug(&barrier, "Barrier(broken)")?;

    retry_after_reset(&barrier)
}

/// `reset()` a broken barrier with nobody inside, then meet once more: both succeed.
fn retry_after_reset(barrier: &Barrier) -> Outcome {
    println!("  main: reset() and retry");
    barrier.reset();
    ensure(!barrier.is_broken(), || {
        "reset() with nobody inside should repair the barrier".into()
    })?;
    let indices = thread::scope(|s| {
        let server = s.spawn(|| barrier.wait().map_err(|e| format!("server's retry: {e}")));
        let client = s.spawn(|| barrier.wait().map_err(|e| format!("client's retry: {e}")));
        [join(server), join(client)]
    });
    let [server, client] = indices;
    let indices = [server??, client??];
    println!(
        "  retry: server got index {}, client got index {}",
        indices[0], indices[1]
    );
    ensure_permutation(&indices)?;
    ensure_idle(barrier)
}

/// A two-party barrier with no action and the safety timeout.
fn safety_barrier() -> Result<Barrier, String> {
    Barrier::builder(PARTIES)
        .timeout(SAFETY_TIMEOUT)
        .build()
        .map_err(|error| format!("building the barrier: {error}"))
}

/// Waits (by polling the barrier's state) until `n` threads are inside it.
fn wait_for_waiters(barrier: &Barrier, n: usize) -> Outcome {
    let start = Instant::now();
    while barrier.n_waiting() < n {
        if start.elapsed() > RENDEZVOUS_LIMIT {
            return Err(format!("{n} waiter(s) never arrived: {barrier:?}"));
        }
        thread::sleep(Duration::from_micros(100));
    }
    Ok(())
}

/// Joins a scoped thread, turning its panic into a scenario failure.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> Result<T, String> {
    handle.join().map_err(|_| "a thread panicked".to_owned())
}

fn expect_broken(
    who: &str,
    outcome: Result<usize, BrokenBarrierError>,
    cause: BrokenCause,
) -> Outcome {
    match outcome {
        Err(error) if error.cause() == cause => Ok(()),
        Err(error) => Err(format!(
            "{who}: expected {cause:?}, got {:?} ({error})",
            error.cause()
        )),
        Ok(index) => Err(format!("{who}: expected {cause:?}, got Ok({index})")),
    }
}

fn ensure_permutation(indices: &[usize]) -> Outcome {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    ensure(sorted.iter().copied().eq(0..PARTIES), || {
        format!("indices {indices:?} are not a permutation of 0..{PARTIES}")
    })
}

fn ensure_idle(barrier: &Barrier) -> Outcome {
    ensure(!barrier.is_broken(), || "the barrier is broken".into())?;
    ensure(barrier.n_waiting() == 0, || {
        format!("{} threads still waiting", barrier.n_waiting())
    })?;
    ensure_debug(barrier, &format!("Barrier(waiters=0/{PARTIES})"))
}

fn ensure_debug(barrier: &Barrier, expected: &str) -> Outcome {
    let shown = format!("{barrier:?}");
    println!("  main: {shown}");
    ensure(shown == expected, || {
        format!("Debug shows `{shown}`, expected `{expected}`")
    })
}

fn ensure(condition: bool, why: impl FnOnce() -> String) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(why())
    }
}
