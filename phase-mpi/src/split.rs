//! Row blocks: which interior rows each rank owns.

use std::ops::Range;

use crate::error::GridError;

/// The interior rows (global indices, in `1..rows - 1`) that rank `rank` of `ranks` owns: a
/// contiguous block, the first `(rows - 2) % ranks` ranks one row more than the others.
///
/// The two boundary rows (`0` and `rows - 1`) are fixed and owned by nobody; the first and the
/// last rank hold them as they hold a neighbour's halo row.
///
/// # Errors
///
/// [`GridError::TooManyRanks`] if there are fewer interior rows than ranks.
///
/// # Panics
///
/// If `rank >= ranks`.
///
/// # Examples
///
/// ```
/// use phase_mpi::row_block;
///
/// // 7 rows: interior rows 1..6 (5 of them) over 2 ranks.
/// assert_eq!(row_block(7, 2, 0)?, 1..4);
/// assert_eq!(row_block(7, 2, 1)?, 4..6);
/// assert!(row_block(7, 6, 0).is_err());
/// # Ok::<(), phase_mpi::GridError>(())
/// ```
pub fn row_block(rows: usize, ranks: usize, rank: usize) -> Result<Range<usize>, GridError> {
    assert!(
        rank < ranks,
        "rank {rank} out of range: the job has {ranks} ranks"
    );
    let interior_rows = rows.saturating_sub(2);
    if interior_rows < ranks {
        return Err(GridError::TooManyRanks {
            rows,
            interior_rows,
            ranks,
        });
    }
    // The pool's static split of the interior, shifted past the top boundary row.
    let block = phase_pool::static_block(rank, ranks, interior_rows);
    Ok(block.start + 1..block.end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_interior_in_order() {
        for rows in 0..40 {
            for ranks in 1..12 {
                let blocks: Result<Vec<_>, _> =
                    (0..ranks).map(|r| row_block(rows, ranks, r)).collect();
                let interior = rows.saturating_sub(2);
                match blocks {
                    Err(GridError::TooManyRanks {
                        interior_rows,
                        ranks: r,
                        ..
                    }) => {
                        assert!(interior < ranks);
                        assert_eq!((interior_rows, r), (interior, ranks));
                    }
                    Ok(blocks) => {
                        assert!(interior >= ranks);
                        assert_eq!(blocks[0].start, 1);
                        assert_eq!(blocks[ranks - 1].end, rows - 1);
                        for pair in blocks.windows(2) {
                            assert_eq!(pair[0].end, pair[1].start);
                            assert!(pair[0].len() >= pair[1].len());
                            assert!(pair[0].len() - pair[1].len() <= 1);
                        }
                        assert!(blocks.iter().all(|b| !b.is_empty()));
                    }
                }
            }
        }
    }

    #[test]
    fn the_error_says_why() {
        let error = row_block(4, 3, 0).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("more ranks than rows"), "{text}");
        assert!(text.contains("2 interior rows"), "{text}");
        assert!(text.contains("3 ranks"), "{text}");
    }
}
