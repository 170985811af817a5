//! Why a cluster could not start or a distributed grid could not be split.

use std::fmt;

use mpi::Threading;

/// Why [`Cluster::init`](crate::Cluster::init) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// MPI was already initialised in this process (MPI allows one initialisation per
    /// process).
    AlreadyInitialized,
    /// The MPI library offers less thread support than `Threading::Funneled`, which a
    /// multi-threaded rank needs even though only its main thread calls MPI.
    Threading {
        /// The level the library provided.
        provided: Threading,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::AlreadyInitialized => {
                f.write_str("MPI is already initialised in this process (one init per process)")
            }
            InitError::Threading { provided } => write!(
                f,
                "the MPI library provides thread support {provided:?}, less than the Funneled \
                 that a rank with a worker pool needs; use an MPI built with thread support"
            ),
        }
    }
}

impl std::error::Error for InitError {}

/// Why a [`DistGrid`](crate::DistGrid) could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GridError {
    /// Fewer interior rows than ranks: every rank must own at least one row.
    TooManyRanks {
        /// Rows of the grid, boundary included.
        rows: usize,
        /// Interior rows (`rows - 2`, or 0), the rows that are shared out.
        interior_rows: usize,
        /// Ranks in the job.
        ranks: usize,
    },
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GridError::TooManyRanks {
                rows,
                interior_rows,
                ranks,
            } => write!(
                f,
                "more ranks than rows: a grid of {rows} rows has {interior_rows} interior rows \
                 to share among {ranks} ranks, and every rank needs at least one; run at most \
                 {interior_rows} ranks or use a larger grid"
            ),
        }
    }
}

impl std::error::Error for GridError {}
