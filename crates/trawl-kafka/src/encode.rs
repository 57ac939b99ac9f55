//! Events to Kafka messages: Zeek JSON, optionally `tag_json`-wrapped; topic names from a
//! template; keys from a field.

use std::ops::Range;

use trawl_stream::Event;
use trawl_zeek::value::write_json_str;
use trawl_zeek::Value;

/// One encoded message: its topic and byte ranges of a shared buffer.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub topic: String,
    pub key: Option<Range<usize>>,
    pub payload: Range<usize>,
}

/// The topic for `log_type`: `template` with `{log_type}` replaced. Characters Kafka does not
/// allow in topic names become `_`, so an odd log type cannot make every write fail.
pub(crate) fn topic_for(template: &str, log_type: &str) -> String {
    if !template.contains("{log_type}") {
        return template.to_string();
    }
    let safe: String = log_type
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    template.replace("{log_type}", &safe)
}

/// Appends the message for `event` to `buf`.
pub(crate) fn encode(
    event: &Event,
    tag_json: bool,
    key_field: Option<&str>,
    topic_template: &str,
    buf: &mut Vec<u8>,
) -> Encoded {
    let key = key_field.and_then(|k| {
        let start = buf.len();
        match event.get(k)? {
            Value::Unset => return None,
            Value::Str(s) => buf.extend_from_slice(&s),
            v => v.write_json(buf),
        }
        Some(start..buf.len())
    });
    let log_type = event.log_type();
    let start = buf.len();
    if tag_json {
        // `{"dns": {...}}` as the Zeek Kafka plugin writes it: the log type is the key, so the
        // inner object goes without `_path`.
        buf.push(b'{');
        write_json_str(buf, log_type.as_bytes());
        buf.push(b':');
        let inner = buf.len();
        event.write_json(buf);
        let mut path = Vec::with_capacity(log_type.len() + 12);
        path.extend_from_slice(b"{\"_path\":");
        write_json_str(&mut path, log_type.as_bytes());
        let cut = inner + path.len();
        let end = if buf.get(cut) == Some(&b',') {
            cut + 1
        } else {
            cut
        };
        buf.drain(inner + 1..end);
        buf.push(b'}');
    } else {
        event.write_json(buf);
    }
    Encoded {
        topic: topic_for(topic_template, log_type),
        key,
        payload: start..buf.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::{Record, Scalar, ZeekType};

    fn event() -> Event {
        let mut r = Record::new("dns");
        r.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(1_500_000_000),
        );
        r.push(
            "uid",
            ZeekType::single(Scalar::String),
            Value::Str(b"Cx1"[..].into()),
        );
        let mut e = Event::record(r);
        e.add(
            "score",
            ZeekType::single(Scalar::Double),
            Value::Double(0.5),
        );
        e
    }

    fn text(buf: &[u8], r: &Range<usize>) -> String {
        String::from_utf8(buf[r.clone()].to_vec()).unwrap()
    }

    #[test]
    fn json_lines_kept_as_read_are_tagged_without_their_path() {
        for line in [
            &br#"{"ts":1.5,"_path":"dns","uid":"C1"}"#[..],
            br#"{"ts":1.5}"#,
        ] {
            let flat = trawl_zeek::json::line::scan(line).unwrap();
            let e = Event::json(line.to_vec(), flat, "dns".into());
            let mut buf = Vec::new();
            let t = encode(&e, true, None, "z", &mut buf);
            let v: serde_json::Value = serde_json::from_slice(&buf[t.payload]).unwrap();
            assert_eq!(v["dns"]["ts"], 1.5, "{v}");
            assert!(v["dns"].get("_path").is_none(), "{v}");
        }
    }

    #[test]
    fn plain_and_tagged_json_round_trip() {
        let mut buf = Vec::new();
        let plain = encode(&event(), false, Some("uid"), "bro-raw", &mut buf);
        let tagged = encode(&event(), true, None, "zeek-{log_type}", &mut buf);
        assert_eq!(text(&buf, &plain.key.unwrap()), "Cx1");
        assert_eq!(plain.topic, "bro-raw");
        assert_eq!(tagged.topic, "zeek-dns");
        assert!(tagged.key.is_none());
        let p = text(&buf, &plain.payload);
        let t = text(&buf, &tagged.payload);
        assert!(p.starts_with(r#"{"_path":"dns","ts":1.500000"#), "{p}");
        assert!(t.starts_with(r#"{"dns":{"ts":1.500000,"uid":"Cx1""#), "{t}");
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["dns"]["score"], 0.5);
        for payload in [p, t] {
            let mut out = Vec::new();
            crate::decode::decode(
                payload.as_bytes(),
                "x",
                &Default::default(),
                &mut out,
                &mut Vec::new(),
            )
            .unwrap();
            assert_eq!(out[0].log_type(), "dns");
            assert_eq!(out[0].get("score"), Some(Value::Double(0.5)));
        }
    }

    #[test]
    fn writes_what_to_record_writes() {
        let mut tsv = trawl_zeek::Header {
            path: Some("conn".into()),
            ..Default::default()
        };
        tsv.apply(trawl_zeek::header::Directive::Fields, b"ts\tuid");
        tsv.apply(trawl_zeek::header::Directive::Types, b"time\tstring");
        let mut from_tsv = Event::tsv(std::sync::Arc::new(tsv), b"2.5\tCy".to_vec());
        from_tsv.add("n", ZeekType::single(Scalar::Count), Value::Count(3));
        let mut bare = Event::record(Record::new("x"));
        bare.add("unset", ZeekType::single(Scalar::Count), Value::Unset);
        bare.add("n", ZeekType::single(Scalar::Count), Value::Count(3));
        let line = br#"{"ts":1.5,"uid":"Cj","n":2}"#.to_vec();
        let flat = trawl_zeek::json::line::scan(&line).unwrap();
        let mut raw = Event::json(line, flat, "dns".into());
        raw.add("s", ZeekType::single(Scalar::Double), Value::Double(0.5));
        for e in [
            event(),
            from_tsv,
            bare,
            Event::record(Record::new("y")),
            raw,
        ] {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            e.write_json(&mut fast);
            e.view().write_json(&mut slow);
            // A JSON line keeps its own number text (`1.5` for `1.500000`): same values.
            let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
            assert_eq!(parse(&fast), parse(&slow));
        }
    }

    #[test]
    fn empty_records_and_odd_log_types() {
        let mut buf = Vec::new();
        let e = encode(
            &Event::record(Record::new("a/b c")),
            true,
            Some("uid"),
            "z-{log_type}",
            &mut buf,
        );
        assert_eq!(text(&buf, &e.payload), r#"{"a/b c":{}}"#);
        assert_eq!(e.topic, "z-a_b_c");
        assert!(e.key.is_none());
    }
}
