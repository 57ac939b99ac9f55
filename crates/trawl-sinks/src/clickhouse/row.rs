//! Events as TabSeparated rows, typed for their columns, and rows laid out for the table
//! as it is on the server.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;
use trawl_stream::event::Body;
use trawl_stream::Event;
use trawl_zeek::tsv::field_name;
use trawl_zeek::{Header, Record, Value, ZeekType};

use super::schema::{column_name, ChType, Kind, INVALID, TS};
use super::tsv;
use super::Columns;

/// A record's columns (name and the type trawl wants for it) and its row.
#[cfg(test)]
pub(crate) fn render(rec: &Record<'_>) -> (Vec<(String, String)>, Vec<u8>) {
    let mut cache = Renderer::default();
    let (cols, row) = cache.render_record(rec);
    ((*cols).clone(), row)
}

/// Events as rows, one after the other: the columns of the field lists seen lately are kept,
/// so records with the same field names and types share them (an `Arc`) and only their values
/// are written. Several are kept because one log's records alternate between a few lists (a
/// DNS record with scores, one whose name could not be scored).
#[derive(Default)]
pub(crate) struct Renderer {
    /// The plans seen lately, the last used first.
    plans: Vec<Plan>,
}

/// How many field lists a [`Renderer`] remembers.
const PLANS: usize = 8;

struct Plan {
    /// For rows kept raw: the header block they belong to (held, so the pointer stays
    /// unique while the plan lives).
    header: Option<Arc<Header>>,
    fields: Vec<(String, ZeekType)>,
    /// Where each field goes.
    slots: Vec<Slot>,
    cols: Columns,
    /// `cols` and `_invalid`, for rows with a value that did not fit.
    with_invalid: Option<Columns>,
}

/// Where a field's value goes.
enum Slot {
    /// Nowhere: `_path`, `_invalid`, a second field of one column name.
    Skip,
    Column(ChType),
    /// Into `_invalid`: ClickHouse cannot make a column of the name (its data file's name,
    /// each byte but letters, digits and `_` written as `%XX`, would be too long for the
    /// file system: Zeek JSON whose tables are keyed by records flattens into such names).
    Spill,
}

/// Longest column name as ClickHouse spells it in file names, leaving room for the suffix
/// (`.null.bin`) under the usual 255-byte limit.
const MAX_FILE_NAME: usize = 200;

fn fits_file_name(name: &str) -> bool {
    let escaped: usize = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                1
            } else {
                3
            }
        })
        .sum();
    escaped <= MAX_FILE_NAME
}

impl Plan {
    fn of<'f>(
        header: Option<Arc<Header>>,
        fields: impl Iterator<Item = (&'f str, ZeekType)>,
    ) -> Plan {
        let mut slots = Vec::new();
        let mut cols: Vec<(String, String)> = Vec::new();
        let mut names = Vec::new();
        for (field, ty) in fields {
            names.push((field.to_string(), ty));
            let name = column_name(field, ty);
            if field == "_path" || name == INVALID || cols.iter().any(|(c, _)| *c == name) {
                slots.push(Slot::Skip);
                continue;
            }
            if !fits_file_name(&name) {
                slots.push(Slot::Spill);
                continue;
            }
            let ct = if name == TS {
                ChType::ts()
            } else {
                ChType::for_field(&name, ty)
            };
            cols.push((name, ct.to_string()));
            slots.push(Slot::Column(ct));
        }
        Plan {
            header,
            fields: names,
            slots,
            cols: Arc::new(cols),
            with_invalid: None,
        }
    }

    fn fits(&self, rec: &Record<'_>) -> bool {
        self.header.is_none()
            && self.fields.len() == rec.fields.len()
            && self
                .fields
                .iter()
                .zip(&rec.fields)
                .all(|((n, t), f)| *t == f.ty && *n == f.name)
    }

