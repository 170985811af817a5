//! Data-parallel phases: chunks of a slice, or ranges of indices, dealt to the workers by a
//! [`Schedule`], with reductions folded in chunk order.

use std::ops::{Range, RangeTo};

use crate::pool::PhasePool;
use crate::raw::chunks::ChunksMut;
use crate::raw::handoff::Gather;
use crate::raw::report::{Report, Reporter};
use crate::raw::slots::{LazySlots, Slots};
use crate::schedule::{Plan, Schedule, Scheduled};
use crate::sync::{AtomicBool, Ordering};

/// A range of indices for [`PhasePool::for_each_index`] and [`PhasePool::map_reduce_index`]:
/// `n` (meaning `0..n`), `a..b` or `..b`.
pub trait IndexRange {
    /// The range as `start..end` (empty when `end <= start`).
    fn into_index_range(self) -> Range<usize>;
}

impl IndexRange for usize {
    fn into_index_range(self) -> Range<usize> {
        0..self
    }
}

impl IndexRange for Range<usize> {
    fn into_index_range(self) -> Range<usize> {
        self
    }
}

impl IndexRange for RangeTo<usize> {
    fn into_index_range(self) -> Range<usize> {
        0..self.end
    }
}

#[track_caller]
fn check_chunk_len(chunk_len: usize) {
    assert!(
        chunk_len > 0,
        "chunk_len must be at least 1 (got 0): chunks cannot be empty"
    );
}

