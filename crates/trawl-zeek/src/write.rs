//! Writing records back out: Zeek TSV (with header blocks Zeek's own tools accept) and CSV.
//! JSON needs no state and lives on [`Record::write_json`].

use crate::record::Record;
use crate::types::ZeekType;
use crate::value::{Markers, Value};

/// Writes records as Zeek TSV. A header block is written when the log type changes or a
/// record brings a field the current block lacks (the block is widened, never narrowed, so
/// records of one log type that leave different fields unset share one block).
pub struct ZeekTsvWriter {
    separator: Vec<u8>,
    set_separator: Vec<u8>,
    empty_field: Vec<u8>,
    unset_field: Vec<u8>,
    path: Option<String>,
    fields: Vec<(String, ZeekType)>,
    open_stamp: String,
    open_block: bool,
    index: Vec<Option<usize>>,
}

impl ZeekTsvWriter {
    /// `open_stamp` is the `#open`/`#close` time text (Zeek writes `%Y-%m-%d-%H-%M-%S`).
    pub fn new(open_stamp: impl Into<String>) -> Self {
        ZeekTsvWriter {
            separator: b"\t".to_vec(),
            set_separator: b",".to_vec(),
            empty_field: b"(empty)".to_vec(),
            unset_field: b"-".to_vec(),
            path: None,
            fields: Vec::new(),
            open_stamp: open_stamp.into(),
            open_block: false,
            index: Vec::new(),
        }
    }

    /// Writes with other markers than Zeek's defaults (tab, `,`, `(empty)`, `-`).
    pub fn with_markers(
        mut self,
        separator: &[u8],
        set_separator: &[u8],
        empty: &[u8],
        unset: &[u8],
    ) -> Self {
        self.separator = separator.to_vec();
        self.set_separator = set_separator.to_vec();
        self.empty_field = empty.to_vec();
        self.unset_field = unset.to_vec();
        self
    }

    fn markers(&self) -> Markers<'_> {
        Markers {
            set_separator: &self.set_separator,
            empty_field: &self.empty_field,
            unset_field: &self.unset_field,
        }
    }

    /// Forget the current block (after TSV was passed through verbatim in between).
    pub fn reset(&mut self) {
        self.path = None;
        self.fields.clear();
        self.open_block = false;
    }

    /// Appends one record (and a header block first if needed) to `out`.
    pub fn write(&mut self, rec: &Record, out: &mut Vec<u8>) {
        let same_path = self.path.as_deref() == Some(&*rec.path);
        let widened = same_path && self.widen(rec);
        if !same_path || widened {
            if !same_path {
                self.fields = rec
                    .fields
                    .iter()
                    .map(|f| (f.name.to_string(), f.ty))
                    .collect();
                self.path = Some(rec.path.to_string());
            }
            self.close(out);
            self.header(out);
        }
        // Map the record's fields onto the block's columns by name.
        self.index.clear();
        self.index.resize(self.fields.len(), None);
        for (i, f) in rec.fields.iter().enumerate() {
            if let Some(c) = self.fields.iter().position(|(n, _)| n == &f.name) {
                self.index[c] = Some(i);
            }
        }
        let m = self.markers();
        let sep = &self.separator;
        for (c, slot) in self.index.iter().enumerate() {
            if c > 0 {
                out.extend_from_slice(sep);
            }
            match slot {
                Some(i) => rec.fields[*i].value.write_tsv(out, sep, &m),
                None => Value::Unset.write_tsv(out, sep, &m),
            }
        }
        out.push(b'\n');
    }

    /// Adds fields of `rec` the block lacks, keeping their order. Returns whether it changed.
    fn widen(&mut self, rec: &Record) -> bool {
        let mut changed = false;
        let mut at = 0;
        for f in &rec.fields {
            match self.fields.iter().position(|(n, _)| n == &f.name) {
                Some(p) => at = p + 1,
                None => {
                    self.fields.insert(at, (f.name.to_string(), f.ty));
                    at += 1;
                    changed = true;
                }
            }
        }
        changed
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        let path = self
            .path
            .as_deref()
            .unwrap_or("unknown")
            .as_bytes()
            .to_vec();
        out.extend_from_slice(b"#separator ");
        crate::escape::escape_all_into(out, &self.separator);
        out.push(b'\n');
        let names: Vec<Vec<u8>> = self
            .fields
            .iter()
            .map(|(n, _)| n.as_bytes().to_vec())
            .collect();
        let types: Vec<Vec<u8>> = self
            .fields
            .iter()
            .map(|(_, t)| t.to_string().into_bytes())
            .collect();
        let stamp = self.open_stamp.as_bytes().to_vec();
        let mut set_sep = Vec::new();
        crate::escape::escape_into(&mut set_sep, &self.set_separator, &[&self.separator]);
        let (empty, unset) = (self.empty_field.clone(), self.unset_field.clone());
        self.directive(out, b"set_separator", &[set_sep]);
        self.directive(out, b"empty_field", &[empty]);
        self.directive(out, b"unset_field", &[unset]);
        self.directive(out, b"path", &[path]);
        self.directive(out, b"open", &[stamp]);
        self.directive(out, b"fields", &names);
        self.directive(out, b"types", &types);
        self.open_block = true;
    }

    fn directive(&self, out: &mut Vec<u8>, name: &[u8], values: &[Vec<u8>]) {
        out.push(b'#');
        out.extend_from_slice(name);
        for v in values {
            out.extend_from_slice(&self.separator);
            out.extend_from_slice(v);
        }
        out.push(b'\n');
    }

    /// Writes `#close` if a block is open.
    pub fn close(&mut self, out: &mut Vec<u8>) {
        if self.open_block {
            out.extend_from_slice(b"#close");
            out.extend_from_slice(&self.separator);
            out.extend_from_slice(self.open_stamp.as_bytes());
            out.push(b'\n');
            self.open_block = false;
        }
    }
}