    fn fits_raw(&self, header: &Arc<Header>, extra: &[trawl_zeek::Field<'_>]) -> bool {
        self.header.as_ref().is_some_and(|h| Arc::ptr_eq(h, header))
            && self.fields.len() == header.fields.len() + extra.len()
            && self.fields[header.fields.len()..]
                .iter()
                .zip(extra)
                .all(|((n, t), f)| *t == f.ty && *n == f.name)
    }

    /// The columns of a row, with `_invalid` when it has values that did not fit.
    fn cols(&mut self, invalid: bool) -> Columns {
        if !invalid {
            return self.cols.clone();
        }
        let cols = &self.cols;
        self.with_invalid
            .get_or_insert_with(|| {
                let mut with = (**cols).clone();
                with.push((INVALID.into(), ChType::invalid().to_string()));
                Arc::new(with)
            })
            .clone()
    }
}

impl Renderer {
    /// The event's columns and its row. A Zeek TSV row kept as read is written from its
    /// fields' text (no record built); anything else through its record.
    pub(crate) fn render(&mut self, e: &Event) -> (Columns, Vec<u8>) {
        if let Body::Tsv { header, line } = &e.body {
            if let Some(done) = self.render_raw(header, line, &e.extra) {
                return done;
            }
        }
        self.render_record(&e.view())
    }

    fn use_plan(&mut self, found: Option<usize>, make: impl FnOnce() -> Plan) -> &mut Plan {
        match found {
            Some(0) => {}
            Some(i) => self.plans[..=i].rotate_right(1),
            None => {
                self.plans.truncate(PLANS - 1);
                self.plans.insert(0, make());
            }
        }
        &mut self.plans[0]
    }

