//! The std/loom shim: every synchronisation primitive barrier-core uses comes from here, so
//! the loom models (`RUSTFLAGS="--cfg lockstep_loom"`) check the same code that ships.

#[cfg(not(lockstep_loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{
        atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    thread::yield_now,
};

/// Only the futex emulation (off Linux) sleeps on a condition variable.
#[cfg(not(any(target_os = "linux", lockstep_loom)))]
pub(crate) use std::sync::Condvar;

#[cfg(lockstep_loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::{
        atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread::yield_now,
};

/// A number unique to the calling thread while it lives (the address of a thread-local), used
/// to recognise the thread that is running a barrier's action.
pub(crate) fn current_thread_marker() -> usize {
    #[cfg(not(lockstep_loom))]
    std::thread_local!(static MARKER: u8 = const { 0 });
    #[cfg(lockstep_loom)]
    loom::thread_local!(static MARKER: u8 = 0);
    MARKER.with(|marker| marker as *const u8 as usize)
}
