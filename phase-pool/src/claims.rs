//! Static blocks with stealing: under [`Schedule::Static`](crate::Schedule::Static) each worker
//! runs the pieces of its own block from the front, and a worker that has finished its block
//! takes the pieces another worker has not started from the back (libomp's `static_steal`).
//! On an idle machine every worker runs its whole block (the same rows every phase: cache and
//! first-touch locality); when a worker is late (its core taken by another process, a slow
//! wake-up), the others run what it has not started instead of waiting for it.
//!
//! Each block's claims are one word on its owner's cache line: the pieces taken from the front
//! (by the owner) and from the back (by the others), tagged with the phase's epoch. A word
//! whose tag is not the current epoch is untouched this phase: nothing taken yet. So no one
//! resets the words between phases, and the owner's claims hit a line that stays in its cache
//! while no one steals. Claims are compare-and-swaps on that word, so every piece is taken
//! exactly once; `Relaxed` suffices, because the hand-off orders everything a piece writes
//! (the claim only decides who writes it).

use std::cell::Cell;
use std::ops::Range;

use crossbeam_utils::CachePadded;

use crate::schedule::static_block;
use crate::sync::{AtomicU64, Ordering};

/// The most pieces a block is cut into. More pieces balance a late worker's block more finely;
/// each costs its owner one compare-and-swap on its own line (~10-20 ns). Two under loom: two
/// pieces already let an owner and a thief meet in a block, and every further claim multiplies
/// the interleavings the hand-off models explore.
pub(crate) const MAX_PIECES: usize = if cfg!(lockstep_loom) { 2 } else { 8 };

const COUNT_BITS: u32 = 8;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_SHIFT: u32 = 2 * COUNT_BITS;
/// Epochs are told apart by their low 48 bits.
const TAG_MASK: u64 = u64::MAX >> TAG_SHIFT;
/// Every this many epochs the leader rewrites every word with the previous epoch's tag, so
/// that no word keeps a tag older than this: an untouched word can then never carry a tag
/// that a later epoch reuses (tags repeat only after `TAG_MASK + 1` epochs).
const REFRESH_EPOCHS: u64 = 1 << (u64::BITS - TAG_SHIFT - 1); // half the tag space

const _: () = assert!(MAX_PIECES as u64 <= COUNT_MASK);

/// The claim words of a pool's blocks, one per worker, and the epoch counter of its phases.
/// The words are shared with the workers; the counter is the leader's alone.
pub(crate) struct Claims {
    words: Box<[CachePadded<AtomicU64>]>,
    /// The epoch of the last phase planned.
    epoch: Cell<u64>,
}

impl Claims {
    pub(crate) fn new(workers: usize) -> Claims {
        Claims::starting_at(workers, 0)
    }

    fn starting_at(workers: usize, epoch: u64) -> Claims {
        Claims {
            words: (0..workers)
                .map(|_| CachePadded::new(AtomicU64::new(pack(epoch, 0, 0))))
                .collect(),
            epoch: Cell::new(epoch),
        }
    }

    /// The number of workers (of blocks).
    pub(crate) fn workers(&self) -> usize {
        self.words.len()
    }

    /// The blocks of the next phase: `units` units dealt to the workers in static blocks.
    /// Called by the leader between phases, never while one runs (the pool checks).
    pub(crate) fn next_phase(&self, units: usize) -> Blocks<'_> {
        let epoch = self.epoch.get() + 1;
        self.epoch.set(epoch);
        if epoch % REFRESH_EPOCHS == 0 {
            for word in self.words.iter() {
                // Relaxed: no phase runs; the next publication orders this for the workers.
                word.store(pack(epoch - 1, 0, 0), Ordering::Relaxed);
            }
        }
        Blocks {
            words: &self.words,
            tag: epoch & TAG_MASK,
            units,
        }
    }
}

/// One phase's blocks: the units `0..units`, worker `w`'s block being
/// `static_block(w, workers, units)`, cut into pieces that the workers claim.
#[derive(Clone, Copy)]
pub(crate) struct Blocks<'a> {
    words: &'a [CachePadded<AtomicU64>],
    tag: u64,
    units: usize,
}

/// Which end of a block a claim takes its piece from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// The owner's end.
    Front,
    /// The thieves' end.
    Back,
}

impl<'a> Blocks<'a> {
    fn workers(&self) -> usize {
        self.words.len()
    }

    /// Worker `worker`'s block.
    pub(crate) fn block(&self, worker: usize) -> Range<usize> {
        static_block(worker, self.workers(), self.units)
    }

    fn pieces(&self, worker: usize) -> usize {
        self.block(worker).len().min(MAX_PIECES)
    }

    /// Piece `k` of worker `worker`'s block.
    fn piece(&self, worker: usize, k: usize) -> Range<usize> {
        let block = self.block(worker);
        let piece = static_block(k, self.pieces(worker), block.len());
        block.start + piece.start..block.start + piece.end
    }

