//! Gathering the arrivals of seated threads: the scalable algorithms behind [`Seat`].
//!
//! An algorithm only answers "has everyone arrived, and am I the one who completes?". The
//! decision itself (run the action, release or fail the generation) is the barrier's single
//! state word, shared by all algorithms, so abort, reset and timeouts are written once
//! (`barrier.rs`). While an algorithm waits inside its gathering (dissemination rounds), it also
//! watches that state word and gives up as soon as the generation is decided or its deadline
//! passes; the caller then learns the outcome from the state word.
//!
//! Per-generation data (tree counters, dissemination flags) is tagged with the generation
//! number, so what a failed generation left half-done is simply ignored by the next one.
//!
//! [`Seat`]: crate::Seat

mod dissemination;
mod tree;

use std::fmt;

pub(crate) use dissemination::{Dissemination, COMPLETER_SEAT};
pub(crate) use tree::Tree;

/// What a seat's arrival found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Everyone has arrived and this seat completes the generation.
    Completer,
    /// This seat's part is done (or was cut short by a decision or its deadline): wait for the
    /// decision on the state word.
    Wait,
}

/// The gathering algorithm of a seated barrier.
pub(crate) enum Gather {
    Tree(Tree),
    Dissemination(Dissemination),
}

impl fmt::Debug for Gather {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gather::Tree(tree) => write!(f, "Tree {{ fan_in: {} }}", tree.fan_in()),
            Gather::Dissemination(_) => f.write_str("Dissemination"),
        }
    }
}
