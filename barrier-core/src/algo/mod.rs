//! Gathering the arrivals of seated threads: the scalable algorithms behind [`Seat`].
//!
//! An algorithm only answers "has everyone arrived, and who completes?". Arrivals, failures and
//! the release are the seated protocol's (`seated.rs`, `seat.rs`), shared by all algorithms, so
//! abort, reset and timeouts are written once. While an algorithm waits inside its gathering
//! (dissemination rounds), the caller's wait also watches for a failure of the generation.
//!
//! Per-generation data (tree counters, dissemination flags) is tagged with the generation
//! number, so what a failed generation left half-done is simply ignored by later ones.
//!
//! [`Seat`]: crate::Seat

mod dissemination;
mod tree;

use std::fmt;

pub(crate) use dissemination::{Dissemination, COMPLETER_SEAT};
pub(crate) use tree::Tree;

/// What a seat's arrival found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reached {
    /// Everyone has arrived and this seat completes the generation.
    Completer,
    /// This seat's part is done: wait for the completer's release.
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