    fn render_raw(
        &mut self,
        header: &Arc<Header>,
        line: &[u8],
        extra: &[trawl_zeek::Field<'static>],
    ) -> Option<(Columns, Vec<u8>)> {
        let found = self.plans.iter().position(|p| p.fits_raw(header, extra));
        if found.is_none()
            && extra
                .iter()
                .any(|f| header.index_of(&f.name).is_some() || f.name == "_path")
        {
            // Records enriched before, read again: the record's road replaces the column.
            return None;
        }
        let plan = self.use_plan(found, || {
            let own =
                (0..header.fields.len()).map(|i| (header.fields[i].as_str(), header.type_of(i)));
            let added = extra.iter().map(|f| (&*f.name, f.ty));
            Plan::of(Some(header.clone()), own.chain(added))
        });
        let m = header.markers();
        let mut out = Vec::with_capacity(line.len() + 32 * extra.len() + 16);
        let mut invalid: Vec<(String, String)> = Vec::new();
        let mut first = true;
        let mut n = 0;
        let own = header.fields.len();
        for (i, raw) in trawl_zeek::header::split(line, &header.separator).enumerate() {
            n += 1;
            let bad = |invalid: &mut Vec<(String, String)>| {
                let v = Value::Invalid(trawl_zeek::escape::unescape(raw).0);
                invalid.push((field_name(header, i).into_owned(), text(&v)));
            };
            match plan.slots.get(i).filter(|_| i < own) {
                Some(Slot::Column(ty)) => {
                    if !std::mem::take(&mut first) {
                        out.push(b'\t');
                    }
                    if !tsv::write_raw(&mut out, raw, header.type_of(i), ty, &m) {
                        bad(&mut invalid);
                        tsv::write_missing(&mut out, ty);
                    }
                }
                Some(Slot::Spill) if raw != m.unset_field => bad(&mut invalid),
                _ => {}
            }
        }
        if n != own {
            // Too few or too many values: the record's road names and keeps them.
            return None;
        }
        for (f, slot) in extra.iter().zip(&plan.slots[own..]) {
            write_field(&mut out, &mut first, f, slot, &mut invalid);
        }
        let cols = plan.cols(!invalid.is_empty());
        finish(&mut out, invalid, first);
        Some((cols, out))
    }

    /// A record's columns and its row.
    pub(crate) fn render_record(&mut self, rec: &Record<'_>) -> (Columns, Vec<u8>) {
        let found = self.plans.iter().position(|p| p.fits(rec));
        let plan = self.use_plan(found, || {
            Plan::of(None, rec.fields.iter().map(|f| (&*f.name, f.ty)))
        });
        let mut out = Vec::with_capacity(32 * rec.fields.len());
        let mut invalid: Vec<(String, String)> = Vec::new();
        let mut first = true;
        for (f, slot) in rec.fields.iter().zip(&plan.slots) {
            write_field(&mut out, &mut first, f, slot, &mut invalid);
        }
        let cols = plan.cols(!invalid.is_empty());
        finish(&mut out, invalid, first);
        (cols, out)
    }
}

fn write_field(
    out: &mut Vec<u8>,
    first: &mut bool,
    f: &trawl_zeek::Field<'_>,
    slot: &Slot,
    invalid: &mut Vec<(String, String)>,
) {
    match slot {
        Slot::Column(ty) => {
            if !std::mem::take(first) {
                out.push(b'\t');
            }
            if !tsv::write_value(out, &f.value, ty) {
                invalid.push((f.name.to_string(), text(&f.value)));
                tsv::write_missing(out, ty);
            }
        }
        Slot::Spill if !f.value.is_unset() => invalid.push((f.name.to_string(), text(&f.value))),
        _ => {}
    }
}

/// Ends a row: the values that did not fit their column, as one JSON text in `INVALID`.
fn finish(out: &mut Vec<u8>, invalid: Vec<(String, String)>, empty: bool) {
    if !invalid.is_empty() {
        let map: serde_json::Map<String, Json> = invalid
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect();
        if !empty {
            out.push(b'\t');
        }
        tsv::write_str(out, Json::Object(map).to_string().as_bytes(), false);
    }
}

/// A value as written in a Zeek log, for `_invalid`.
fn text(v: &Value<'_>) -> String {
    let mut b = Vec::new();
    v.write_text(&mut b);
    String::from_utf8_lossy(&b).into_owned()
}

/// Whether a table's actual column types differ from the ones trawl wanted for a row's
/// columns (then [`layout`] converts its values).
pub(crate) fn differs(wanted: &[(String, String)], actual: &HashMap<String, ChType>) -> bool {
    wanted
        .iter()
        .any(|(c, t)| actual.get(c).is_some_and(|a| a.to_string() != *t))
}

/// The distinct column lists of rows (shared lists are one `Arc`), in order of first
/// appearance, and the union of their columns in that order.
pub(crate) fn columns_of<'r>(
    lists: impl Iterator<Item = &'r Columns>,
) -> (Vec<&'r Columns>, Vec<&'r (String, String)>) {
    let mut distinct: Vec<&Columns> = Vec::new();
    let mut union: Vec<&(String, String)> = Vec::new();
    for cols in lists {
        if distinct.iter().any(|l| Arc::ptr_eq(l, cols)) {
            continue;
        }
        distinct.push(cols);
        for c in cols.iter() {
            if !union.iter().any(|u| u.0 == c.0) {
                union.push(c);
            }
        }
    }
    (distinct, union)
}

/// How the rows of one column list go into the INSERT's columns.
struct Placement {
    /// The row is already in the INSERT's columns and types.
    as_is: bool,
    /// For each INSERT column, the row's column that fills it.
    from: Vec<Option<usize>>,
    /// For each of the row's columns whose type on the server differs: (wanted, actual).
    convert: Vec<Option<(ChType, ChType)>>,
}

/// Rows of one table (each with its column list) as an INSERT: its column names and its
/// TabSeparated body. Rows whose list is the INSERT's go as they are; the others are laid
/// out for it (missing columns unset). Where the table has a column of another type than
/// trawl wanted (a table made by someone else), values are converted where they fit and the
/// others moved to `_invalid`.
pub(crate) fn layout<'r>(
    rows: &[(&'r Columns, &'r [u8])],
    actual: &HashMap<String, ChType>,
) -> (Vec<String>, Vec<u8>) {
    let (lists, union) = columns_of(rows.iter().map(|(c, _)| *c));
    let mut target: Vec<(String, ChType)> = union
        .into_iter()
        .map(|(c, t)| {
            (
                c.clone(),
                actual.get(c).cloned().unwrap_or_else(|| ChType::parse(t)),
            )
        })
        .collect();
    let converting = lists.iter().any(|l| differs(l, actual));
    if converting && actual.contains_key(INVALID) && !target.iter().any(|(n, _)| n == INVALID) {
        target.push((INVALID.into(), actual[INVALID].clone()));
    }
    let placements: Vec<Placement> = lists
        .iter()
        .map(|cols| {
            let from: Vec<Option<usize>> = target
                .iter()
                .map(|(n, _)| cols.iter().position(|(c, _)| c == n))
                .collect();
            let convert: Vec<Option<(ChType, ChType)>> = cols
                .iter()
                .map(|(c, t)| {
                    let a = actual.get(c)?;
                    (a.to_string() != *t).then(|| (ChType::parse(t), a.clone()))
                })
                .collect();
            let as_is = cols.len() == target.len()
                && from.iter().enumerate().all(|(j, f)| *f == Some(j))
                && convert.iter().all(Option::is_none);
            Placement {
                as_is,
                from,
                convert,
            }
        })
        .collect();
    let mut body = Vec::with_capacity(rows.iter().map(|(_, r)| r.len() + 1).sum());
    for (cols, row) in rows {
        let Some(k) = lists.iter().position(|l| Arc::ptr_eq(l, cols)) else {
            continue;
        };
        let p = &placements[k];
        if p.as_is {
            body.extend_from_slice(row);
        } else {
            place(&mut body, row, p, &target);
        }
        body.push(b'\n');
    }
    (target.into_iter().map(|(n, _)| n).collect(), body)
}

