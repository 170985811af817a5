//! Phases started from user code that runs inside or around a phase: the `Drop` of a closure's
//! captures, of a reduction's identity, partial and final results, and of a panic payload; a
//! `combine`; a `map` on the leader (worker 0). On the same pool (reached through a
//! `thread_local!`, since a pool is not `Sync`) and on another pool.
//!
//! The contract: a phase started once the pool's phase has ended (a capture's `Drop`, the final
//! result's) runs; one started on the same pool while its phase is still running (a `map` on
//! the leader, a `combine` or a `Drop` during the fold) is refused with a panic whose message
//! says it comes from "inside a phase", and the pool keeps working; another pool can always be
//! used. Every value is dropped exactly once.
//!
//! Each scenario runs in a child process with a time limit, so that an abort or a hang fails
//! that test alone.

mod common;

use std::cell::RefCell;
use std::ops::Range;
use std::panic::{catch_unwind, panic_any, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, ThreadId};

use common::{child_test, message, pool};
use phase_pool::{PhasePool, Schedule};

const REFUSAL: &str = "inside a phase";

thread_local! {
    /// The pool under test on this thread (the caller's), reached from user code.
    static SAME: RefCell<Option<PhasePool>> = const { RefCell::new(None) };
    /// Another pool, always usable from inside a phase of `SAME`.
    static OTHER: PhasePool = pool(2);
}

/// The thread that issues the phases under test.
static CALLER: OnceLock<ThreadId> = OnceLock::new();

/// Which pool a nested phase goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Same,
    Other,
}

/// One nested phase: where it was started from, and how it went.
#[derive(Clone, Debug)]
struct Event {
    origin: &'static str,
    target: Target,
    /// Whether the pool's call was still running (its phase, or what follows it before the
    /// call returns, such as dropping the closure).
    in_call: bool,
    /// Whether it ran on the caller's thread (elsewhere `SAME` is that thread's own pool).
    on_caller: bool,
    /// `Ok` when the nested phase ran and got the right results; the panic message if not.
    outcome: Result<(), String>,
}

static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());
static IN_CALL: AtomicUsize = AtomicUsize::new(0);
static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Runs `call` (a phase of the pool under test) with `IN_CALL` set.
fn during<R>(call: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            IN_CALL.fetch_sub(1, Ordering::SeqCst);
        }
    }
    IN_CALL.fetch_add(1, Ordering::SeqCst);
    let _clear = Clear;
    call()
}

/// Two phases on `pool`, checked: what any nested phase runs.
fn phases(pool: &PhasePool) {
    let sum = pool.map_reduce_index(
        0..1000,
        7,
        0u64,
        |r| r.map(|i| i as u64).sum(),
        |a, b| a + b,
    );
    assert_eq!(sum, 499_500, "a nested reduction");
    let mut data = vec![0u8; 100];
    pool.for_each_chunk_mut(&mut data, 9, |_, chunk| chunk.fill(1));
    assert!(data.iter().all(|&x| x == 1), "a nested phase");
}

/// Starts [`phases`] on `target` and records how it went; never panics. Off the caller's
/// thread (a value the pool dropped on a worker) the pool under test is out of reach, so
/// `Same` means that thread's other pool.
fn nested(origin: &'static str, target: Target) {
    let on_caller = CALLER.get() == Some(&thread::current().id());
    let outcome = catch_unwind(|| match target {
        Target::Same if on_caller => with_same(phases),
        Target::Same | Target::Other => OTHER.with(phases),
    })
    .map_err(|panic| message(&*panic));
    EVENTS.lock().unwrap().push(Event {
        origin,
        target,
        in_call: IN_CALL.load(Ordering::SeqCst) > 0,
        on_caller,
        outcome,
    });
}

/// A value whose `Drop` starts a nested phase.
struct Reenter {
    origin: &'static str,
    target: Target,
    /// What a reduction carries.
    value: f64,
}

impl Reenter {
    fn new(origin: &'static str, target: Target, value: f64) -> Reenter {
        CREATED.fetch_add(1, Ordering::SeqCst);
        Reenter {
            origin,
            target,
            value,
        }
    }
}

impl Drop for Reenter {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
        nested(self.origin, self.target);
    }
}

/// Sets up the pool under test on this thread, with `threads` workers.
fn set_up(threads: usize) {
    let _ = CALLER.set(thread::current().id());
    SAME.with(|same| *same.borrow_mut() = Some(pool(threads)));
}

fn with_same<R>(f: impl FnOnce(&PhasePool) -> R) -> R {
    SAME.with(|same| f(same.borrow().as_ref().expect("a pool under test")))
}

fn take_events() -> Vec<Event> {
    std::mem::take(&mut *EVENTS.lock().unwrap())
}

