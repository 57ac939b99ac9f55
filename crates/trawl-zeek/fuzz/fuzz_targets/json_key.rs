//! The scan's JSON key finder (trawl-query `count_values`) against the full parser: where the
//! finder answers without the parser, its answer must be the parser's.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    trawl_query::scan::check_against_parser(data, "query");
    trawl_query::scan::check_against_parser(data, "a");
});