/// Writes one row in the INSERT's columns.
fn place(body: &mut Vec<u8>, row: &[u8], p: &Placement, target: &[(String, ChType)]) {
    let fields: Vec<&[u8]> = row.split(|&b| b == b'\t').collect();
    let mut invalid: serde_json::Map<String, Json> = serde_json::Map::new();
    let mut at_invalid = None;
    for (j, ((name, ty), from)) in target.iter().zip(&p.from).enumerate() {
        if j > 0 {
            body.push(b'\t');
        }
        if name == INVALID {
            // Filled in last, with what the conversions below move there.
            if let Some(Json::String(s)) = (*from).and_then(|k| tsv::parse(fields.get(k)?, ty)) {
                let before: serde_json::Map<String, Json> =
                    serde_json::from_str(&s).unwrap_or_default();
                for (k, v) in before {
                    invalid.entry(k).or_insert(v);
                }
            }
            at_invalid = Some(body.len());
            continue;
        }
        let Some(field) = (*from).and_then(|k| fields.get(k)) else {
            tsv::write_missing(body, ty);
            continue;
        };
        match (*from).and_then(|k| p.convert.get(k)?.as_ref()) {
            None => body.extend_from_slice(field),
            Some((wanted, actual)) => {
                let value = tsv::parse(field, wanted).unwrap_or(Json::Null);
                match convert(&value, actual) {
                    Some(fixed) => tsv::write_json(body, &fixed, actual),
                    None => {
                        invalid.insert(name.clone(), Json::String(json_text(&value)));
                        tsv::write_missing(body, actual);
                    }
                }
            }
        }
    }
    if let Some(at) = at_invalid {
        let mut text = Vec::new();
        if invalid.is_empty() {
            text.extend_from_slice(b"\\N");
        } else {
            tsv::write_str(
                &mut text,
                Json::Object(invalid).to_string().as_bytes(),
                false,
            );
        }
        drop(body.splice(at..at, text));
    }
}

/// A row spooled by an older trawl (JSONEachRow) in its column list as TabSeparated.
pub(crate) fn from_json(row: &str, cols: &[(String, String)]) -> Vec<u8> {
    let obj: serde_json::Map<String, Json> = serde_json::from_str(row).unwrap_or_default();
    let mut out = Vec::with_capacity(row.len());
    for (i, (c, t)) in cols.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        let ty = ChType::parse(t);
        match obj.get(c).and_then(|v| convert(v, &ty)) {
            Some(v) => tsv::write_json(&mut out, &v, &ty),
            None => tsv::write_missing(&mut out, &ty),
        }
    }
    out
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn missing(ty: &ChType) -> Json {
    if ty.array {
        Json::Array(Vec::new())
    } else if ty.nullable {
        Json::Null
    } else if ty.kind == Kind::Str {
        Json::String(String::new())
    } else {
        Json::from(0)
    }
}

