//! Cores and placement: which cores this process may use, and which core each of `n` threads
//! should run on.

use std::sync::OnceLock;

/// Where threads are placed on the usable cores.
///
/// # Examples
///
/// ```
/// use barrier_core::Placement;
///
/// let usable = [0, 1, 2, 3];
/// assert_eq!(Placement::Compact.assign(3, &usable), [Some(0), Some(1), Some(2)]);
/// assert_eq!(Placement::Spread.assign(2, &usable), [Some(0), Some(2)]);
/// assert_eq!(Placement::parse("0,2"), Some(Placement::Cores(vec![0, 2])));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Placement {
    /// Thread `i` on the `i`-th usable core (wrapping around when threads outnumber cores):
    /// neighbours share caches.
    #[default]
    Compact,
    /// Threads spread evenly over the usable cores (thread `i` on core `i * cores / threads`),
    /// for bandwidth-bound work when there are fewer threads than cores.
    Spread,
    /// No pinning: the operating system places threads.
    None,
    /// Thread `i` on `cores[i % cores.len()]` (an empty list means no pinning).
    Cores(Vec<usize>),
}

impl Placement {
    /// Parses `compact`, `spread`, `none` (any case, surrounding blanks ignored) or a
    /// comma-separated core list such as `0,2,4,6`; `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<Placement> {
        match text.trim().to_ascii_lowercase().as_str() {
            "compact" => Some(Placement::Compact),
            "spread" => Some(Placement::Spread),
            "none" => Some(Placement::None),
            list => list
                .split(',')
                .map(|core| core.trim().parse::<usize>().ok())
                .collect::<Option<Vec<_>>>()
                .filter(|cores| !cores.is_empty())
                .map(Placement::Cores),
        }
    }

    /// The core of each of `threads` threads under this placement on `usable` cores.
    ///
    /// See [the example on `Placement`](Placement#examples); for the cores this process may
    /// use, pass [`usable_cores`].
    #[must_use]
    pub fn assign(&self, threads: usize, usable: &[usize]) -> Vec<Option<usize>> {
        self.cores(threads, usable).collect()
    }

    /// [`assign`](Placement::assign) as an iterator, for callers that allocate the list
    /// themselves (fallibly).
    pub(crate) fn cores<'a>(
        &'a self,
        threads: usize,
        usable: &'a [usize],
    ) -> impl Iterator<Item = Option<usize>> + 'a {
        let pick = |cores: &[usize], i: usize| (!cores.is_empty()).then(|| cores[i % cores.len()]);
        (0..threads).map(move |i| match self {
            Placement::Compact => pick(usable, i),
            // `i * usable.len()` stays below `usable.len()^2`: no overflow.
            Placement::Spread if threads < usable.len() => pick(usable, i * usable.len() / threads),
            Placement::Spread => pick(usable, i),
            Placement::None => None,
            Placement::Cores(cores) => pick(cores, i),
        })
    }
}

/// The cores this process may run on (its affinity mask), in increasing order; empty if the
/// operating system does not say.
///
/// Read once per process, the first time lockstep asks (building a barrier or pool, pinning a
/// thread, or this call): the operating system reports the *calling thread's* mask, and once
/// lockstep has pinned a thread that thread's mask is its one core, so asking again from a
/// pinned caller would place a whole new team on that core. A mask set from outside after the
/// first read (`sched_setaffinity`, `taskset -p`) is not seen.
///
/// # Examples
///
/// ```
/// use barrier_core::topology;
///
/// let cores = topology::usable_cores();
/// if let Some(&first) = cores.first() {
///     std::thread::spawn(move || assert!(topology::pin_current_thread(first))).join().unwrap();
/// }
/// assert!(topology::physical_cores() >= 1);
/// ```
#[must_use]
pub fn usable_cores() -> Vec<usize> {
    process_cores().to_vec()
}

fn process_cores() -> &'static [usize] {
    static CORES: OnceLock<Vec<usize>> = OnceLock::new();
    CORES.get_or_init(|| {
        let mut cores: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|core| core.id)
            .collect();
        cores.sort_unstable();
        cores
    })
}

/// How many threads this process can run at once: its usable cores, capped by a CPU quota
/// (cgroups) where one is set; at least 1.
///
/// Read once per process, like [`usable_cores`] and for the same reason; reading the quota
/// also takes tens of microseconds, too slow to repeat for every barrier.
#[must_use]
pub fn usable_core_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Physical cores of the machine (hyper-threads not counted).
#[must_use]
pub fn physical_cores() -> usize {
    num_cpus::get_physical().max(1)
}

/// Cores at or beyond this number cannot be named in a CPU set (glibc's `CPU_SETSIZE`);
/// `core_affinity` would index out of bounds (and abort) instead of failing.
const MAX_PINNABLE_CORE: usize = 1024;

/// Pins the calling thread to `core`; `false` if the core does not exist or the operating system
/// refused.
pub fn pin_current_thread(core: usize) -> bool {
    if cfg!(lockstep_loom) || core >= MAX_PINNABLE_CORE {
        return false;
    }
    // Both are read from the calling thread's mask: read them before it shrinks to one core.
    let _ = process_cores();
    let _ = usable_core_count();
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_assign_cores() {
        let usable = [0, 1, 2, 3];
        assert_eq!(
            Placement::Compact.assign(6, &usable),
            [0, 1, 2, 3, 0, 1].map(Some)
        );
        assert_eq!(Placement::Spread.assign(2, &usable), [Some(0), Some(2)]);
        assert_eq!(Placement::None.assign(2, &usable), [None, None]);
        assert_eq!(
            Placement::Cores(vec![3, 1]).assign(3, &usable),
            [Some(3), Some(1), Some(3)]
        );
        assert_eq!(Placement::Compact.assign(2, &[]), [None, None]);
    }

    #[test]
    fn parses_the_environment_syntax() {
        assert_eq!(Placement::parse("Spread"), Some(Placement::Spread));
        assert_eq!(
            Placement::parse("0, 2,4"),
            Some(Placement::Cores(vec![0, 2, 4]))
        );
        assert_eq!(Placement::parse("everywhere"), None);
        assert_eq!(Placement::parse(""), None);
    }

    #[test]
    fn a_pinned_caller_still_sees_every_usable_core() {
        std::thread::spawn(|| {
            let cores = usable_cores();
            let count = usable_core_count();
            assert!(pin_current_thread(cores[0]));
            assert_eq!(usable_cores(), cores);
            assert_eq!(usable_core_count(), count);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_calling_thread_has_usable_cores() {
        let cores = usable_cores();
        assert!(!cores.is_empty());
        assert!(physical_cores() >= 1);
        std::thread::spawn(move || assert!(pin_current_thread(cores[0])))
            .join()
            .unwrap();
    }
}
