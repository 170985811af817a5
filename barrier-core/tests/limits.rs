//! Sizes at and beyond the limits: a party count the state word cannot hold, or a fan-in up to
//! `usize::MAX`, is refused (or served) before anything is allocated, for every algorithm,
//! seated and anonymous. Each body runs under a watchdog, so a loop that never ends fails, and
//! a counting allocator shows that a refused build asked for almost no memory.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::thread;

use barrier_core::{Algorithm, Barrier, BuildError, WaitPolicy, DEFAULT_FAN_IN, MAX_PARTIES};
use common::{with_watchdog, HANG};

/// Counts the bytes each thread asks the allocator for.
struct Counting;

thread_local! {
    static REQUESTED: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; the counter touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = REQUESTED.try_with(|r| r.set(r.get().saturating_add(layout.size())));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `body` asked the allocator for on this thread, with its result.
fn requested<R>(body: impl FnOnce() -> R) -> (R, usize) {
    let before = REQUESTED.with(Cell::get);
    let result = body();
    (result, REQUESTED.with(Cell::get) - before)
}

/// A refused build may format nothing and allocate next to nothing (the builder's own boxes).
const SMALL: usize = 64 * 1024;

const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::Central,
    Algorithm::Auto,
    Algorithm::Dissemination,
    Algorithm::Tree { fan_in: 2 },
    Algorithm::Tree {
        fan_in: DEFAULT_FAN_IN,
    },
    Algorithm::Tree {
        fan_in: usize::MAX / 2 + 1,
    },
    Algorithm::Tree { fan_in: usize::MAX },
];

/// Party counts the state word cannot hold; `4^31 + 1` made the dissemination round count
/// overflow, `2^32` made the seats' allocation abort.
const TOO_MANY: [usize; 6] = [
    MAX_PARTIES + 1,
    1 << 32,
    (1 << 62) + 1,
    usize::MAX / 2 + 1,
    usize::MAX - 1,
    usize::MAX,
];

#[test]
fn too_many_parties_are_refused_before_any_allocation() {
    with_watchdog(HANG, || {
        for algorithm in ALGORITHMS {
            for parties in TOO_MANY {
                let expected = BuildError::TooManyParties {
                    parties,
                    max: MAX_PARTIES,
                };
                let (seated, bytes) = requested(|| {
                    Barrier::builder(parties)
                        .algorithm(algorithm)
                        .wait_policy(WaitPolicy::Park)
                        .build_seated()
                        .map(|_| ())
                });
                assert_eq!(seated, Err(expected.clone()), "{algorithm:?} {parties}");
                assert!(bytes < SMALL, "{algorithm:?} {parties}: {bytes} bytes");

                let (anonymous, bytes) = requested(|| {
                    Barrier::builder(parties)
                        .algorithm(algorithm)
                        .build()
                        .map(|_| ())
                });
                assert_eq!(anonymous, Err(expected), "{algorithm:?} {parties}");
                assert!(bytes < SMALL, "{algorithm:?} {parties}: {bytes} bytes");
            }
        }
    });
}

#[test]
fn the_message_names_the_limit() {
    let error = Barrier::builder(usize::MAX).build_seated().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "a barrier supports at most {MAX_PARTIES} parties, {} requested",
            usize::MAX
        )
    );
}

#[test]
fn too_many_parties_win_over_a_bad_fan_in() {
    with_watchdog(HANG, || {
        for fan_in in [0, 1] {
            let error = Barrier::builder(usize::MAX)
                .algorithm(Algorithm::Tree { fan_in })
                .build_seated()
                .unwrap_err();
            assert!(
                matches!(error, BuildError::TooManyParties { .. }),
                "{error}"
            );
            let error = Barrier::builder(3)
                .algorithm(Algorithm::Tree { fan_in })
                .build_seated()
                .unwrap_err();
            assert_eq!(error, BuildError::FanInTooSmall { fan_in });
        }
    });
}

#[test]
fn an_anonymous_barrier_of_the_most_parties_allocates_nothing_per_party() {
    with_watchdog(HANG, || {
        for algorithm in [Algorithm::Central, Algorithm::Auto] {
            let (barrier, bytes) = requested(|| {
                Barrier::builder(MAX_PARTIES)
                    .algorithm(algorithm)
                    .build()
                    .unwrap()
            });
            assert!(bytes < SMALL, "{algorithm:?}: {bytes} bytes");
            assert_eq!(barrier.parties(), MAX_PARTIES);
            assert_eq!(barrier.n_waiting(), 0);
            barrier.abort();
            assert!(barrier.wait().is_err());
        }
    });
}

#[test]
fn huge_fan_ins_build_working_trees() {
    with_watchdog(HANG, || {
        for fan_in in [usize::MAX, usize::MAX / 2 + 1, 1 << 32, MAX_PARTIES] {
            for parties in 1..=5 {
                let (_barrier, seats) = Barrier::builder(parties)
                    .algorithm(Algorithm::Tree { fan_in })
                    .wait_policy(WaitPolicy::Park)
                    .build_seated()
                    .unwrap();
                let indices: Vec<Vec<usize>> = thread::scope(|s| {
                    let handles: Vec<_> = seats
                        .into_iter()
                        .map(|seat| {
                            s.spawn(move || (0..20).map(|_| seat.wait().unwrap()).collect())
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                for round in 0..20 {
                    let mut got: Vec<usize> = indices.iter().map(|seat| seat[round]).collect();
                    got.sort_unstable();
                    assert_eq!(
                        got,
                        (0..parties).collect::<Vec<_>>(),
                        "k={fan_in} p={parties}"
                    );
                }
            }
        }
    });
}

/// Whether the operating system refuses a single allocation far beyond its memory: Linux does
/// unless `vm.overcommit_memory` is 1 ("always"), and this machine has less than 512 GiB of
/// memory and swap. Elsewhere the seated test below would touch terabytes, so it is skipped.
fn refuses_huge_allocations() -> bool {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let overcommit = read("/proc/sys/vm/overcommit_memory");
    if !matches!(overcommit.trim(), "0" | "2") {
        return false;
    }
    let kib = |field: &str| -> Option<u64> {
        read("/proc/meminfo")
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    match (kib("MemTotal:"), kib("SwapTotal:")) {
        (Some(memory), Some(swap)) => memory + swap < 512 << 20,
        _ => false,
    }
}

#[test]
fn seats_that_do_not_fit_in_memory_are_an_error() {
    if !refuses_huge_allocations() {
        eprintln!("skipped: this system may grant terabytes it does not have");
        return;
    }
    with_watchdog(HANG, || {
        // A tree needs over a terabyte of nodes and slots for the most parties, dissemination
        // tens of terabytes of flags.
        for algorithm in [
            Algorithm::Dissemination,
            Algorithm::Tree { fan_in: 2 },
            Algorithm::Tree {
                fan_in: DEFAULT_FAN_IN,
            },
        ] {
            let error = Barrier::builder(MAX_PARTIES)
                .algorithm(algorithm)
                .wait_policy(WaitPolicy::Park)
                .build_seated()
                .map(|_| ())
                .unwrap_err();
            match error {
                BuildError::OutOfMemory { parties, bytes } => {
                    assert_eq!(parties, MAX_PARTIES);
                    assert!(bytes > 1 << 36, "{algorithm:?}: {bytes} bytes");
                    assert!(error.to_string().contains("cannot allocate"), "{error}");
                }
                other => panic!("{algorithm:?}: {other:?}"),
            }
        }
    });
}
