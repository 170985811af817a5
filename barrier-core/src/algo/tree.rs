//! Combining tree: seats arrive at leaf nodes of `fan_in` children; the last arriver at a node
//! carries the arrival to its parent; the last arriver at the root completes the generation.
//!
//! Each node is one word on its own cache line holding `(generation tag, count)`, so at most
//! `fan_in` threads contend on a line, and a node left half-counted by a failed generation is
//! reset by the first arrival of a later one (its tag differs).
//!
//! A seat that leaves for good is counted as always arrived: its leaf expects one arrival
//! fewer, and a node left with none is taken out of its parent's count in turn.

use crossbeam_utils::CachePadded;

use super::Reached;
use crate::alloc::out_of_memory;
use crate::error::BuildError;
use crate::state::MAX_PARTIES;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// Bits of the node word holding the arrival count; the generation tag sits above them.
const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

struct Node {
    /// `(generation << COUNT_BITS) | arrivals`.
    word: CachePadded<AtomicU64>,
    /// Children (seats or nodes) that arrive here each generation. Lowered by
    /// [`Tree::depart`] only while no generation can be joined; the release (or the state
    /// word's CAS) that starts the next generation publishes it.
    expected: AtomicUsize,
    parent: Option<usize>,
}

/// A combining tree over `parties` seats.
pub(crate) struct Tree {
    nodes: Box<[Node]>,
    fan_in: usize,
}

impl Tree {
    /// A tree of fan-in `fan_in` (at least 2) over `parties` seats (at least 1). Nodes are laid
    /// out level by level from the leaves; seat `s` arrives at leaf `s / fan_in`.
    ///
    /// Any fan-in works, up to `usize::MAX` (one node): the levels are walked in steps of
    /// `fan_in` that never overflow, and a node counts at most `parties` arrivals, which the
    /// node word holds since `parties <= MAX_PARTIES`.
    ///
    /// # Errors
    ///
    /// [`BuildError::OutOfMemory`] when the nodes cannot be allocated.
    pub(crate) fn new(parties: usize, fan_in: usize) -> Result<Tree, BuildError> {
        debug_assert!(fan_in >= 2 && (1..=MAX_PARTIES).contains(&parties));
        // Reserved up front, so that no push below reallocates (or aborts).
        let count = node_count(parties, fan_in);
        let mut nodes: Vec<Node> = Vec::new();
        nodes
            .try_reserve_exact(count)
            .map_err(|_| out_of_memory::<Node>(parties, Some(count)))?;
        let mut level_start = 0;
        let mut children = parties;
        loop {
            let level_len = children.div_ceil(fan_in);
            for first in (0..children).step_by(fan_in) {
                nodes.push(Node {
                    word: CachePadded::new(AtomicU64::new(0)),
                    expected: AtomicUsize::new((children - first).min(fan_in)),
                    parent: None,
                });
            }
            if level_len == 1 {
                break;
            }
            let next_start = level_start + level_len;
            for j in 0..level_len {
                nodes[level_start + j].parent = Some(next_start + j / fan_in);
            }
            level_start = next_start;
            children = level_len;
        }
        debug_assert_eq!(nodes.len(), nodes.capacity(), "node count miscomputed");
        Ok(Tree {
            nodes: nodes.into_boxed_slice(),
            fan_in,
        })
    }

    pub(crate) fn fan_in(&self) -> usize {
        self.fan_in
    }

    /// Seat `seat` arrives for generation `generation`.
    pub(crate) fn arrive(&self, seat: usize, generation: u64) -> Reached {
        let mut index = seat / self.fan_in;
        loop {
            let node = &self.nodes[index];
            if node.arrive(generation) < node.expected() {
                return Reached::Wait;
            }
            match node.parent {
                Some(parent) => index = parent,
                None => return Reached::Completer,
            }
        }
    }

    /// Seat `seat` leaves for good: from the next generation on, the tree completes without
    /// it. Only while no generation can be joined (its caller holds the departures and starts
    /// the next generation after). Returns whether seats are left.
    pub(crate) fn depart(&self, seat: usize) -> bool {
        let mut index = seat / self.fan_in;
        loop {
            let node = &self.nodes[index];
            // Relaxed: no arrival reads it until the next generation starts, which publishes it.
            let left = node.expected.load(Ordering::Relaxed) - 1;
            node.expected.store(left, Ordering::Relaxed);
            if left > 0 {
                return true;
            }
            // Nobody arrives here any more: the parent expects one child fewer.
            match node.parent {
                Some(parent) => index = parent,
                None => return false,
            }
        }
    }
}

