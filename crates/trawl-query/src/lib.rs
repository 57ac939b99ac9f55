//! The trawl query language: `dns | where qtype_name == "A" and phish_score > 0.8 | top 25 query`
//! over Zeek log folders as they are (no import).
//!
//! - `scan`: the parallel reader under every query: files (and blocks of large plain files) are
//!   read on every core, each worker folds its records into a partial result, and the partials
//!   are merged.
//! - [`Condition`]: one boolean expression of the language (used by `trawl-alert` rules).
//! - [`parser`], [`expr`], [`functions`]: the language: a pipeline of stages, expressions over
//!   Zeek's types (addr, subnet, time, interval, port, set/vector first class), functions.
//! - [`QueryError`]: a mistake shown with a caret under the bad token and a hint.

pub mod agg;
pub mod error;
pub mod exec;
pub mod expr;
pub mod fields;
pub mod functions;
pub mod hunts;
pub mod lexer;
pub mod networks;
pub mod ops;
pub mod parser;
pub mod scan;
pub mod spill;
pub mod value;

pub use error::{QueryError, Span};
pub use expr::Expr;
pub use fields::{Fields, LazyProblems, TsvFields};
pub use functions::set_site;
pub use networks::{set_networks, Networks};
pub use parser::{parse_query, Query, Stage};

/// A parsed boolean expression of the query language, as used in `where` and in alert rules:
/// `qtype_name == "A" and phish_score > 0.8 and id.orig_h in 10.0.0.0/8`.
///
/// A comparison with a missing or unset field is false (also `!=`).
#[derive(Debug, Clone)]
pub struct Condition {
    expr: Expr,
    fields: Vec<String>,
    source: String,
}

impl Condition {
    /// Parses a condition; a mistake is reported with a caret and a hint.
    pub fn parse(src: &str) -> Result<Condition, QueryError> {
        let (expr, fields) = parser::parse_expr(src)?;
        Ok(Condition {
            expr,
            fields,
            source: src.to_string(),
        })
    }

    /// Whether the condition holds on a record.
    pub fn matches(&self, rec: &trawl_zeek::Record<'_>) -> bool {
        self.expr.holds(rec)
    }

    /// Whether the condition holds on anything that has fields (a lazy TSV row, ...). The
    /// `slot`s passed to [`Fields::field`] index [`Condition::slots`].
    pub fn matches_fields<F: Fields + ?Sized>(&self, rec: &F) -> bool {
        self.expr.holds(rec)
    }

    /// The field names the condition reads, each once (without `query`, read only when a dns
    /// record lacks `phish_score`/`dga_score` columns and they are computed from it).
    pub fn fields(&self) -> Vec<String> {
        self.expr.fields()
    }

    /// The field table by slot (for [`Fields`] implementations that map slots to columns).
    pub fn slots(&self) -> &[String] {
        &self.fields
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The condition's text.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests;
