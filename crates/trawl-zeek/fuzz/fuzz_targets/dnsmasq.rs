//! The dnsmasq line parser and query joiner over any lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trawl_zeek::dnsmasq::DnsmasqReader;

fuzz_target!(|data: &[u8]| {
    let mut d = DnsmasqReader::new(1_700_000_000_000_000_000);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let _ = DnsmasqReader::looks_like(line);
        d.push(i as u64 + 1, line, &mut out, &mut problems);
    }
    d.finish(&mut out);
});