/// Sets the phase's stop flag if the worker's part unwinds, so the others take no new work.
struct StopOnUnwind<'a>(&'a AtomicBool);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        // Relaxed: a hint to stop early; the gather orders everything that matters.
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Scheduled<'_> {
    /// Runs `body` on ranges of units `0..units` dealt by the schedule; `body` returns `false`
    /// to stop this worker early. Every unit is in exactly one range (absent panics). The
    /// plan hands the share of a worker that has not started to the others, so the phase ends
    /// without waiting for it ([`Gather::Started`]).
    fn units_phase(&self, units: usize, body: impl Fn(Range<usize>, &AtomicBool) -> bool + Sync) {
        let workers = self.pool.num_threads();
        let stop = AtomicBool::new(false);
        if units == 0 {
            return;
        }
        if workers == 1 || units == 1 {
            // One worker would do all of it: no phase needed (and no hand-off cost).
            self.pool.alone(|| body(0..units, &stop));
            return;
        }
        let plan = Plan::new(self.schedule, units, self.pool.claims());
        // The job owns the plan, the stop flag and `body` (which owns what it needs in turn,
        // down to the caller's closure): a small job travels to the followers on the line that
        // publishes it, where references into the leader's frames would each cost a follower a
        // cache miss (the leader wrote them this phase).
        self.pool.phase(Gather::Started, move |worker| {
            let guard = StopOnUnwind(&stop);
            plan.run(worker, |range, _| {
                // Relaxed: see `StopOnUnwind`.
                !stop.load(Ordering::Relaxed) && body(range, &stop)
            });
            std::mem::forget(guard);
        });
    }

    /// Runs `f(index)` for every `index` in `0..count`, exactly once each, dealt by the
    /// schedule; after a panic the workers take no new index.
    fn each_index_phase(&self, count: usize, f: impl Fn(usize) + Sync) {
        self.units_phase(count, move |units, stop| {
            for index in units {
                // Relaxed: see `StopOnUnwind`.
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                f(index);
            }
            true
        });
    }

    /// `combine(..combine(combine(identity, result_of(0)), result_of(1)).., result_of(count - 1))`:
    /// the results computed in parallel, each exactly once (absent panics), and folded in
    /// index order on the calling thread.
    fn reduce_phase<R, F, C>(&self, count: usize, result_of: F, identity: R, combine: C) -> R
    where
        R: Send,
        F: Fn(usize) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        let workers = self.pool.num_threads();
        if workers == 1 || count <= 1 {
            // One worker would compute all of it: no phase, and no storage for the results.
            return self
                .pool
                .alone(|| (0..count).map(result_of).fold(identity, combine));
        }
        if self.schedule == Schedule::Static && Report::accepts::<R>() {
            return self.reduce_reported(count, result_of, identity, combine);
        }
        fold_in_order(self.results_phase(count, result_of), identity, combine)
    }

    /// [`reduce_phase`](Self::reduce_phase) under the static schedule: each worker computes
    /// the pieces of its block in order and reports the results (`raw/report.rs`); the pieces
    /// it takes from a late worker's block go to slots by index. The leader folds its own
    /// results while the others work, then, block by block, the owner's results and the
    /// stolen pieces' after them, which is index order.
    fn reduce_reported<R, F, C>(&self, count: usize, result_of: F, identity: R, combine: C) -> R
    where
        R: Send,
        F: Fn(usize) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        let stop = AtomicBool::new(false);
        let stolen = LazySlots::new(count);
        let blocks = self.pool.claims().next_phase(count);
        // The job owns what it uses, as in `units_phase` (`stolen` is on the slow path).
        let stolen_ref = &stolen;
        let job = move |worker, reporter: Reporter<'_, R>| {
            let guard = StopOnUnwind(&stop);
            reporter.expect(blocks.block(worker).len());
            blocks.run(worker, |range, was_stolen| {
                let slots = was_stolen.then(|| stolen_ref.get());
                for index in range {
                    // Relaxed: see `StopOnUnwind`.
                    if stop.load(Ordering::Relaxed) {
                        return false;
                    }
                    let result = result_of(index);
                    match slots {
                        // SAFETY: the plan deals each index once, and `stolen` is taken from
                        // only after the phase.
                        Some(slots) => unsafe { slots.put(index, result) },
                        None => reporter.push(result),
                    }
                }
                true
            });
            std::mem::forget(guard);
        };
        let stolen_part = |worker| {
            let (owners, block) = (blocks.owners_part(worker), blocks.block(worker));
            // SAFETY: called by `phase_folding` after the gather: no worker puts any more.
            unsafe { stolen.take(owners.end..block.end) }
        };
        self.pool
            .phase_folding(Gather::Started, job, identity, combine, stolen_part)
    }

    /// Runs `result_of(index)` for every `index` in `0..count`, exactly once each (absent
    /// panics), and returns the results by index.
    fn results_phase<R, F>(&self, count: usize, result_of: F) -> Slots<R>
    where
        R: Send,
        F: Fn(usize) -> R + Sync,
    {
        let slots = Slots::new(count);
        // `result_of` by value, as in `units_phase`.
        let slots_ref = &slots;
        self.each_index_phase(count, move |index| {
            let result = result_of(index);
            // SAFETY: the phase runs every index once, on one worker, and `slots` lives only
            // for this phase.
            unsafe { slots_ref.put(index, result) };
        });
        slots
    }

    /// As [`PhasePool::for_each_chunk_mut`], with this handle's schedule; see
    /// [the example on `Scheduled`](Scheduled#examples).
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`; resumes a panic of `f`.
    #[track_caller]
    pub fn for_each_chunk_mut<T, F>(&self, data: &mut [T], chunk_len: usize, f: F)
    where
        T: Send,
        F: Fn(usize, &mut [T]) + Sync,
    {
        check_chunk_len(chunk_len);
        let chunks = ChunksMut::new(data, chunk_len);
        self.each_index_phase(chunks.count(), move |index| {
            // SAFETY: the phase runs every chunk index once, on one worker, and `chunks` lives
            // only for this phase.
            f(index, unsafe { chunks.claim(index) });
        });
    }

    /// As [`PhasePool::map_reduce_chunks_mut`], with this handle's schedule; see
    /// [the example on `Scheduled`](Scheduled#examples).
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`; resumes a panic of `map` or `combine`.
    #[track_caller]
    pub fn map_reduce_chunks_mut<T, R, M, C>(
        &self,
        data: &mut [T],
        chunk_len: usize,
        identity: R,
        map: M,
        combine: C,
    ) -> R
    where
        T: Send,
        R: Send,
        M: Fn(usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        check_chunk_len(chunk_len);
        let chunks = ChunksMut::new(data, chunk_len);
        let count = chunks.count();
        let result_of = move |index| {
            // SAFETY: `reduce_phase` computes each index's result once, and `chunks` lives only
            // for this call.
            map(index, unsafe { chunks.claim(index) })
        };
        self.reduce_phase(count, result_of, identity, combine)
    }

    /// As [`PhasePool::for_each_index`], with this handle's schedule; see
    /// [the example on `Scheduled`](Scheduled#examples).
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f`.
    pub fn for_each_index<F>(&self, indices: impl IndexRange, f: F)
    where
        F: Fn(usize) + Sync,
    {
        let range = indices.into_index_range();
        let start = range.start;
        self.units_phase(range.len(), move |units, _| {
            units.for_each(|unit| f(start + unit));
            true
        });
    }

    /// As [`PhasePool::map_reduce_index`], with this handle's schedule; see
    /// [the example on `Scheduled`](Scheduled#examples).
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`; resumes a panic of `map` or `combine`.
    #[track_caller]
    pub fn map_reduce_index<R, M, C>(
        &self,
        indices: impl IndexRange,
        chunk_len: usize,
        identity: R,
        map: M,
        combine: C,
    ) -> R
    where
        R: Send,
        M: Fn(Range<usize>) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        check_chunk_len(chunk_len);
        let range = indices.into_index_range();
        let (start, end) = (range.start, range.end.max(range.start));
        let count = range.len().div_ceil(chunk_len);
        let result_of = move |index| {
            // No overflow: `index < count`, so `index * chunk_len < end - start`; the end of
            // the last chunk saturates (a chunk may be as long as `usize::MAX`).
            let first = start + index * chunk_len;
            map(first..end.min(first.saturating_add(chunk_len)))
        };
        self.reduce_phase(count, result_of, identity, combine)
    }
}

