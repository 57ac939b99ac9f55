//! The TSV reader over any bytes: every row split and every field typed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trawl_zeek::{TsvEvent, TsvReader};

fuzz_target!(|data: &[u8]| {
    // Half the inputs get a valid header so the row and value code is reached quickly.
    let mut input = Vec::new();
    if data.first().is_some_and(|b| b & 1 == 1) {
        input.extend_from_slice(b"#separator \\x09\n#set_separator\t,\n#fields\tts\ta\ts\tv\tn\n#types\ttime\taddr\tset[string]\tvector[interval]\tsubnet\n");
    }
    input.extend_from_slice(data);
    let mut r = TsvReader::new(&input[..]);
    while let Ok(Some(ev)) = r.next_event() {
        if let TsvEvent::Row(row) = ev {
            let rec = row.to_record(&mut Vec::new());
            let mut out = Vec::new();
            rec.write_json(&mut out);
        }
    }
});
