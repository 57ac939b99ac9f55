//! The JSON fast path (`json::line`): any line it keeps as read must read the same through
//! its member scan and key finder as through the record parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    trawl_zeek::json::line::check_against_parser(data);
});