/// `combine(..combine(combine(identity, p0), p1).., p_last)`: the serial fold, in chunk order.
fn fold_in_order<R>(slots: Slots<R>, identity: R, mut combine: impl FnMut(R, R) -> R) -> R {
    slots.into_values().fold(identity, |acc, partial| {
        combine(
            acc,
            partial.expect("every chunk ran: the phase completed without a panic"),
        )
    })
}

/// Data-parallel phases with the pool's own [`Schedule`](crate::Schedule).
impl PhasePool {
    /// Calls `f(chunk_index, chunk)` on every chunk of `data`, in parallel: chunk `i` is
    /// `data[i * chunk_len..]`, `chunk_len` elements long (the last may be shorter).
    ///
    /// The chunks are dealt by the pool's [`Schedule`](crate::Schedule) (see [`with_schedule`](Self::with_schedule)
    /// for another one). Returns when every chunk is done. An empty `data` runs no phase.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let mut v = vec![0usize; 10];
    /// pool.for_each_chunk_mut(&mut v, 4, |i, chunk| chunk.fill(i));
    /// assert_eq!(v, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`. If `f` panics, the other workers take no new chunks, and the panic
    /// resumes here once all have stopped; the chunks that ran keep their changes.
    #[track_caller]
    pub fn for_each_chunk_mut<T, F>(&self, data: &mut [T], chunk_len: usize, f: F)
    where
        T: Send,
        F: Fn(usize, &mut [T]) + Sync,
    {
        self.with_schedule(self.schedule())
            .for_each_chunk_mut(data, chunk_len, f);
    }

