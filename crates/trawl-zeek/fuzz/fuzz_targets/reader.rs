//! The format-detecting reader over any bytes, as `trawl cat` uses it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trawl_zeek::{Event, LogReader};

fuzz_target!(|data: &[u8]| {
    let mut r = LogReader::new(data);
    while let Ok(Some(ev)) = r.next_event() {
        match ev {
            Event::Row(row) => {
                let _ = row.to_record(&mut Vec::new());
            }
            Event::Record { record, .. } => {
                let mut out = Vec::new();
                record.write_json(&mut out);
            }
            _ => {}
        }
    }
});