/// Every value made was dropped, once.
fn assert_all_dropped() {
    assert_eq!(
        CREATED.load(Ordering::SeqCst),
        DROPPED.load(Ordering::SeqCst),
        "values created and dropped"
    );
}

/// The pool under test still runs phases, from outside.
fn assert_pool_works() {
    with_same(phases);
}

fn chunk_value(r: &Range<usize>) -> f64 {
    (r.start as f64 + 0.5) * 10f64.powi((r.start % 13) as i32 - 6)
}

const SCHEDULES: [Schedule; 3] = [
    Schedule::Static,
    Schedule::Dynamic { chunk: 1 },
    Schedule::Guided,
];

#[test]
fn captures_dropped_after_the_phase_start_phases() {
    child_test("captures_dropped_after_the_phase_start_phases", || {
        for threads in [1, 2, 3] {
            set_up(threads);
            for target in [Target::Same, Target::Other] {
                for schedule in SCHEDULES {
                    with_same(|pool| {
                        let pool = pool.with_schedule(schedule);
                        let capture = Reenter::new("for_each_index", target, 0.0);
                        during(|| {
                            pool.for_each_index(0..10, move |_| {
                                let _ = &capture;
                            })
                        });
                        let capture = Reenter::new("for_each_chunk_mut", target, 0.0);
                        let mut data = vec![0u32; 10];
                        during(|| {
                            pool.for_each_chunk_mut(&mut data, 3, move |i, chunk| {
                                let _ = &capture;
                                chunk.fill(i as u32);
                            })
                        });
                        assert_eq!(data, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
                        let capture = Reenter::new("map_reduce_index", target, 0.0);
                        let sum = during(|| {
                            pool.map_reduce_index(
                                0..10,
                                2,
                                0,
                                move |r| {
                                    let _ = &capture;
                                    r.sum::<usize>()
                                },
                                |a, b| a + b,
                            )
                        });
                        assert_eq!(sum, 45);
                        let capture = Reenter::new("map_reduce_chunks_mut", target, 0.0);
                        let sum = during(|| {
                            pool.map_reduce_chunks_mut(
                                &mut data,
                                4,
                                0,
                                move |_, chunk| {
                                    let _ = &capture;
                                    chunk.iter().sum::<u32>()
                                },
                                |a, b| a + b,
                            )
                        });
                        assert_eq!(sum, 12);
                    });
                }
                let capture = Reenter::new("run", target, 0.0);
                let indices = with_same(|pool| {
                    during(|| {
                        pool.run(move |ctx| {
                            let _ = &capture;
                            ctx.sync();
                            ctx.index()
                        })
                    })
                });
                assert_eq!(indices, (0..threads).collect::<Vec<_>>());
            }
            let events = take_events();
            assert_eq!(events.len(), 2 * (4 * SCHEDULES.len() + 1), "{events:#?}");
            for event in &events {
                assert_eq!(event.outcome, Ok(()), "{event:?}");
            }
            assert_pool_works();
        }
        assert_all_dropped();
    });
}

/// `map_reduce_*` with results whose `Drop` starts phases: the identity and the partials are
/// dropped inside `combine`, during the fold; the final result after the call.
fn reduction_values_round(threads: usize, schedule: Schedule, target: Target, chunks: bool) {
    let identity = Reenter::new("identity", target, 0.0);
    let combine = |a: Reenter, b: Reenter| Reenter::new("partial", target, a.value + b.value);
    let result = with_same(|pool| {
        let pool = pool.with_schedule(schedule);
        during(|| {
            if chunks {
                let mut data: Vec<usize> = (0..20).collect();
                pool.map_reduce_chunks_mut(
                    &mut data,
                    3,
                    identity,
                    |_, chunk| Reenter::new("partial", target, chunk_value(&(chunk[0]..0))),
                    combine,
                )
            } else {
                pool.map_reduce_index(
                    0..20,
                    3,
                    identity,
                    |r| Reenter::new("partial", target, chunk_value(&r)),
                    combine,
                )
            }
        })
    });
    let serial = (0..20)
        .step_by(3)
        .fold(0.0, |a, start| a + chunk_value(&(start..0)));
    assert_eq!(result.value.to_bits(), serial.to_bits(), "the reduction");
    let mut result = result;
    result.origin = "final";
    drop(result);
    let events = take_events();
    // 7 chunks, so 7 combines: they drop the identity, the 7 partials and the 6 intermediate
    // results; then the final result is dropped.
    assert_eq!(events.len(), 7 + 1 + 7, "{events:#?}");
    // The fold runs inside the phase when the pool folds the results as they come (the static
    // schedule with several workers and chunks); a phase it starts on the same pool is refused.
    let folds_inside = schedule == Schedule::Static && threads > 1;
    for event in events {
        let refused = matches!(&event.outcome, Err(m) if m.contains(REFUSAL));
        match event {
            Event {
                origin: "final", ..
            } => assert_eq!(event.outcome, Ok(()), "{event:?}"),
            Event {
                target: Target::Same,
                in_call: true,
                on_caller: true,
                ..
            } if folds_inside => assert!(refused, "{event:?}"),
            _ => assert!(event.outcome.is_ok() || refused, "{event:?}"),
        }
    }
}

#[test]
fn reduction_values_dropped_in_the_fold_are_refused_or_run() {
    child_test(
        "reduction_values_dropped_in_the_fold_are_refused_or_run",
        || {
            for threads in [1, 2, 3] {
                set_up(threads);
                for schedule in SCHEDULES {
                    for target in [Target::Same, Target::Other] {
                        for chunks in [false, true] {
                            reduction_values_round(threads, schedule, target, chunks);
                            assert_pool_works();
                        }
                    }
                }
            }
            assert_all_dropped();
        },
    );
}

/// Runs `call`, expecting the refusal of a nested phase to resume from it.
fn assert_refused(what: &str, call: impl FnOnce()) {
    let panic = catch_unwind(AssertUnwindSafe(|| during(call)))
        .expect_err(&format!("{what}: a nested phase on the same pool ran"));
    let text = message(&*panic);
    assert!(text.contains(REFUSAL), "{what}: {text:?}");
    assert_pool_works();
}

/// Starts [`phases`] on the same pool when on the caller's thread (worker 0).
fn on_leader_same() {
    if CALLER.get() == Some(&thread::current().id()) {
        with_same(phases);
    }
}

#[test]
fn phases_from_the_leaders_map_and_combine_are_refused() {
    child_test(
        "phases_from_the_leaders_map_and_combine_are_refused",
        || {
            set_up(3);
            let pool = |f: &dyn Fn(&PhasePool)| with_same(|p| f(p));
            assert_refused("for_each_index", || {
                pool(&|p| p.for_each_index(0..9, |_| on_leader_same()))
            });
            assert_refused("for_each_chunk_mut", || {
                pool(&|p| p.for_each_chunk_mut(&mut [0u8; 9], 1, |_, _| on_leader_same()))
            });
            assert_refused("map_reduce_index", || {
                pool(&|p| {
                    p.map_reduce_index(0..9, 1, (), |_| on_leader_same(), |(), ()| ());
                })
            });
            assert_refused("map_reduce_chunks_mut", || {
                pool(&|p| {
                    let mut data = [0u8; 9];
                    p.map_reduce_chunks_mut(&mut data, 1, (), |_, _| on_leader_same(), |(), ()| ());
                })
            });
            assert_refused("run", || {
                pool(&|p| {
                    p.run(|_| on_leader_same());
                })
            });
            assert_refused("combine under the static schedule", || {
                pool(&|p| {
                    p.map_reduce_index(
                        0..9,
                        1,
                        0,
                        |r| r.start,
                        |a, b| {
                            with_same(phases);
                            a + b
                        },
                    );
                })
            });
            // Another pool is always available, from any worker.
            let sum = with_same(|p| {
                during(|| {
                    p.map_reduce_index(
                        0..9,
                        1,
                        0,
                        |r| {
                            OTHER.with(phases);
                            r.start
                        },
                        |a, b| {
                            OTHER.with(phases);
                            a + b
                        },
                    )
                })
            });
            assert_eq!(sum, 36);
            with_same(|p| p.run(|_| OTHER.with(phases)));
            assert_pool_works();
        },
    );
}

#[test]
fn panic_payloads_whose_drop_starts_phases() {
    child_test("panic_payloads_whose_drop_starts_phases", || {
        for threads in [2, 3] {
            set_up(threads);
            for target in [Target::Same, Target::Other] {
                let panic = catch_unwind(AssertUnwindSafe(|| {
                    with_same(|p| {
                        during(|| {
                            p.run(|ctx| {
                                if ctx.index() != 0 {
                                    thread::sleep(std::time::Duration::from_millis(50));
                                }
                                panic_any(Reenter::new("payload", target, 0.0));
                            })
                        })
                    })
                }))
                .expect_err("the run panics");
                assert!(panic.is::<Reenter>(), "{}", message(&*panic));
                // The first payload reaches the caller: its Drop runs after the phase.
                drop(panic);
                let events = take_events();
                assert_eq!(events.len(), threads, "one per payload: {events:#?}");
                let last = events.last().unwrap();
                assert!(!last.in_call && last.on_caller, "{last:?}");
                for event in &events {
                    let refused = matches!(&event.outcome, Err(m) if m.contains(REFUSAL));
                    assert!(event.outcome.is_ok() || refused, "{event:?}");
                }
                assert_eq!(last.outcome, Ok(()), "{last:?}");
                assert_pool_works();
            }
        }
        assert_all_dropped();
    });
}