    /// Maps every chunk of `data` to a partial result in parallel, then folds the partials in
    /// chunk order: `combine(..combine(combine(identity, map(0, c0)), map(1, c1)).., map(k, ck))`.
    ///
    /// The result is exactly that of the serial fold over `data.chunks_mut(chunk_len)`, whatever
    /// the schedule and the number of threads, so it is bitwise reproducible (floating-point
    /// sums included) as long as `map` and `combine` are deterministic. `combine` runs on the
    /// calling thread (under the static schedule it folds the calling thread's own partials
    /// while the other workers are still mapping). An empty `data` returns `identity`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(4);
    /// let mut v: Vec<f64> = (0..1001).map(|i| 1.0 / (1.0 + i as f64)).collect();
    /// let sum = |v: &mut Vec<f64>| {
    ///     pool.map_reduce_chunks_mut(v, 16, 0.0, |_, c| c.iter().sum::<f64>(), |a, b| a + b)
    /// };
    /// let serial = v.chunks(16).map(|c| c.iter().sum::<f64>()).fold(0.0, |a, b| a + b);
    /// assert_eq!(sum(&mut v).to_bits(), serial.to_bits());
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`. A panic of `map` stops the phase as in
    /// [`for_each_chunk_mut`](Self::for_each_chunk_mut); a panic of `combine` unwinds from this
    /// call once every worker has stopped. Either way the pool stays usable.
    #[track_caller]
    pub fn map_reduce_chunks_mut<T, R, M, C>(
        &self,
        data: &mut [T],
        chunk_len: usize,
        identity: R,
        map: M,
        combine: C,
    ) -> R
    where
        T: Send,
        R: Send,
        M: Fn(usize, &mut [T]) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        self.with_schedule(self.schedule())
            .map_reduce_chunks_mut(data, chunk_len, identity, map, combine)
    }

    /// Calls `f(i)` for every index `i` of `indices` (`n`, `a..b` or `..b`), in parallel, for
    /// read-only phases or phases that write through their own synchronisation.
    ///
    /// The indices are dealt as in [`for_each_chunk_mut`](Self::for_each_chunk_mut) with chunks
    /// of one index ([`Schedule::Dynamic`](crate::Schedule::Dynamic)'s `chunk` counts indices).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = phase_pool::PhasePool::new(2);
    /// let total = AtomicUsize::new(0);
    /// pool.for_each_index(10..20, |i| { total.fetch_add(i, Ordering::Relaxed); });
    /// assert_eq!(total.into_inner(), (10..20).sum());
    /// ```
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f` once every worker has stopped.
    pub fn for_each_index<F>(&self, indices: impl IndexRange, f: F)
    where
        F: Fn(usize) + Sync,
    {
        self.with_schedule(self.schedule())
            .for_each_index(indices, f);
    }

    /// Maps chunks of `indices` to partial results in parallel and folds them in chunk order,
    /// like [`map_reduce_chunks_mut`](Self::map_reduce_chunks_mut): chunk `i` is the range
    /// `start + i * chunk_len..` (at most `chunk_len` indices), and `map` gets that range.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = phase_pool::PhasePool::new(3);
    /// let data: Vec<u32> = (1..=100).collect();
    /// let max = pool.map_reduce_index(data.len(), 8, 0, |r| *data[r].iter().max().unwrap(), u32::max);
    /// assert_eq!(max, 100);
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunk_len == 0`; resumes a panic of `map` or `combine`.
    #[track_caller]
    pub fn map_reduce_index<R, M, C>(
        &self,
        indices: impl IndexRange,
        chunk_len: usize,
        identity: R,
        map: M,
        combine: C,
    ) -> R
    where
        R: Send,
        M: Fn(Range<usize>) -> R + Sync,
        C: FnMut(R, R) -> R,
    {
        self.with_schedule(self.schedule())
            .map_reduce_index(indices, chunk_len, identity, map, combine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ranges() {
        assert_eq!(5.into_index_range(), 0..5);
        assert_eq!((2..7).into_index_range(), 2..7);
        assert_eq!((..3).into_index_range(), 0..3);
    }

    #[test]
    fn fold_is_left_to_right() {
        let slots = Slots::new(3);
        for i in 0..3 {
            // SAFETY: single-threaded, each slot written once.
            unsafe { slots.put(i, i.to_string()) };
        }
        assert_eq!(
            fold_in_order(slots, String::from("x"), |a, b| a + &b),
            "x012"
        );
    }
}
