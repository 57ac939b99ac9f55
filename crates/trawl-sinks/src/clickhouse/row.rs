//! Records as JSONEachRow rows, typed for their columns.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;
use trawl_zeek::time::write_epoch;
use trawl_zeek::value::{write_int, write_json_str};
use trawl_zeek::{Record, Value};

use super::schema::{column_name, ChType, Kind, INVALID, TS};

/// A record's columns (name and the type trawl wants for it) and its JSON row.
#[cfg(test)]
pub(crate) fn render(rec: &Record<'_>) -> (Vec<(String, String)>, Vec<u8>) {
    let mut cache = Renderer::default();
    let (cols, json) = cache.render(rec);
    ((*cols).clone(), json)
}

/// Records as rows, one after the other: the columns of the field lists seen lately are kept,
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
    fields: Vec<(String, trawl_zeek::ZeekType)>,
    columns: Vec<Option<(String, ChType)>>,
    cols: Arc<Vec<(String, String)>>,
    /// `cols` and `_invalid`, for rows with a value that did not fit.
    with_invalid: Option<Arc<Vec<(String, String)>>>,
}

impl Plan {
    fn of(rec: &Record<'_>) -> Plan {
        let mut columns = Vec::with_capacity(rec.fields.len());
        let mut cols: Vec<(String, String)> = Vec::with_capacity(rec.fields.len());
        for f in &rec.fields {
            let name = column_name(&f.name, f.ty);
            if f.name == "_path" || name == INVALID || cols.iter().any(|(c, _)| *c == name) {
                columns.push(None);
                continue;
            }
            let ty = if name == TS {
                ChType::ts()
            } else {
                ChType::for_field(&name, f.ty)
            };
            cols.push((name.clone(), ty.to_string()));
            columns.push(Some((name, ty)));
        }
        Plan {
            fields: rec
                .fields
                .iter()
                .map(|f| (f.name.to_string(), f.ty))
                .collect(),
            columns,
            cols: Arc::new(cols),
            with_invalid: None,
        }
    }

    fn fits(&self, rec: &Record<'_>) -> bool {
        self.fields.len() == rec.fields.len()
            && self
                .fields
                .iter()
                .zip(&rec.fields)
                .all(|((n, t), f)| *t == f.ty && *n == f.name)
    }
}

impl Renderer {
    /// The record's columns and its JSON row.
    pub(crate) fn render(&mut self, rec: &Record<'_>) -> (Arc<Vec<(String, String)>>, Vec<u8>) {
        match self.plans.iter().position(|p| p.fits(rec)) {
            Some(0) => {}
            Some(i) => self.plans[..=i].rotate_right(1),
            None => {
                self.plans.truncate(PLANS - 1);
                self.plans.insert(0, Plan::of(rec));
            }
        }
        let plan = &mut self.plans[0];
        let mut out = Vec::with_capacity(64 * rec.fields.len());
        let mut invalid: Vec<(String, String)> = Vec::new();
        out.push(b'{');
        let mut first = true;
        for (f, col) in rec.fields.iter().zip(&plan.columns) {
            let Some((name, ty)) = col else { continue };
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            write_json_str(&mut out, name.as_bytes());
            out.push(b':');
            if !write_value(&mut out, &f.value, ty) {
                invalid.push((f.name.to_string(), text(&f.value)));
                write_missing(&mut out, ty);
            }
        }
        let cols = if invalid.is_empty() {
            plan.cols.clone()
        } else {
            let cols = &plan.cols;
            plan.with_invalid
                .get_or_insert_with(|| {
                    let mut with = (**cols).clone();
                    with.push((INVALID.into(), ChType::invalid().to_string()));
                    Arc::new(with)
                })
                .clone()
        };
        finish(&mut out, invalid, first);
        (cols, out)
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
            out.push(b',');
        }
        write_json_str(out, INVALID.as_bytes());
        out.push(b':');
        let s = Json::Object(map).to_string();
        let _ = serde_json::to_writer(&mut *out, &s);
    }
    out.push(b'}');
}

/// A value as written in a Zeek log, for `_invalid`.
fn text(v: &Value<'_>) -> String {
    let mut b = Vec::new();
    v.write_text(&mut b);
    String::from_utf8_lossy(&b).into_owned()
}

/// What an unset value (or one that did not fit) is written as.
fn write_missing(out: &mut Vec<u8>, ty: &ChType) {
    out.extend_from_slice(if ty.array {
        b"[]"
    } else if ty.nullable {
        b"null"
    } else {
        match ty.kind {
            Kind::Str => b"\"\"",
            _ => b"0",
        }
    });
}

