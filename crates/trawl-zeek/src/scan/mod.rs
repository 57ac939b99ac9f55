//! Low-level scanners over raw lines, building nothing: the hot loops under the readers, `cut`,
//! the query engine's fast paths and the pipeline's projections.
//!
//! - [`split`]: a TSV row split on a one-byte separator, 8 bytes at a time, only as far as the
//!   fields wanted ([`Splitter`]).
//! - [`json`]: the wanted top-level keys of one flat JSON line and where their values are.
//!
//! [`crate::json::line`] (JSON lines kept as read) builds on the same idea with a stricter
//! acceptance test.

pub mod json;
pub mod split;

pub use split::Splitter;
