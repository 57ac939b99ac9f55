//! Aligned columns for people at a terminal; times as UTC dates (`2025-11-20 10:10:00`). Widths come from the first rows of each block of
//! records with the same columns, so memory stays bounded on endless input.

use trawl_zeek::{Record, Value};

const SAMPLE: usize = 200;
const MAX_WIDTH: usize = 48;

/// Buffers a sample of rows to size the columns, then prints as it goes.
#[derive(Default)]
pub struct TableWriter {
    columns: Vec<String>,
    widths: Vec<usize>,
    pending: Vec<Vec<String>>,
    sized: bool,
    text: Vec<u8>,
}

impl TableWriter {
    /// Adds a record; output is appended to `out` once the block's widths are known.
    pub fn write(&mut self, rec: &Record, out: &mut Vec<u8>) {
        if !rec.has_columns(&self.columns) {
            self.finish(out);
            self.columns = rec.fields.iter().map(|f| f.name.to_string()).collect();
            self.widths = self.columns.iter().map(|c| c.chars().count()).collect();
            self.sized = false;
        }
        let cells: Vec<String> = rec
            .fields
            .iter()
            .map(|f| {
                if let Value::Time(t) = f.value {
                    return trawl_zeek::time::format_utc(t);
                }
                self.text.clear();
                f.value.write_text(&mut self.text);
                String::from_utf8_lossy(&self.text).replace(['\t', '\n', '\r'], " ")
            })
            .collect();
        if self.sized {
            self.line(&cells, out);
            return;
        }
        for (w, c) in self.widths.iter_mut().zip(&cells) {
            *w = (*w).max(c.chars().count()).min(MAX_WIDTH);
        }
        self.pending.push(cells);
        if self.pending.len() >= SAMPLE {
            self.flush_pending(out);
        }
    }

    fn flush_pending(&mut self, out: &mut Vec<u8>) {
        self.sized = true;
        let header = self.columns.clone();
        self.line(&header, out);
        for cells in std::mem::take(&mut self.pending) {
            self.line(&cells, out);
        }
    }

    /// Prints what is still buffered (end of input or of a block).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.flush_pending(out);
        }
    }

    fn line(&self, cells: &[String], out: &mut Vec<u8>) {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&self.widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let n = c.chars().count();
            if n > *w {
                s.extend(c.chars().take(w.saturating_sub(1)));
                s.push('…');
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.extend(std::iter::repeat_n(' ', w - n));
                }
            }
        }
        out.extend_from_slice(s.trim_end().as_bytes());
        out.push(b'\n');
    }
}
