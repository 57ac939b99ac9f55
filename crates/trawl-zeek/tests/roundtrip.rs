//! Property tests: random records written as Zeek TSV with random separators and markers read
//! back to the same values; any bytes read without panicking.

use proptest::prelude::*;
use trawl_zeek::write::ZeekTsvWriter;
use trawl_zeek::{
    Container, Event, LogReader, Record, Scalar, TsvEvent, TsvReader, Value, ZeekType,
};

fn scalar_value(s: Scalar) -> BoxedStrategy<Value<'static>> {
    match s {
        Scalar::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Scalar::Count => any::<u64>().prop_map(Value::Count).boxed(),
        Scalar::Int => any::<i64>().prop_map(Value::Int).boxed(),
        Scalar::Port => any::<u16>().prop_map(Value::Port).boxed(),
        // Zeek writes six decimals: generate values that survive that.
        Scalar::Time => (-4_000_000_000_000_000i64..4_000_000_000_000_000)
            .prop_map(|us| Value::Time(us * 1000))
            .boxed(),
        Scalar::Double => (-1_000_000_000i64..1_000_000_000)
            .prop_map(|v| Value::Double(v as f64 / 1000.0))
            .boxed(),
        Scalar::Addr => any::<[u8; 16]>()
            .prop_map(|b| {
                if b[0] % 2 == 0 {
                    Value::Addr(std::net::Ipv4Addr::new(b[1], b[2], b[3], b[4]).into())
                } else {
                    Value::Addr(std::net::Ipv6Addr::from(b).into())
                }
            })
            .boxed(),
        _ => proptest::collection::vec(
            prop_oneof![
                4 => any::<u8>(),
                1 => Just(b'\\'),
                1 => Just(b'\t'),
                1 => Just(b','),
                1 => Just(b'|'),
            ],
            1..24,
        )
        .prop_map(|v| Value::Str(v.into()))
        .boxed(),
    }
}

const SCALARS: [Scalar; 9] = [
    Scalar::Bool,
    Scalar::Count,
    Scalar::Int,
    Scalar::Port,
    Scalar::Time,
    Scalar::Double,
    Scalar::Addr,
    Scalar::String,
    Scalar::Enum,
];

fn field() -> impl Strategy<Value = (ZeekType, Value<'static>)> {
    (0..SCALARS.len(), 0..4u8, any::<bool>()).prop_flat_map(|(i, c, unset)| {
        let s = SCALARS[i];
        let container = [
            Container::Single,
            Container::Set,
            Container::Vector,
            Container::Single,
        ][c as usize];
        let ty = ZeekType {
            container,
            scalar: s,
        };
        let v: BoxedStrategy<Value<'static>> = if unset {
            Just(Value::Unset).boxed()
        } else if container == Container::Single {
            scalar_value(s)
        } else {
            proptest::collection::vec(scalar_value(s), 0..4)
                .prop_map(Value::List)
                .boxed()
        };
        v.prop_map(move |v| (ty, v))
    })
}

fn markers() -> impl Strategy<Value = (&'static [u8], &'static [u8])> {
    prop_oneof![
        Just((&b"\t"[..], &b","[..])),
        Just((&b"|"[..], &b","[..])),
        Just((&b"||"[..], &b";"[..])),
        Just((&b","[..], &b"\xc2\xae"[..])),
        Just(("\u{2016}".as_bytes(), &b"::"[..])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn records_round_trip(fields in proptest::collection::vec(field(), 1..8), (sep, set_sep) in markers()) {
        let mut rec = Record::new("test");
        for (i, (ty, v)) in fields.iter().enumerate() {
            rec.push(format!("f{i}"), *ty, v.clone());
        }
        let mut w = ZeekTsvWriter::new("2026-01-01-00-00-00").with_markers(sep, set_sep, b"(empty)", b"-");
        let mut out = Vec::new();
        w.write(&rec, &mut out);
        w.write(&rec, &mut out);
        w.close(&mut out);

        let mut r = TsvReader::new(&out[..]);
        let mut rows = 0;
        while let Some(ev) = r.next_event().unwrap() {
            if let TsvEvent::Row(row) = ev {
                let mut problems = Vec::new();
                let back = row.to_record(&mut problems);
                prop_assert!(problems.is_empty(), "{problems:?}\n{}", String::from_utf8_lossy(&out));
                for (a, b) in rec.fields.iter().zip(&back.fields) {
                    // An empty string is written as `(empty)`, which Zeek reads back as empty.
                    let expect = match &a.value {
                        Value::List(v) if v.len() == 1 && matches!(&v[0], Value::Str(s) if s.is_empty()) => Value::List(vec![]),
                        v => v.clone(),
                    };
                    prop_assert_eq!(&expect, &b.value, "field {} of {}", a.name, String::from_utf8_lossy(&out));
                }
                rows += 1;
            }
        }
        prop_assert_eq!(rows, 2);
    }

    #[test]
    fn any_bytes_are_read_without_panic(data in proptest::collection::vec(prop_oneof![
        8 => any::<u8>(), 2 => Just(b'\n'), 2 => Just(b'\t'), 1 => Just(b'#'), 1 => Just(b'{'), 1 => Just(b'"')
    ], 0..600)) {
        let mut prefixed = b"#separator \\x09\n#fields\ta\tb\n#types\ttime\tset[addr]\n".to_vec();
        prefixed.extend_from_slice(&data);
        for input in [&data[..], &prefixed[..]] {
            let mut r = LogReader::new(input);
            while let Some(ev) = r.next_event().unwrap() {
                if let Event::Row(row) = ev {
                    let _ = row.to_record(&mut Vec::new());
                }
            }
        }
    }
}
