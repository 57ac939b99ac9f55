//! Zeek's column types as written in a `#types` header line.

use std::fmt;

/// A scalar Zeek type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scalar {
    Bool,
    Count,
    Int,
    Double,
    Time,
    Interval,
    String,
    Enum,
    Addr,
    Subnet,
    Port,
    Pattern,
    /// A type trawl does not interpret (e.g. `func`, `file`, `any`): kept as a string.
    Other,
}

/// How a column holds its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// One value.
    Single,
    /// `set[T]`
    Set,
    /// `vector[T]`
    Vector,
    /// `table[T]`: the Bro 2.x spelling of a set in logs.
    Table,
}

/// A column type: a scalar, possibly inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ZeekType {
    pub container: Container,
    pub scalar: Scalar,
}

impl Scalar {
    /// Parses a scalar type name; unknown names become [`Scalar::Other`].
    pub fn parse(s: &str) -> Scalar {
        match s {
            "bool" => Scalar::Bool,
            "count" | "counter" => Scalar::Count,
            "int" => Scalar::Int,
            "double" => Scalar::Double,
            "time" => Scalar::Time,
            "interval" => Scalar::Interval,
            "string" => Scalar::String,
            "enum" => Scalar::Enum,
            "addr" => Scalar::Addr,
            "subnet" => Scalar::Subnet,
            "port" => Scalar::Port,
            "pattern" => Scalar::Pattern,
            _ => Scalar::Other,
        }
    }

    /// The canonical Zeek name of this scalar.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::Count => "count",
            Scalar::Int => "int",
            Scalar::Double => "double",
            Scalar::Time => "time",
            Scalar::Interval => "interval",
            Scalar::String => "string",
            Scalar::Enum => "enum",
            Scalar::Addr => "addr",
            Scalar::Subnet => "subnet",
            Scalar::Port => "port",
            Scalar::Pattern => "pattern",
            Scalar::Other => "string",
        }
    }
}

impl ZeekType {
    /// Whether every value reads as this type (strings, enums, patterns, unknown types).
    pub fn never_wrong(&self) -> bool {
        matches!(
            self.scalar,
            Scalar::String | Scalar::Enum | Scalar::Pattern | Scalar::Other
        )
    }

    /// Parses a type name such as `count`, `set[string]` or `vector[interval]`.
    /// Never fails: what it does not know is kept as [`Scalar::Other`].
    pub fn parse(s: &str) -> ZeekType {
        let (container, inner) = if let Some(rest) = s.strip_suffix(']') {
            if let Some(i) = rest.strip_prefix("set[") {
                (Container::Set, i)
            } else if let Some(i) = rest.strip_prefix("vector[") {
                (Container::Vector, i)
            } else if let Some(i) = rest.strip_prefix("table[") {
                (Container::Table, i)
            } else {
                (Container::Single, s)
            }
        } else {
            (Container::Single, s)
        };
        ZeekType {
            container,
            scalar: Scalar::parse(inner),
        }
    }

    /// A single value of a scalar type.
    pub const fn single(scalar: Scalar) -> ZeekType {
        ZeekType {
            container: Container::Single,
            scalar,
        }
    }

    /// Whether values of this type are lists (set, vector, table).
    pub fn is_container(&self) -> bool {
        self.container != Container::Single
    }
}

impl fmt::Display for ZeekType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.scalar.name();
        match self.container {
            Container::Single => f.write_str(s),
            Container::Set => write!(f, "set[{s}]"),
            Container::Vector => write!(f, "vector[{s}]"),
            Container::Table => write!(f, "table[{s}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_containers_and_unknowns() {
        let t = ZeekType::parse("set[string]");
        assert_eq!((t.container, t.scalar), (Container::Set, Scalar::String));
        let t = ZeekType::parse("table[addr]");
        assert_eq!((t.container, t.scalar), (Container::Table, Scalar::Addr));
        let t = ZeekType::parse("vector[interval]");
        assert_eq!(
            (t.container, t.scalar),
            (Container::Vector, Scalar::Interval)
        );
        let t = ZeekType::parse("func");
        assert_eq!(t.scalar, Scalar::Other);
        assert_eq!(ZeekType::parse("set[addr]").to_string(), "set[addr]");
    }
}
