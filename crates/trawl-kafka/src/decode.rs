//! Kafka message payloads to events: Zeek JSON (plain or `tag_json`-wrapped), headerless TSV
//! rows under a configured schema, and anything else [`LogReader`] reads (TSV with its header
//! block, several JSON lines, dnsmasq lines).

use std::sync::Arc;

use trawl_stream::Event;
use trawl_zeek::json::{to_record, Parser};
use trawl_zeek::{Header, Item, LogReader};

use crate::config::TopicFormat;

/// Appends the records of one message to `out`, and the problems of values that do not match
/// their type (the records are kept, the values as read) to `problems`; the reason when the
/// message holds no record.
pub fn decode(
    payload: &[u8],
    topic: &str,
    format: &TopicFormat,
    out: &mut Vec<Event>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let log_type = format.log_type.as_deref().unwrap_or(topic);
    let text = trim(payload);
    if text.is_empty() {
        return Err("empty message".into());
    }
    // The common case first: one JSON object a message, as the Zeek Kafka plugin writes.
    if text[0] == b'{' {
        // Kept as read when writing it back would say the same (most Zeek JSON does).
        if let Some(flat) = trawl_zeek::json::line::scan(text) {
            let path = flat.log_type(text, log_type).into();
            out.push(Event::json(text.to_vec(), flat, path));
            return Ok(());
        }
        let mut found = Vec::new();
        if let Ok(doc) = Parser::new(text).parse_document() {
            let result = to_record(doc, log_type, 1, &mut found);
            problems.extend(found.into_iter().map(|p| p.reason));
            return match result {
                Ok(rec) => {
                    out.push(Event::record(rec.into_owned()));
                    Ok(())
                }
                Err(reason) => Err(reason.into()),
            };
        }
    } else if let Some(schema) = &format.tsv {
        if text[0] != b'#' && !text.contains(&b'\n') {
            return tsv_row(schema.header(), text, out, problems);
        }
    }
    any_format(text, log_type, out, problems)
}

fn tsv_row(
    header: &Arc<Header>,
    line: &[u8],
    out: &mut Vec<Event>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let n = trawl_zeek::header::split(line, &header.separator).count();
    if n != header.fields.len() {
        return Err(format!(
            "TSV row has {n} fields, the {} schema {}",
            header.path.as_deref().unwrap_or("?"),
            header.fields.len()
        ));
    }
    // Parsed now rather than kept as a raw row: the row has no header block of its own that a
    // TSV sink could write it back under.
    let mut found = Vec::new();
    let rec = trawl_zeek::tsv::decode_row(header, line, 1, &mut found).into_owned();
    problems.extend(found.into_iter().map(|p| p.reason));
    out.push(Event::record(rec));
    Ok(())
}

