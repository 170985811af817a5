//! placeholder
pub use std::fmt::Error as PlotError;
