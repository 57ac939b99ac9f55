//! The trawl query language: `dns | where qtype_name == "A" and phish_score > 0.8 | top 25 query`
//! over Zeek log folders as they are (no import).
//!
//! - `scan`: the parallel reader under every query: files (and blocks of large plain files) are
//!   read on every core, each worker folds its records into a partial result, and the partials
//!   are merged.
