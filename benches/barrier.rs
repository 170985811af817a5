//! Barrier episode latency: lockstep's [`Barrier`] (adaptive waiting, central) and its seated
//! algorithms (tree, dissemination) against `std::sync::Barrier` and the `hurdles` crate, one
//! criterion group per thread count.
//!
//! ```text
//! cargo bench -p lockstep --bench barrier
//! cargo bench -p lockstep --bench barrier -- 'barrier_episode/8-threads'
//! ```
//!
//! Each benchmark keeps a persistent team: `T - 1` helper threads live across criterion's
//! iterations and the bench thread is the `T`-th party. For a measurement of `iters`
//! iterations the bench thread tells every helper `iters` over its channel; everyone waits once
//! (the helpers have woken up and arrived), then the bench thread times `iters` waits. So one
//! criterion iteration is one barrier episode of `T` threads, and criterion's time per
//! iteration is ns per episode.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Barrier as StdBarrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use lockstep::barrier::{Algorithm, Barrier, Seat, WaitPolicy};

const THREAD_COUNTS: [usize; 3] = [2, 4, 8];

/// One thread's handle on a barrier under test.
trait Party: Send + 'static {
    /// One barrier episode.
    fn episode(&mut self);
}

impl Party for Barrier {
    fn episode(&mut self) {
        Barrier::wait(self).expect("nothing breaks the barrier in this benchmark");
    }
}

impl Party for Seat {
    fn episode(&mut self) {
        Seat::wait(self).expect("nothing breaks the barrier in this benchmark");
    }
}

impl Party for Arc<StdBarrier> {
    fn episode(&mut self) {
        StdBarrier::wait(self);
    }
}

impl Party for hurdles::Barrier {
    fn episode(&mut self) {
        hurdles::Barrier::wait(self);
    }
}

/// `T - 1` helper threads that do as many episodes as they are told, and the bench thread's
/// own handle.
struct Team<P: Party> {
    main: P,
    orders: Vec<Sender<u64>>,
    helpers: Vec<JoinHandle<()>>,
}

impl<P: Party> Team<P> {
    /// A team on `parties`, one handle per thread (the last is the bench thread's).
    fn new(mut parties: Vec<P>) -> Team<P> {
        let main = parties.pop().expect("at least one party");
        let (orders, helpers) = parties
            .into_iter()
            .map(|mut party| {
                let (order, orders) = mpsc::channel::<u64>();
                let helper = thread::spawn(move || {
                    // Ends when the team is dropped and the sender with it.
                    for iters in orders {
                        for _ in 0..=iters {
                            party.episode();
                        }
                    }
                });
                (order, helper)
            })
            .unzip();
        Team {
            main,
            orders,
            helpers,
        }
    }

    /// Times `iters` episodes, after one untimed episode that gathers the team.
    fn run(&mut self, iters: u64) -> Duration {
        for order in &self.orders {
            order.send(iters).expect("a helper thread died");
        }
        self.main.episode();
        let start = Instant::now();
        for _ in 0..iters {
            self.main.episode();
        }
        start.elapsed()
    }
}

impl<P: Party> Drop for Team<P> {
    fn drop(&mut self) {
        self.orders.clear();
        for helper in self.helpers.drain(..) {
            // A helper's panic has already been reported by the panic hook.
            let _ = helper.join();
        }
    }
}

fn bench_team<P: Party>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, parties: Vec<P>) {
    let mut team = Team::new(parties);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| team.run(iters));
    });
}

fn barrier_episode(c: &mut Criterion) {
    for threads in THREAD_COUNTS {
        let mut group = c.benchmark_group(format!("barrier_episode/{threads}-threads"));
        let lockstep = Barrier::builder(threads)
            .wait_policy(WaitPolicy::Adaptive)
            .build()
            .expect("a barrier of at least one party builds");
        bench_team(&mut group, "lockstep-adaptive", vec![lockstep; threads]);
        for (name, algorithm) in [
            ("lockstep-tree4", Algorithm::Tree { fan_in: 4 }),
            ("lockstep-dissemination", Algorithm::Dissemination),
        ] {
            let (_barrier, seats) = Barrier::builder(threads)
                .algorithm(algorithm)
                .build_seated()
                .expect("a seated barrier of at least one party builds");
            bench_team(&mut group, name, seats);
        }
        let std = Arc::new(StdBarrier::new(threads));
        bench_team(&mut group, "std", vec![std; threads]);
        // hurdles asserts that a handle is cloned before it is first used.
        let hurdles = hurdles::Barrier::new(threads);
        bench_team(&mut group, "hurdles", vec![hurdles; threads]);
        group.finish();
    }
}

/// In a private module: `criterion_group!` makes an undocumented `pub fn`, which the
/// workspace's `missing_docs` lint would flag at the crate root.
mod group {
    use super::{barrier_episode, criterion_group, Criterion, Duration};

    criterion_group! {
        name = benches;
        config = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        targets = barrier_episode
    }
}
criterion_main!(group::benches);
