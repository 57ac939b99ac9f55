//! ClickHouse column types for Zeek types, as ClickHouse 18.16 (Debian's) can store them.
//!
//! 18.16 has no DateTime64, no IPv6 type and no `Nullable(Array)`, and it reads a dotted
//! `Array` column (`san.dns`) as part of a Nested structure whose arrays must all have the
//! same length. So: times are Float64 epoch seconds (microseconds kept) with a DateTime
//! `_time` derived from `ts` for partitioning; addresses are strings; lists are plain
//! arrays (unset reads as empty), and a dotted list field's column takes `_` for the dot.

use std::fmt;

use trawl_zeek::{Scalar, ZeekType};

/// How a column's values are written in JSONEachRow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Float,
    UInt,
    Int,
    Str,
    /// A type trawl did not create (someone altered the table): values go as Zeek JSON.
    Other,
}

/// A column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChType {
    pub kind: Kind,
    pub array: bool,
    pub nullable: bool,
    /// The element type's name (`UInt64`).
    pub base: String,
}

impl fmt::Display for ChType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.array, self.nullable) {
            (true, _) => write!(f, "Array({})", self.base),
            (false, true) => write!(f, "Nullable({})", self.base),
            (false, false) => f.write_str(&self.base),
        }
    }
}

/// The time column every table is ordered by.
pub(crate) const TS: &str = "ts";
/// Values that did not fit their column, as a JSON object of field name to text.
pub(crate) const INVALID: &str = "_invalid";

impl ChType {
    fn of(base: &str, array: bool, nullable: bool) -> ChType {
        ChType {
            kind: kind_of(base),
            array,
            nullable: nullable && !array,
            base: base.into(),
        }
    }

    /// The column trawl creates for a field.
    pub fn for_field(name: &str, ty: ZeekType) -> ChType {
        let base = match ty.scalar {
            Scalar::Bool => "UInt8",
            Scalar::Count => "UInt64",
            Scalar::Int => "Int64",
            Scalar::Port => "UInt16",
            Scalar::Double | Scalar::Interval | Scalar::Time => "Float64",
            Scalar::String
            | Scalar::Enum
            | Scalar::Addr
            | Scalar::Subnet
            | Scalar::Pattern
            | Scalar::Other => "String",
        };
        // The sorting key cannot be Nullable in 18.16.
        ChType::of(base, ty.is_container(), name != TS)
    }

    /// `ts`: Float64 epoch seconds, never null.
    pub fn ts() -> ChType {
        ChType::of("Float64", false, false)
    }

    /// `_invalid`.
    pub fn invalid() -> ChType {
        ChType::of("String", false, true)
    }

    /// Reads a type as `system.columns` spells it.
    pub fn parse(s: &str) -> ChType {
        let s = s.trim();
        if let Some(inner) = strip(s, "Array(") {
            let inner = strip(inner, "Nullable(").unwrap_or(inner);
            let inner = strip(inner, "LowCardinality(").unwrap_or(inner);
            return ChType::of(inner, true, false);
        }
        if let Some(inner) = strip(s, "Nullable(") {
            return ChType::of(inner, false, true);
        }
        let inner = strip(s, "LowCardinality(").unwrap_or(s);
        ChType::of(inner, false, false)
    }
}

fn strip<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)?.strip_suffix(')')
}

fn kind_of(base: &str) -> Kind {
    match base {
        "Float64" | "Float32" => Kind::Float,
        "UInt8" | "UInt16" | "UInt32" | "UInt64" => Kind::UInt,
        "Int8" | "Int16" | "Int32" | "Int64" => Kind::Int,
        "String" => Kind::Str,
        b if b.starts_with("FixedString(") => Kind::Str,
        _ => Kind::Other,
    }
}

/// The column of a field: its name, except that a dotted list field takes `_` for the dots
/// (see the module docs).
pub(crate) fn column_name(field: &str, ty: ZeekType) -> String {
    if ty.is_container() && field.contains('.') {
        field.replace('.', "_")
    } else {
        field.to_string()
    }
}

/// An identifier in backticks (names such as `id.orig_h` need them).
pub(crate) fn quote(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('`');
    s
}

/// A string literal in single quotes.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A table name for a log type: `[A-Za-z0-9_]` kept, anything else `_`.
pub(crate) fn table_name(prefix: &str, log_type: &str) -> String {
    let mut t = String::from(prefix);
    t.extend(log_type.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    t
}

/// Whether a configured name can be used unquoted (database, table prefix).
pub(crate) fn is_identifier(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_types_map_to_what_18_16_stores() {
        let t = |n: &str, s: &str| ChType::for_field(n, ZeekType::parse(s)).to_string();
        assert_eq!(t("ts", "time"), "Float64");
        assert_eq!(t("ts2", "time"), "Nullable(Float64)");
        assert_eq!(t("id.orig_h", "addr"), "Nullable(String)");
        assert_eq!(t("id.orig_p", "port"), "Nullable(UInt16)");
        assert_eq!(t("trans_id", "count"), "Nullable(UInt64)");
        assert_eq!(t("rtt", "interval"), "Nullable(Float64)");
        assert_eq!(t("AA", "bool"), "Nullable(UInt8)");
        assert_eq!(t("answers", "vector[string]"), "Array(String)");
        assert_eq!(t("TTLs", "vector[interval]"), "Array(Float64)");
        assert_eq!(
            column_name("san.dns", ZeekType::parse("vector[string]")),
            "san_dns"
        );
        assert_eq!(
            column_name("id.orig_h", ZeekType::parse("addr")),
            "id.orig_h"
        );
    }

    #[test]
    fn parses_server_types() {
        let p = ChType::parse("Nullable(UInt64)");
        assert_eq!((p.kind, p.nullable, p.array), (Kind::UInt, true, false));
        let p = ChType::parse("Array(Nullable(String))");
        assert_eq!((p.kind, p.array), (Kind::Str, true));
        assert_eq!(ChType::parse("DateTime").kind, Kind::Other);
        assert_eq!(ChType::parse("LowCardinality(String)").kind, Kind::Str);
    }

    #[test]
    fn names_are_quoted_and_sanitised() {
        assert_eq!(quote("id.orig_h"), "`id.orig_h`");
        assert_eq!(quote("a`b"), "`a\\`b`");
        assert_eq!(literal("it's"), "'it\\'s'");
        assert_eq!(table_name("zeek_", "dns-x.y"), "zeek_dns_x_y");
        assert!(is_identifier("zeek_") && !is_identifier("a;drop") && !is_identifier("1a"));
    }
}
