//! A futex: a 32-bit word that threads sleep on while it holds an expected value, woken
//! together by one call. The parker's sleeping place (`parker.rs`).
//!
//! On Linux it is the kernel's futex (`FUTEX_WAIT` / `FUTEX_WAKE`, process-private). A mutex and
//! condition variable would do the same job, but a `notify_all` on a condition variable makes
//! every woken thread take the mutex again, one after the other: a chain of hand-offs as long
//! as the list of sleepers, each a wake-up, which on a busy virtual machine can outlast a
//! waiter's spin budget, so that the threads still spinning give up and park too. A futex wake
//! needs no lock: the woken threads return in parallel and only poll.
//!
//! Elsewhere, and under loom, it is emulated with a mutex and a condition variable: the value
//! check and the sleep happen under the mutex and the wake takes it, so a wake-up that follows
//! a change of the word is never lost (loom then checks the parker's protocol on top of it).

use std::time::Duration;

use crate::sync::AtomicU32;

/// A word to sleep on.
#[derive(Debug, Default)]
pub(crate) struct Futex {
    word: AtomicU32,
    #[cfg(not(all(target_os = "linux", not(lockstep_loom))))]
    emulated: emulated::Sleepers,
}

impl Futex {
    /// The word itself, which callers change before they [`wake_all`](Futex::wake_all).
    #[inline]
    pub(crate) fn word(&self) -> &AtomicU32 {
        &self.word
    }
}

#[cfg(all(target_os = "linux", not(lockstep_loom)))]
impl Futex {
    /// Sleeps while the word holds `expected`, at most `timeout` (forever for `None`). May
    /// return early, spuriously or because the word changed; the caller re-checks.
    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) {
        let timeout = timeout.map(|timeout| libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            // Below 1e9: fits any `c_long`.
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        });
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the word is a live, aligned 32-bit atomic for the whole call (`&self`), and
        // `timeout_ptr` is null or points to a timespec that outlives the call. The kernel
        // only reads both. Every outcome (woken, EAGAIN because the word changed, ETIMEDOUT,
        // EINTR) is a return the caller handles by re-checking, so the result is not needed.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                timeout_ptr,
            );
        }
    }

    /// Wakes every thread sleeping on the word. Change the word first: a thread that read the
    /// old value and is about to sleep then returns at once instead.
    pub(crate) fn wake_all(&self) {
        // SAFETY: as in `wait`; FUTEX_WAKE only reads the address to find its sleepers.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                i32::MAX,
            );
        }
    }
}

#[cfg(not(all(target_os = "linux", not(lockstep_loom))))]
impl Futex {
    /// Sleeps while the word holds `expected`, at most `timeout` (forever for `None`). May
    /// return early; the caller re-checks.
    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) {
        self.emulated.wait(&self.word, expected, timeout);
    }

    /// Wakes every thread sleeping on the word. Change the word first.
    pub(crate) fn wake_all(&self) {
        self.emulated.wake_all();
    }
}

#[cfg(not(all(target_os = "linux", not(lockstep_loom))))]
mod emulated {
    use std::sync::PoisonError;
    use std::time::Duration;

    use crate::sync::{AtomicU32, Condvar, Mutex, Ordering};

    #[derive(Debug, Default)]
    pub(super) struct Sleepers {
        lock: Mutex<()>,
        condvar: Condvar,
    }

    impl Sleepers {
        pub(super) fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
            let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            // Relaxed: the caller's protocol orders the word; under the mutex, a waker's change
            // made before it took the mutex is seen here, or its wake comes after this sleep.
            if word.load(Ordering::Relaxed) != expected {
                return;
            }
            match timeout {
                None => drop(
                    self.condvar
                        .wait(guard)
                        .unwrap_or_else(PoisonError::into_inner),
                ),
                Some(timeout) => drop(
                    self.condvar
                        .wait_timeout(guard, timeout)
                        .unwrap_or_else(PoisonError::into_inner),
                ),
            }
        }

        pub(super) fn wake_all(&self) {
            // Taking the mutex waits out a sleeper between its check of the word and its wait.
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.condvar.notify_all();
        }
    }
}

#[cfg(all(test, not(lockstep_loom)))]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_wait_on_a_changed_word_returns_at_once() {
        let futex = Futex::default();
        futex.word().store(1, Ordering::Relaxed);
        let start = Instant::now();
        futex.wait(0, Some(Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_timed_wait_ends_after_its_timeout() {
        let futex = Futex::default();
        let start = Instant::now();
        futex.wait(0, Some(Duration::from_millis(20)));
        // Not exactly 20 ms: a signal may end a futex wait early.
        assert!(start.elapsed() >= Duration::from_millis(10));
    }

    #[test]
    fn wake_all_wakes_every_sleeper() {
        let futex = Futex::default();
        std::thread::scope(|s| {
            let sleepers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let start = Instant::now();
                        // One sleep of up to 10 s (not a loop: a lost wake-up must fail the
                        // test, not hang it). A spurious early return would pass the test
                        // without a wake, but not every time.
                        futex.wait(0, Some(Duration::from_secs(10)));
                        start.elapsed()
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(50));
            futex.word().store(1, Ordering::Release);
            futex.wake_all();
            for sleeper in sleepers {
                assert!(sleeper.join().unwrap() < Duration::from_secs(5));
            }
        });
    }
}