fn any_format(
    text: &[u8],
    log_type: &str,
    out: &mut Vec<Event>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let mut reader = LogReader::new(text).default_path(log_type);
    let before = out.len();
    let mut bad = None;
    for item in reader.records() {
        match item {
            Ok(Item::Record {
                line,
                record,
                problems: found,
            }) => {
                // Line numbers count within the message.
                problems.extend(found.into_iter().map(|p| match line {
                    1 => p.reason,
                    n => format!("line {n}: {}", p.reason),
                }));
                out.push(Event::record(record));
            }
            Ok(Item::Bad { reason, .. }) => {
                bad.get_or_insert(reason);
            }
            Err(e) => {
                bad.get_or_insert(e.to_string());
            }
        }
    }
    match bad {
        // Part of a message is still a loss worth a warning; what was read is kept.
        Some(reason) if out.len() == before => Err(reason),
        Some(reason) => {
            tracing::debug!(reason, "message partly unreadable");
            Ok(())
        }
        None if out.len() == before => Err("no record in message".into()),
        None => Ok(()),
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TsvSchema;
    use trawl_zeek::Value;

    fn one(payload: &str, topic: &str, format: &TopicFormat) -> Result<Event, String> {
        let mut out = Vec::new();
        decode(payload.as_bytes(), topic, format, &mut out, &mut Vec::new())?;
        assert_eq!(out.len(), 1, "{out:?}");
        Ok(out.pop().unwrap())
    }

    fn str_of(e: &Event, name: &str) -> String {
        match e.get(name) {
            Some(Value::Str(s)) => String::from_utf8_lossy(&s).into_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn json_plain_tagged_and_defaulted() {
        let f = TopicFormat::default();
        let e = one(r#"{"_path":"dns","ts":1.5,"query":"a.com"}"#, "t", &f).unwrap();
        assert_eq!(e.log_type(), "dns");
        assert_eq!(e.get("ts"), Some(Value::Time(1_500_000_000)));
        let e = one(r#" {"dns": {"ts":1.5,"query":"b.com"}}"#, "t", &f).unwrap();
        assert_eq!(
            (e.log_type(), str_of(&e, "query").as_str()),
            ("dns", "b.com")
        );
        let e = one(r#"{"ts":1.5,"query":"c.com"}"#, "zeek-dns", &f).unwrap();
        assert_eq!(e.log_type(), "zeek-dns");
        let f = TopicFormat {
            log_type: Some("dns".into()),
            tsv: None,
        };
        assert_eq!(
            one(r#"{"query":"c.com"}"#, "raw", &f).unwrap().log_type(),
            "dns"
        );
    }

    #[test]
    fn tsv_rows_need_a_schema_or_a_header() {
        let schema = TsvSchema::new("dns", "ts\tuid\tquery", None).unwrap();
        let f = TopicFormat {
            log_type: None,
            tsv: Some(schema),
        };
        let e = one("1.5\tCabc\tx.com\n", "raw", &f).unwrap();
        assert_eq!(
            (e.log_type(), str_of(&e, "query").as_str()),
            ("dns", "x.com")
        );
        assert!(one("1.5\tCabc", "raw", &f)
            .unwrap_err()
            .contains("2 fields"));
        assert!(one("1.5\tCabc\tx.com", "raw", &TopicFormat::default()).is_err());
        let block =
            "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\n2.0\tCx\n";
        let e = one(block, "raw", &TopicFormat::default()).unwrap();
        assert_eq!((e.log_type(), str_of(&e, "uid").as_str()), ("conn", "Cx"));
    }

    #[test]
    fn value_problems_are_reported_and_the_record_kept() {
        let problems = |payload: &str, format: &TopicFormat| {
            let (mut out, mut found) = (Vec::new(), Vec::new());
            decode(payload.as_bytes(), "raw", format, &mut out, &mut found).unwrap();
            assert_eq!(out.len(), 1);
            found
        };
        let schema = TsvSchema::new("dns", "ts\tuid\tquery", Some("time\tstring\tstring")).unwrap();
        let f = TopicFormat {
            log_type: None,
            tsv: Some(schema),
        };
        // A headerless row under the configured schema, a JSON record, a block with a header.
        let p = problems("notatime\tCabc\tx.com", &f);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("ts"), "{p:?}");
        let p = problems(
            "{\"ts\":\"not a time\",\"query\":\"x.com\"}",
            &TopicFormat::default(),
        );
        assert_eq!(p.len(), 1, "{p:?}");
        let block =
            "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\nbad\tCx\n";
        let p = problems(block, &TopicFormat::default());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("line 5: "), "{p:?}");
    }

    #[test]
    fn bad_messages_are_reasons_not_panics() {
        let f = TopicFormat::default();
        for bad in [
            "",
            "  \n",
            "{\"a\":",
            "[1,2]",
            "\u{0}\u{1}garbage",
            "{\"dns\": 5",
        ] {
            assert!(one(bad, "t", &f).is_err(), "{bad:?}");
        }
        let mut out = Vec::new();
        decode(
            b"{\"a\":1}\n{\"b\":2}\n",
            "t",
            &f,
            &mut out,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(out.len(), 2);
    }
}