    /// Pieces taken from the front and from the back of `worker`'s block so far.
    fn taken(&self, word: u64) -> (usize, usize) {
        if word >> TAG_SHIFT == self.tag {
            let front = (word >> COUNT_BITS) & COUNT_MASK;
            let back = word & COUNT_MASK;
            (front as usize, back as usize)
        } else {
            (0, 0)
        }
    }

    /// Takes the next piece of `worker`'s block from `end`, if any is left.
    fn claim(&self, worker: usize, end: End) -> Option<Range<usize>> {
        let pieces = self.pieces(worker);
        if pieces == 0 {
            return None;
        }
        let word = &self.words[worker];
        // Relaxed (all): see the module docs.
        let mut current = word.load(Ordering::Relaxed);
        loop {
            let (front, back) = self.taken(current);
            if front + back >= pieces {
                return None;
            }
            let (new_front, new_back, piece) = match end {
                End::Front => (front + 1, back, front),
                End::Back => (front, back + 1, pieces - 1 - back),
            };
            match word.compare_exchange_weak(
                current,
                pack(self.tag, new_front, new_back),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.piece(worker, piece)),
                Err(seen) => current = seen,
            }
        }
    }

    /// Runs worker `worker`'s share of the phase: `f(range, stolen)` for each piece of its own
    /// block from the front (`stolen == false`), then for the pieces left in the other blocks
    /// (`true`), from the back, block after block. `f` returning `false` stops this worker.
    /// Over every worker that calls it, each unit is in exactly one range; once any one call
    /// has returned without being stopped, every piece of the phase has been taken.
    pub(crate) fn run(&self, worker: usize, mut f: impl FnMut(Range<usize>, bool) -> bool) {
        while let Some(piece) = self.claim(worker, End::Front) {
            if !f(piece, false) {
                return;
            }
        }
        let workers = self.workers();
        for victim in (1..workers).map(|k| (worker + k) % workers) {
            while let Some(piece) = self.claim(victim, End::Back) {
                if !f(piece, true) {
                    return;
                }
            }
        }
    }

    /// The units of `worker`'s block that its owner ran, a prefix of the block (the rest was
    /// stolen). Read by the leader once the phase is over.
    pub(crate) fn owners_part(&self, worker: usize) -> Range<usize> {
        let block = self.block(worker);
        // Relaxed: every claim of the phase happens before this (the gather).
        let (front, _) = self.taken(self.words[worker].load(Ordering::Relaxed));
        let end = if front == self.pieces(worker) {
            block.end
        } else {
            self.piece(worker, front).start
        };
        block.start..end
    }
}

fn pack(epoch: u64, front: usize, back: usize) -> u64 {
    ((epoch & TAG_MASK) << TAG_SHIFT) | ((front as u64) << COUNT_BITS) | back as u64
}

#[cfg(all(test, not(lockstep_loom)))]
mod tests {
    use super::*;

    /// Every unit of `0..units`, by who ran it, when the workers run in the order given (each
    /// to the end).
    fn dealt(claims: &Claims, units: usize, order: &[usize]) -> Vec<(usize, bool)> {
        let blocks = claims.next_phase(units);
        let mut ran = vec![None; units];
        for &worker in order {
            blocks.run(worker, |range, stolen| {
                for unit in range {
                    assert!(ran[unit].is_none(), "unit {unit} ran twice");
                    ran[unit] = Some((worker, stolen));
                }
                true
            });
        }
        ran.into_iter()
            .map(|who| who.expect("every unit ran"))
            .collect()
    }

    #[test]
    fn owners_alone_run_their_blocks() {
        let claims = Claims::new(3);
        for units in [0, 1, 2, 3, 7, 24, 100] {
            let blocks = claims.next_phase(units);
            let mut ran = vec![usize::MAX; units];
            for worker in 0..3 {
                // Each owner takes only its front pieces, as when all arrive together.
                while let Some(piece) = blocks.claim(worker, End::Front) {
                    for unit in piece {
                        ran[unit] = worker;
                    }
                }
            }
            for worker in 0..3 {
                assert!(blocks.block(worker).all(|unit| ran[unit] == worker));
                assert_eq!(blocks.owners_part(worker), blocks.block(worker));
            }
        }
    }

    #[test]
    fn the_first_worker_to_run_takes_everything() {
        let claims = Claims::new(4);
        for units in [1, 5, 40, 1000] {
            let ran = dealt(&claims, units, &[2, 0, 1, 3]);
            assert!(ran.iter().all(|&(worker, _)| worker == 2));
            let blocks = Blocks {
                words: &claims.words,
                tag: claims.epoch.get() & TAG_MASK,
                units,
            };
            assert_eq!(blocks.owners_part(2), blocks.block(2));
            assert!(blocks.owners_part(0).is_empty());
            assert!(blocks.owners_part(3).is_empty());
        }
    }

