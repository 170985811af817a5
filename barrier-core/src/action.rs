//! The barrier action: user code run by the last arriver of each generation.

use std::any::Any;
use std::fmt;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::PoisonError;

use crate::sync::{current_thread_marker, AtomicUsize, Mutex, Ordering};

/// A panic payload, as `catch_unwind` returns it.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// The action of a barrier, and which thread is running it.
pub(crate) struct Action {
    /// Only the last arriver of a generation runs the action, and the next generation cannot
    /// fill before this one is decided, so the mutex is never contended; it makes an `FnMut`
    /// callable through a shared barrier without `unsafe`. The closure is called under
    /// `catch_unwind`, so the mutex is never poisoned.
    closure: Mutex<Box<dyn FnMut() -> ControlFlow<()> + Send>>,
    /// [`current_thread_marker`] of the thread inside the action, 0 when none is.
    runner: AtomicUsize,
}

impl Action {
    pub(crate) fn new(closure: Box<dyn FnMut() -> ControlFlow<()> + Send>) -> Action {
        Action {
            closure: Mutex::new(closure),
            runner: AtomicUsize::new(0),
        }
    }

    /// Runs the action, catching a panic so the caller can first break the barrier and then
    /// resume it. `Break`: the action ends the run (the barrier finishes).
    pub(crate) fn run(&self) -> Result<ControlFlow<()>, Panic> {
        let mut closure = self.closure.lock().unwrap_or_else(PoisonError::into_inner);
        // Relaxed: only this thread compares the marker with its own (see `is_running_here`).
        self.runner
            .store(current_thread_marker(), Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| (*closure)()));
        self.runner.store(0, Ordering::Relaxed);
        outcome
    }

    /// Whether the calling thread is inside this action.
    ///
    /// Relaxed suffices: a thread that set the marker reads its own latest write (it is
    /// sequenced before), and any other thread can only read markers of other threads or 0,
    /// never its own.
    pub(crate) fn is_running_here(&self) -> bool {
        self.runner.load(Ordering::Relaxed) == current_thread_marker()
    }
}

/// What a barrier action may return: `()` (go on) or [`ControlFlow<()>`], whose
/// [`Break`](ControlFlow::Break) releases that generation and finishes the barrier
/// ([`Barrier::is_finished`](crate::Barrier::is_finished)).
///
/// Sealed: implemented for those two types only.
pub trait ActionOutcome: private::Sealed {
    /// `Continue` for `()`; the value itself for a `ControlFlow`.
    fn into_control_flow(self) -> ControlFlow<()>;
}

impl ActionOutcome for () {
    #[inline]
    fn into_control_flow(self) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl ActionOutcome for ControlFlow<()> {
    #[inline]
    fn into_control_flow(self) -> ControlFlow<()> {
        self
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for std::ops::ControlFlow<()> {}
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Action { .. }")
    }
}
