//! The lenient JSON parser and record conversion over any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trawl_zeek::json::{to_record, Parser};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Parser::new(data).parse_document() {
        if let Ok(rec) = to_record(doc, "x", 1, &mut Vec::new()) {
            let mut out = Vec::new();
            rec.write_json(&mut out);
            let mut w = trawl_zeek::write::ZeekTsvWriter::new("x");
            w.write(&rec, &mut out);
        }
    }
});