/// A JSON value converted for a column type, if it fits.
pub(crate) fn convert(v: &Json, ty: &ChType) -> Option<Json> {
    if v.is_null() {
        return Some(missing(ty));
    }
    if ty.array {
        let items = match v {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let elem = ChType {
            array: false,
            nullable: false,
            ..ty.clone()
        };
        return items
            .iter()
            .map(|i| convert(i, &elem))
            .collect::<Option<Vec<_>>>()
            .map(Json::Array);
    }
    match (ty.kind, v) {
        (Kind::Other, v) => Some(v.clone()),
        (Kind::Str, v) => Some(Json::String(json_text(v))),
        (Kind::Float, Json::Number(_)) => Some(v.clone()),
        (Kind::UInt, Json::Number(n)) if n.is_u64() => Some(v.clone()),
        (Kind::Int, Json::Number(n)) if n.is_i64() => Some(v.clone()),
        (Kind::UInt | Kind::Int | Kind::Float, Json::Bool(b)) => Some(Json::from(u8::from(*b))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use trawl_zeek::ZeekType;

    use super::*;

    pub(super) fn rec() -> Record<'static> {
        let mut r = Record::new("dns");
        r.push(
            "ts",
            ZeekType::parse("time"),
            Value::Time(1_700_000_000_123_456_000),
        );
        r.push(
            "id.orig_h",
            ZeekType::parse("addr"),
            Value::Addr("10.0.0.1".parse().unwrap()),
        );
        r.push("id.orig_p", ZeekType::parse("port"), Value::Port(53));
        r.push("rtt", ZeekType::parse("interval"), Value::Unset);
        r.push("AA", ZeekType::parse("bool"), Value::Bool(true));
        r.push(
            "trans_id",
            ZeekType::parse("count"),
            Value::Invalid(Cow::Borrowed(b"x1")),
        );
        r.push(
            "answers",
            ZeekType::parse("vector[string]"),
            Value::List(vec![Value::Str(Cow::Borrowed(b"a\"b"))]),
        );
        r.push("TTLs", ZeekType::parse("vector[interval]"), Value::Unset);
        r
    }

    #[test]
    fn rows_follow_the_column_types() {
        let (cols, row) = render(&rec());
        let row = String::from_utf8(row).unwrap();
        assert_eq!(
            row,
            "1700000000.123456\t10.0.0.1\t53\t\\N\t1\t\\N\t['a\"b']\t[]\t{\"trans_id\":\"x1\"}"
        );
        assert_eq!(cols[0], ("ts".into(), "Float64".into()));
        assert_eq!(cols.last().unwrap().1, "Nullable(String)");
        assert_eq!(cols.last().unwrap().0, INVALID);
    }

    #[test]
    fn raw_rows_read_as_their_records() {
        let log = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tquery\tanswers\ttrans_id\tAA\n#types\ttime\tstring\tvector[string]\tcount\tbool\n";
        let mut r = trawl_zeek::TsvReader::new(log.as_bytes());
        while r.next_event().unwrap().is_some() {}
        let header = Arc::new(r.header().clone());
        for line in [
            "1.5\ta\\x09b\\\\c\tx,it's,-\t7\tT",
            "2.0\t-\t(empty)\tx1\tF",
            "3.0\t(empty)\t-\t-\t-",
            "4.0\tshort",
        ] {
            let mut e = Event::tsv(header.clone(), line.as_bytes().to_vec());
            e.add("dga_score", ZeekType::parse("double"), Value::Double(0.25));
            let mut renderer = Renderer::default();
            let raw = renderer.render(&e);
            let typed = Renderer::default().render_record(&e.view());
            assert_eq!(raw.0, typed.0, "{line}");
            // The same values (numbers may be spelt differently: `1.5`, `1.500000`).
            let values = |row: &[u8]| -> Vec<Json> {
                row.split(|&b| b == b'\t')
                    .zip(raw.0.iter())
                    .map(|(f, (_, t))| tsv::parse(f, &ChType::parse(t)).unwrap())
                    .collect()
            };
            assert_eq!(values(&raw.1), values(&typed.1), "{line}");
        }
    }

    #[test]
    fn fields_too_long_for_a_column_go_to_invalid() {
        let long = format!(
            "args.f.conns.{}.id.orig_h",
            r#"{"orig_h":"10.10.1.4"}"#.repeat(6)
        );
        let mut r = Record::new("all_events");
        r.push("ts", ZeekType::parse("time"), Value::Time(1_000_000_000));
        r.push(
            long.clone(),
            ZeekType::parse("addr"),
            Value::Addr("10.0.0.1".parse().unwrap()),
        );
        let (cols, row) = render(&r);
        assert_eq!(
            cols.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
            ["ts", INVALID]
        );
        let row = String::from_utf8(row).unwrap();
        let (_, inv) = row.split_once('\t').unwrap();
        let Some(Json::String(inv)) = tsv::parse(inv.as_bytes(), &ChType::invalid()) else {
            panic!("{row}");
        };
        let inv: Json = serde_json::from_str(&inv).unwrap();
        assert_eq!(inv[long.as_str()], "10.0.0.1");
    }

    #[test]
    fn alternating_field_lists_share_their_columns() {
        let mut full = rec();
        full.fields.retain(|f| f.name != "trans_id");
        let mut short = full.clone();
        short.fields.pop();
        let mut r = Renderer::default();
        let (a, _) = r.render_record(&full);
        let (b, _) = r.render_record(&short);
        let (c, _) = r.render_record(&full);
        assert!(Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(b.len() + 1, a.len());
    }

    #[test]
    fn rows_are_laid_out_for_the_table() {
        let mut full = rec();
        full.fields.retain(|f| f.name != "trans_id");
        let mut short = full.clone();
        short.fields.pop();
        let mut r = Renderer::default();
        let (a, ra) = r.render_record(&full);
        let (b, rb) = r.render_record(&short);
        let actual: HashMap<String, ChType> = a
            .iter()
            .map(|(c, t)| (c.clone(), ChType::parse(t)))
            .collect();
        let (names, body) = layout(&[(&a, &ra), (&b, &rb)], &actual);
        assert_eq!(names.len(), a.len());
        let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        assert_eq!(lines[0], &ra[..]);
        assert_eq!(lines[1], [&rb[..], b"\t[]"].concat());
    }

    #[test]
    fn rows_adapt_to_foreign_column_types() {
        let (cols, row) = render(&rec());
        let cols = Arc::new(cols);
        let mut actual: HashMap<String, ChType> = cols
            .iter()
            .map(|(c, t)| (c.clone(), ChType::parse(t)))
            .collect();
        let (_, same) = layout(&[(&cols, &row)], &actual);
        assert_eq!(same, [&row[..], b"\n"].concat());
        actual.insert("id.orig_p".into(), ChType::parse("Nullable(String)"));
        actual.insert("id.orig_h".into(), ChType::parse("Nullable(UInt32)"));
        let (names, fixed) = layout(&[(&cols, &row)], &actual);
        let fixed = String::from_utf8(fixed).unwrap();
        let fields: Vec<&str> = fixed.trim_end().split('\t').collect();
        let at = |n: &str| fields[names.iter().position(|c| c == n).unwrap()];
        assert_eq!(at("id.orig_p"), "53");
        assert_eq!(at("id.orig_h"), "\\N");
        let inv: Json = serde_json::from_str(at("_invalid")).unwrap();
        assert_eq!(inv["id.orig_h"], "10.0.0.1");
        assert_eq!(inv["trans_id"], "x1");
    }

    #[test]
    fn rows_spooled_as_json_become_rows() {
        let cols = vec![
            ("ts".to_string(), "Float64".to_string()),
            ("answers".to_string(), "Array(String)".to_string()),
            ("rtt".to_string(), "Nullable(Float64)".to_string()),
        ];
        let tsv = from_json(r#"{"ts":1.5,"answers":["a'b"],"rtt":null}"#, &cols);
        assert_eq!(tsv, b"1.5\t['a\\'b']\t\\N");
    }
}
