//! The cut hot loop (SIMD splitter, flat-JSON key scanner, header re-mapping) over any bytes,
//! fed in blocks split where the input says, with and without a fork for parallel blocks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trawl_zeek::cut::{CutOptions, Cutter, Headers};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let opts = CutOptions {
        columns: vec!["ts".into(), "query".into(), "id.orig_h".into()],
        negate: flags & 1 == 1,
        headers: [Headers::None, Headers::First, Headers::All][usize::from(flags >> 1) % 3],
        minimal: flags & 8 == 8,
        ofs: (flags & 16 == 16).then(|| b",".to_vec()),
    };
    let mut c = Cutter::new(opts, true, "dns", None);
    let mut out = Vec::new();
    // Whole-line blocks, as the reader hands them out.
    let mut start = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == b'\n' && (i % 7 == 3 || i + 1 == rest.len()) {
            let block = &rest[start..=i];
            if Cutter::is_data_block(block) {
                if let Some(mut f) = c.fork() {
                    let mut o = Vec::new();
                    f.feed_block(block, &mut o);
                    let lines = block.iter().filter(|&&b| b == b'\n').count() as u64;
                    c.join(f, lines);
                    out.extend_from_slice(&o);
                    start = i + 1;
                    continue;
                }
            }
            c.feed_block(block, &mut out);
            start = i + 1;
        }
    }
    c.feed_block(&rest[start..], &mut out);
    c.finish(&mut out);
});
