//! The std/loom shim: every synchronisation primitive phase-pool uses comes from here, so the
//! loom model (`RUSTFLAGS="--cfg lockstep_loom"`, `tests/loom_handoff.rs`) checks the code that
//! ships. barrier-core has the same shim, so under that flag its barriers run on loom too.

#[cfg(not(lockstep_loom))]
pub(crate) use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
};

#[cfg(lockstep_loom)]
pub(crate) use loom::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
};

/// An `UnsafeCell` with loom's closure API, so loom can check every access to a cell whose
/// exclusivity the phase protocol (not the type system) guarantees.
#[cfg(not(lockstep_loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(lockstep_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer through which it may read.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer through which it may write.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(lockstep_loom)]
pub(crate) use loom::cell::UnsafeCell;
