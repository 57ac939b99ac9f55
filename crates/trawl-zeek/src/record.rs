//! A record detached from its format: the log type and its named, typed values in order.

use std::borrow::Cow;

use crate::types::ZeekType;
use crate::value::{write_json_str, Value};

/// One named value of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    pub name: Cow<'a, str>,
    pub ty: ZeekType,
    pub value: Value<'a>,
}

impl Field<'_> {
    /// The same field borrowing this one's name and text.
    pub fn borrowed(&self) -> Field<'_> {
        Field {
            name: Cow::Borrowed(&self.name),
            ty: self.ty,
            value: self.value.borrowed(),
        }
    }
}

/// A log record in any format's terms: `path` is the log type (`dns`, `conn` ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record<'a> {
    pub path: Cow<'a, str>,
    pub fields: Vec<Field<'a>>,
}

/// A problem met while reading: where, and why. The record it concerns is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number in the stream.
    pub line: u64,
    pub reason: String,
}

impl<'a> Record<'a> {
    /// An empty record of a log type.
    pub fn new(path: impl Into<Cow<'a, str>>) -> Self {
        Record {
            path: path.into(),
            fields: Vec::new(),
        }
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<Cow<'a, str>>, ty: ZeekType, value: Value<'a>) {
        self.fields.push(Field {
            name: name.into(),
            ty,
            value,
        });
    }

    /// The value of a field by name; `None` if the record has no such field.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// Whether the record's fields are exactly these names, in this order.
    pub fn has_columns(&self, names: &[String]) -> bool {
        self.fields.len() == names.len() && self.fields.iter().zip(names).all(|(f, n)| f.name == *n)
    }

    /// Detaches the record from the buffer it was read from.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            path: Cow::Owned(self.path.into_owned()),
            fields: self
                .fields
                .into_iter()
                .map(|f| Field {
                    name: Cow::Owned(f.name.into_owned()),
                    ty: f.ty,
                    value: f.value.into_owned(),
                })
                .collect(),
        }
    }

    /// Writes the record as one line of Zeek JSON: dotted keys, `_path` first, unset fields
    /// left out. No trailing newline.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_with(&[], out);
    }

    /// [`Record::write_json`] with more fields after the record's own (added by enrichment),
    /// without copying the record.
    pub fn write_json_with(&self, extra: &[Field<'_>], out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"_path\":");
        write_json_str(out, self.path.as_bytes());
        write_json_members(self.fields.iter().chain(extra), out);
        out.push(b'}');
    }
}

/// Writes fields as JSON members after others (`,"name":value` each), as Zeek's JSON writer
/// does: unset fields and `_path` (written first by the caller) left out.
pub fn write_json_members<'f, 'a: 'f>(
    fields: impl Iterator<Item = &'f Field<'a>>,
    out: &mut Vec<u8>,
) {
    for f in fields {
        if f.value.is_unset() || f.name == "_path" {
            continue;
        }
        out.push(b',');
        write_json_str(out, f.name.as_bytes());
        out.push(b':');
        f.value.write_json(out);
    }
}
