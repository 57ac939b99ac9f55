//! Rule conditions: the expression language of `trawl query` (crate `trawl-query`), one
//! language and one implementation for queries, hunts and alerts.

use trawl_query::Condition;
use trawl_zeek::Record;

/// A parsed condition.
#[derive(Clone)]
pub struct Cond {
    inner: Condition,
    src: String,
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cond({:?})", self.src)
    }
}

impl Cond {
    /// Parses a condition; the error shows the text with a caret under the bad token and a
    /// hint.
    pub fn parse(src: &str) -> Result<Cond, String> {
        match Condition::parse(src) {
            Ok(inner) => Ok(Cond {
                inner,
                src: src.to_string(),
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether the record matches (a comparison with a missing field is false).
    pub fn matches(&self, rec: &Record<'_>) -> bool {
        self.inner.matches(rec)
    }

    /// The fields the condition reads.
    pub fn fields(&self) -> Vec<String> {
        self.inner.fields()
    }

    /// The condition's text.
    pub fn source(&self) -> &str {
        &self.src
    }
}

/// Software versions: `1.7.0_10 < 1.7.0_11`, `9.9 < 10.2` (the comparison `trawl hunt
/// software` uses).
pub fn version_lt(a: &str, b: &str) -> bool {
    trawl_query::functions::version_lt(a, b)
}