/// The nodes of a tree of fan-in `fan_in` over `parties` seats: the sum of its level widths
/// (about `parties / (fan_in - 1)`), saturated at `usize::MAX`, which no allocation grants.
fn node_count(parties: usize, fan_in: usize) -> usize {
    let mut count: usize = 0;
    let mut children = parties;
    loop {
        let level_len = children.div_ceil(fan_in);
        count = count.saturating_add(level_len);
        if level_len == 1 {
            return count;
        }
        children = level_len;
    }
}

impl Node {
    #[inline]
    fn expected(&self) -> u64 {
        // Relaxed: changed only between generations, published by the release this seat's
        // arrival follows.
        self.expected.load(Ordering::Relaxed) as u64
    }

    /// Counts one arrival for `generation`; returns the count including it.
    fn arrive(&self, generation: u64) -> u64 {
        let tag = generation << COUNT_BITS;
        // Relaxed: the CAS below orders.
        let mut current = self.word.load(Ordering::Relaxed);
        loop {
            let count = if current & !COUNT_MASK == tag {
                (current & COUNT_MASK) + 1
            } else {
                1
            };
            // AcqRel. Release: this thread's writes (and those it acquired from its subtree)
            // pass to whoever carries this node's arrival upward. Acquire: that carrier sees
            // everything the node's earlier arrivals published.
            match self.word.compare_exchange_weak(
                current,
                tag | count,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return count,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completers(tree: &Tree, parties: usize, generation: u64) -> Vec<usize> {
        (0..parties)
            .filter(|&s| tree.arrive(s, generation) == Reached::Completer)
            .collect()
    }

    #[test]
    fn exactly_the_last_arrival_completes_for_any_shape() {
        for fan_in in 2..=5 {
            for parties in 1..=40 {
                let tree = Tree::new(parties, fan_in).unwrap();
                for generation in 0..3 {
                    assert_eq!(
                        completers(&tree, parties, generation),
                        [parties - 1],
                        "p={parties} k={fan_in}"
                    );
                }
            }
        }
    }

    #[test]
    fn huge_fan_ins_build_one_node() {
        for fan_in in [usize::MAX, usize::MAX / 2 + 1, 1 << 32] {
            let tree = Tree::new(5, fan_in).unwrap();
            assert_eq!(tree.nodes.len(), 1);
            assert_eq!(completers(&tree, 5, 0), [4], "k={fan_in}");
        }
    }

    #[test]
    fn node_count_sums_the_levels() {
        assert_eq!(node_count(1, 2), 1);
        assert_eq!(node_count(7, 2), 4 + 2 + 1);
        // Levels of 2^31, 2^30, ..., 1 nodes.
        assert_eq!(node_count(MAX_PARTIES, 2), (1 << 32) - 1);
        assert_eq!(node_count(MAX_PARTIES, usize::MAX), 1);
    }

    #[test]
    fn departed_seats_count_as_arrived() {
        for fan_in in 2..=4 {
            for parties in 1..=17 {
                // Seats leave in an order that empties whole leaves and subtrees.
                let tree = Tree::new(parties, fan_in).unwrap();
                let mut present: Vec<usize> = (0..parties).collect();
                let mut generation = 0;
                while let Some(&gone) = present.get(present.len() / 2) {
                    present.retain(|&s| s != gone);
                    assert_eq!(tree.depart(gone), !present.is_empty());
                    if present.is_empty() {
                        break;
                    }
                    let done: Vec<usize> = present
                        .iter()
                        .copied()
                        .filter(|&s| tree.arrive(s, generation) == Reached::Completer)
                        .collect();
                    assert_eq!(done, [*present.last().unwrap()], "p={parties} k={fan_in}");
                    generation += 1;
                }
            }
        }
    }

    #[test]
    fn a_half_counted_generation_is_ignored_by_the_next() {
        let tree = Tree::new(7, 2).unwrap();
        for seat in 0..4 {
            assert_eq!(tree.arrive(seat, 5), Reached::Wait);
        }
        assert_eq!(completers(&tree, 7, 6), [6]);
    }
}
