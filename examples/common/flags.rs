//! Flag parsers shared by the examples, with no dependency beyond std (so phase-mpi's examples
//! can include this file too).

/// A clap value parser for whole numbers of at least `min`, whose error says so.
pub fn at_least(min: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync {
    move |text| match text.parse::<usize>() {
        Ok(value) if value >= min => Ok(value),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(error) => Err(error.to_string()),
    }
}