    #[test]
    fn a_late_owner_keeps_the_front_of_its_block() {
        let claims = Claims::new(2);
        let blocks = claims.next_phase(64);
        // The owner of block 1 takes two pieces, then worker 0 finishes and steals the rest.
        let first = blocks.claim(1, End::Front).unwrap();
        let second = blocks.claim(1, End::Front).unwrap();
        assert_eq!((first.start, second.start), (32, 36));
        let mut stolen = Vec::new();
        blocks.run(0, |range, was_stolen| {
            if was_stolen {
                stolen.push(range);
            }
            true
        });
        assert_eq!(stolen.first(), Some(&(60..64)), "thieves start at the back");
        assert_eq!(stolen.last(), Some(&(40..44)));
        assert_eq!(blocks.claim(1, End::Front), None);
        assert_eq!(blocks.owners_part(1), 32..40);
    }

    #[test]
    fn a_new_epoch_starts_every_block_afresh() {
        let claims = Claims::new(2);
        for _ in 0..3 {
            let ran = dealt(&claims, 10, &[0, 1]);
            assert!(ran.iter().all(|&(worker, _)| worker == 0));
            assert_eq!(ran.iter().filter(|&&(_, stolen)| stolen).count(), 5);
        }
    }

    #[test]
    fn tags_stay_distinct_across_the_refresh() {
        // Words last touched just before a refresh; the epochs after it must still see them
        // as untouched, up to and past the tags' wrap-around.
        let claims = Claims::starting_at(2, REFRESH_EPOCHS - 2);
        assert_eq!(dealt(&claims, 4, &[0, 1]).len(), 4);
        claims.next_phase(4);
        assert_eq!(claims.epoch.get(), REFRESH_EPOCHS);
        for word in claims.words.iter() {
            let word = word.load(Ordering::Relaxed);
            assert_eq!(word, pack(REFRESH_EPOCHS - 1, 0, 0), "refreshed");
        }
        for _ in 0..3 {
            assert_eq!(dealt(&claims, 4, &[1, 0]).len(), 4);
        }
        let claims = Claims::starting_at(2, TAG_MASK - 1);
        for _ in 0..4 {
            assert_eq!(dealt(&claims, 6, &[0, 1]).len(), 6);
        }
    }

    #[test]
    fn stopping_leaves_the_rest_to_others() {
        let claims = Claims::new(2);
        let blocks = claims.next_phase(16);
        let mut calls = 0;
        blocks.run(0, |range, _| {
            assert_eq!(range, 0..1);
            calls += 1;
            false
        });
        assert_eq!(calls, 1);
        let mut rest = 0;
        blocks.run(1, |range, _| {
            rest += range.len();
            true
        });
        assert_eq!(rest, 15);
    }
}

/// Loom models of the claims: an owner and thieves take pieces of the same block concurrently,
/// and every piece is taken exactly once.
///
/// ```text
/// RUSTFLAGS="--cfg lockstep_loom" cargo test -p phase-pool --release --lib loom_
/// ```
#[cfg(all(test, lockstep_loom))]
mod loom_models {
    use super::*;
    use crate::sync::{thread, Arc};

    /// Checks that the `workers` of one phase over `units` take every unit exactly once (worker
    /// 0 on this thread, the others on their own), exploring interleavings with at most
    /// `preemptions` preemptions: 3 for two threads, 2 for three keep each model under a minute.
    fn exactly_once(workers: usize, units: usize, preemptions: usize) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(preemptions);
        }
        builder.check(move || {
            let claims = Arc::new(Claims::new(workers));
            // The leader plans the phase, then every worker runs its share concurrently.
            let tag = claims.next_phase(units).tag;
            let runs: Vec<_> = (1..workers)
                .map(|worker| {
                    let claims = Arc::clone(&claims);
                    thread::spawn(move || {
                        let blocks = Blocks {
                            words: &claims.words,
                            tag,
                            units,
                        };
                        let mut ran = Vec::new();
                        blocks.run(worker, |range, _| {
                            ran.extend(range);
                            true
                        });
                        ran
                    })
                })
                .collect();
            let blocks = Blocks {
                words: &claims.words,
                tag,
                units,
            };
            let mut ran = Vec::new();
            blocks.run(0, |range, _| {
                ran.extend(range);
                true
            });
            for run in runs {
                ran.extend(run.join().unwrap());
            }
            ran.sort_unstable();
            assert_eq!(ran, (0..units).collect::<Vec<_>>());
        });
    }

    #[test]
    fn loom_owner_and_thief_take_each_piece_once() {
        // Two pieces per block: the owner and the thief meet in the middle of each.
        exactly_once(2, 4, 3);
    }

    #[test]
    fn loom_two_thieves_and_an_owner_take_each_piece_once() {
        exactly_once(3, 3, 2);
    }
}