/// Writes records as CSV (RFC 4180), with a header row whenever the columns change.
#[derive(Default)]
pub struct CsvWriter {
    columns: Vec<String>,
    text: Vec<u8>,
}

impl CsvWriter {
    /// Appends one record (and a header row first if the columns changed) to `out`.
    pub fn write(&mut self, rec: &Record, out: &mut Vec<u8>) {
        if !rec.has_columns(&self.columns) {
            self.columns = rec.fields.iter().map(|f| f.name.to_string()).collect();
            for (i, c) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv_field(out, c.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        for (i, f) in rec.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if !f.value.is_unset() {
                self.text.clear();
                f.value.write_text(&mut self.text);
                csv_field(out, &self.text);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn csv_field(out: &mut Vec<u8>, v: &[u8]) {
    if v.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in v {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Scalar;

    #[test]
    fn tsv_widens_and_round_trips() {
        let mut w = ZeekTsvWriter::new("2026-01-01-00-00-00");
        let mut out = Vec::new();
        let mut a = Record::new("dns");
        a.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(1_000_000_000),
        );
        a.push(
            "query",
            ZeekType::single(Scalar::String),
            Value::Str(b"a\tb"[..].into()),
        );
        w.write(&a, &mut out);
        let mut b = Record::new("dns");
        b.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(2_000_000_000),
        );
        w.write(&b, &mut out);
        w.close(&mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains("1.000000\ta\\x09b\n2.000000\t-\n#close"),
            "{text}"
        );

        let mut r = crate::tsv::TsvReader::new(&out[..]);
        let mut n = 0;
        while let Some(ev) = r.next_event().unwrap() {
            if let crate::tsv::TsvEvent::Row(row) = ev {
                let rec = row.to_record(&mut Vec::new());
                assert_eq!(rec.get("ts"), [&a, &b][n].get("ts"));
                n += 1;
            }
        }
        assert_eq!(n, 2);
    }

    #[test]
    fn csv_quotes() {
        let mut w = CsvWriter::default();
        let mut out = Vec::new();
        let mut a = Record::new("x");
        a.push(
            "s",
            ZeekType::single(Scalar::String),
            Value::Str(b"a,\"b\""[..].into()),
        );
        w.write(&a, &mut out);
        assert_eq!(out, b"s\r\n\"a,\"\"b\"\"\"\r\n");
    }
}