/// Writes a value for a column; false (and nothing written) when it does not fit.
fn write_value(out: &mut Vec<u8>, v: &Value<'_>, ty: &ChType) -> bool {
    let start = out.len();
    let ok = match (v, ty.array) {
        (Value::Unset, _) => {
            write_missing(out, ty);
            true
        }
        (Value::List(items), true) => {
            out.push(b'[');
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // An unset element has no place in a plain array: the type's default.
                if matches!(item, Value::Unset) {
                    out.extend_from_slice(if ty.kind == Kind::Str { b"\"\"" } else { b"0" });
                } else if !write_scalar(out, item, ty.kind) {
                    ok = false;
                    break;
                }
            }
            out.push(b']');
            ok
        }
        (_, true) => {
            out.push(b'[');
            let ok = write_scalar(out, v, ty.kind);
            out.push(b']');
            ok
        }
        (Value::List(_), false) if ty.kind == Kind::Str => {
            write_json_str(out, text(v).as_bytes());
            true
        }
        (Value::List(_), false) if ty.kind != Kind::Other => false,
        _ => write_scalar(out, v, ty.kind),
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

fn write_scalar(out: &mut Vec<u8>, v: &Value<'_>, kind: Kind) -> bool {
    match (kind, v) {
        (Kind::Other, v) => v.write_json(out),
        (Kind::Str, Value::Str(s) | Value::Invalid(s)) => write_json_str(out, s),
        (Kind::Str, Value::List(_)) => write_json_str(out, text(v).as_bytes()),
        // Numbers, addresses, ports and times: their text needs no escaping.
        (Kind::Str, v) => {
            out.push(b'"');
            v.write_text(out);
            out.push(b'"');
        }
        (_, Value::Bool(b)) => out.push(if *b { b'1' } else { b'0' }),
        (Kind::UInt | Kind::Float, Value::Count(n)) => write_int(out, *n),
        (Kind::Int, Value::Count(n)) if *n <= i64::MAX as u64 => write_int(out, *n),
        (Kind::Int | Kind::Float, Value::Int(n)) => write_int(out, *n),
        (Kind::UInt, Value::Int(n)) if *n >= 0 => write_int(out, *n),
        (_, Value::Port(p)) => write_int(out, *p),
        (Kind::Float, Value::Double(d) | Value::Interval(d)) if d.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(*d).as_bytes());
        }
        (Kind::Float, Value::Time(t)) => write_epoch(out, *t),
        _ => return false,
    }
    true
}

/// Rewrites a row whose columns have other types on the server than trawl wanted (a table
/// made by someone else): values converted where they fit, the others moved to `_invalid`.
/// Whether a table's actual column types differ from the ones trawl wanted for a row's
/// columns (then [`reconcile`] rewrites the row).
pub(crate) fn differs(wanted: &[(String, String)], actual: &HashMap<String, ChType>) -> bool {
    wanted
        .iter()
        .any(|(c, t)| actual.get(c).is_some_and(|a| a.to_string() != *t))
}

pub(crate) fn reconcile(
    row: &str,
    wanted: &[(String, String)],
    actual: &HashMap<String, ChType>,
) -> Option<Vec<u8>> {
    if !differs(wanted, actual) {
        return None;
    }
    let Ok(Json::Object(mut obj)) = serde_json::from_str::<Json>(row) else {
        return None;
    };
    let mut invalid: serde_json::Map<String, Json> = match obj.get(INVALID) {
        Some(Json::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        _ => Default::default(),
    };
    let before = invalid.len();
    for (col, ty) in actual {
        let Some(v) = obj.get_mut(col) else { continue };
        if let Some(fixed) = convert(v, ty) {
            *v = fixed;
        } else {
            let raw = std::mem::take(v);
            invalid.insert(col.clone(), Json::String(json_text(&raw)));
            *v = missing(ty);
        }
    }
    if invalid.len() != before && actual.contains_key(INVALID) {
        obj.insert(
            INVALID.into(),
            Json::String(Json::Object(invalid).to_string()),
        );
    }
    serde_json::to_vec(&obj).ok()
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
fn convert(v: &Json, ty: &ChType) -> Option<Json> {
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
            r#"{"ts":1700000000.123456,"id.orig_h":"10.0.0.1","id.orig_p":53,"rtt":null,"AA":1,"trans_id":null,"answers":["a\"b"],"TTLs":[],"_invalid":"{\"trans_id\":\"x1\"}"}"#
        );
        assert_eq!(cols[0], ("ts".into(), "Float64".into()));
        assert_eq!(cols.last().unwrap().1, "Nullable(String)");
        let _: Json = serde_json::from_str(&row).unwrap();
    }

    #[test]
    fn alternating_field_lists_share_their_columns() {
        let mut full = rec();
        full.fields.retain(|f| f.name != "trans_id");
        let mut short = full.clone();
        short.fields.pop();
        let mut r = Renderer::default();
        let (a, _) = r.render(&full);
        let (b, _) = r.render(&short);
        let (c, _) = r.render(&full);
        assert!(Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(b.len() + 1, a.len());
    }

    #[test]
    fn rows_adapt_to_foreign_column_types() {
        let (cols, row) = render(&rec());
        let mut actual: HashMap<String, ChType> = cols
            .iter()
            .map(|(c, t)| (c.clone(), ChType::parse(t)))
            .collect();
        let row = std::str::from_utf8(&row).unwrap();
        assert!(reconcile(row, &cols, &actual).is_none());
        actual.insert("id.orig_p".into(), ChType::parse("Nullable(String)"));
        actual.insert("id.orig_h".into(), ChType::parse("Nullable(UInt32)"));
        let fixed: Json = serde_json::from_slice(&reconcile(row, &cols, &actual).unwrap()).unwrap();
        assert_eq!(fixed["id.orig_p"], "53");
        assert_eq!(fixed["id.orig_h"], Json::Null);
        let inv: Json = serde_json::from_str(fixed["_invalid"].as_str().unwrap()).unwrap();
        assert_eq!(inv["id.orig_h"], "10.0.0.1");
        assert_eq!(inv["trans_id"], "x1");
    }
}
