//! Asymmetric fences for the parker's store-buffering pair (see `parker.rs`): a `light` fence
//! on the hot side (every notify, every barrier episode) and a `heavy` one on the cold side (a
//! waiter about to sleep, which is about to spend microseconds in the kernel anyway).
//!
//! Together they order like two `SeqCst` fences (C++ P1202's `asymmetric_thread_fence_light` /
//! `_heavy`, folly's `asymmetricLightBarrier`). On Linux the heavy side is
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of the
//! process execute a full memory barrier (a thread that is not running passed one when it was
//! switched out), so the light side only has to stop the compiler from reordering: no `mfence`
//! on the path every episode takes. Where the kernel refuses (or off Linux, or under loom) both
//! sides fall back to `fence(SeqCst)`.
//!
//! The choice is made once per process and only becomes visible through `OnceLock`, so a light
//! fence that skips the hardware barrier always pairs with a heavy fence that uses membarrier.

use crate::sync::{fence, Ordering};

/// The hot side: a compiler fence when membarrier is in use, else `fence(SeqCst)`.
#[inline]
pub(crate) fn light() {
    if expedited::ready() {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The cold side: membarrier when the kernel supports it, else `fence(SeqCst)`.
pub(crate) fn heavy() {
    if !expedited::barrier() {
        fence(Ordering::SeqCst);
    }
}

/// Prepares membarrier ahead of the first `heavy` (registration takes a system call), so that
/// `light` is cheap from a barrier's first episode on.
pub(crate) fn prepare() {
    expedited::register();
}

#[cfg(all(target_os = "linux", not(lockstep_loom)))]
mod expedited {
    use std::sync::OnceLock;

    // From <linux/membarrier.h>.
    const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    /// Whether this process registered for private expedited membarrier.
    static REGISTERED: OnceLock<bool> = OnceLock::new();

    fn membarrier(command: libc::c_long) -> libc::c_long {
        // SAFETY: membarrier takes two integer arguments and touches no memory of ours; an
        // unsupported command only returns -1 (EINVAL, ENOSYS, or EPERM under seccomp).
        unsafe { libc::syscall(libc::SYS_membarrier, command, 0 as libc::c_long) }
    }

    pub(super) fn register() -> bool {
        *REGISTERED.get_or_init(|| {
            let supported = membarrier(MEMBARRIER_CMD_QUERY);
            supported >= 0
                && supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED != 0
                && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        })
    }

    #[inline]
    pub(super) fn ready() -> bool {
        REGISTERED.get() == Some(&true)
    }

    /// Runs the heavy barrier; `false` if membarrier is not available.
    pub(super) fn barrier() -> bool {
        if !register() {
            return false;
        }
        // Registered, the command cannot fail (its only errors are for unregistered callers
        // and bad arguments). If it somehow did, light fences elsewhere would be unpaired and a
        // wake-up could be lost: fail loudly rather than risk a silent hang.
        let done = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
        assert!(
            done == 0,
            "membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after registration: {}",
            std::io::Error::last_os_error()
        );
        true
    }
}

#[cfg(not(all(target_os = "linux", not(lockstep_loom))))]
mod expedited {
    pub(super) fn register() -> bool {
        false
    }

    #[inline]
    pub(super) fn ready() -> bool {
        false
    }

    pub(super) fn barrier() -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", not(lockstep_loom)))]
mod tests {
    use super::*;

    #[test]
    fn membarrier_is_used_where_the_kernel_offers_it() {
        prepare();
        // Either way both sides must stay callable; on this project's Linux machines the kernel
        // supports it, so check the fast path is really taken there.
        light();
        heavy();
        let query = expedited_query();
        assert_eq!(
            expedited::ready(),
            query,
            "registration follows the kernel's answer"
        );
    }

    fn expedited_query() -> bool {
        // SAFETY: as in `expedited::membarrier`.
        let supported = unsafe { libc::syscall(libc::SYS_membarrier, 0 as libc::c_long, 0) };
        supported >= 0 && supported & (1 << 3) != 0
    }
}
