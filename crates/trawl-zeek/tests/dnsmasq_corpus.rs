//! The dnsmasq reader against real dnsmasq 2.90 logs (`$TRAWL_SHARED/corpus/dnsmasq/`), and
//! arbitrary bytes.

use std::path::PathBuf;

use proptest::prelude::*;
use trawl_zeek::dnsmasq::{DnsmasqReader, LineKind};
use trawl_zeek::{Problem, Record, Value};

const FILES: [&str; 2] = [
    "corpus/dnsmasq/DHBW-Coding-wilan_of_shame_backend/dnsmasq.log",
    "corpus/dnsmasq/RonA4-ex1_Evil_Twin/dnsmasq.log",
];

/// The DHCP message types whose lines must each give one DHCP record.
const DHCP_MESSAGES: [&str; 8] = [
    "DHCPDISCOVER(",
    "DHCPOFFER(",
    "DHCPREQUEST(",
    "DHCPACK(",
    "DHCPNAK(",
    "DHCPRELEASE(",
    "DHCPINFORM(",
    "DHCPDECLINE(",
];

fn read_all(data: &[u8]) -> (Vec<Record<'static>>, Vec<Problem>, DnsmasqReader) {
    // 2024-06-30: no year in these files; any reference after June will do.
    let mut r = DnsmasqReader::new(1_719_705_600_000_000_000);
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let text = data.strip_suffix(b"\n").unwrap_or(data);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        r.push(i as u64 + 1, line, &mut out, &mut problems);
    }
    r.finish(&mut out);
    (out, problems, r)
}

#[test]
fn dnsmasq_real_logs() {
    let Some(shared) = std::env::var_os("TRAWL_SHARED") else {
        println!("skipped: TRAWL_SHARED unset");
        return;
    };
    for rel in FILES {
        let path = PathBuf::from(&shared).join(rel);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = String::from_utf8_lossy(&data);
        // Counted independently of the reader: plain substring counts.
        let query_lines = text.lines().filter(|l| l.contains("query[")).count();
        let dhcp_lines = text
            .lines()
            .filter(|l| DHCP_MESSAGES.iter().any(|m| l.contains(m)))
            .count();

        let (out, problems, r) = read_all(&data);
        let dns: Vec<_> = out.iter().filter(|r| r.path == "dns").collect();
        let dhcp: Vec<_> = out.iter().filter(|r| r.path == "dhcp").collect();
        let st = r.stats();
        println!(
            "{rel}: {} lines ({} dns, {} dhcp, {} info, {} not dnsmasq); \
             {} query lines -> {} dns records ({} unanswered, {} with answers), {} orphan answers; \
             {} dhcp message lines -> {} dhcp records ({} with host_name)",
            st.lines,
            st.dns_lines,
            st.dhcp_lines,
            st.info_lines,
            st.not_dnsmasq_lines,
            query_lines,
            dns.len(),
            st.unanswered,
            dns.iter()
                .filter(|r| matches!(r.get("answers"), Some(Value::List(_))))
                .count(),
            st.orphans,
            dhcp_lines,
            dhcp.len(),
            dhcp.iter()
                .filter(|r| matches!(r.get("host_name"), Some(Value::Str(_))))
                .count(),
        );
        assert_eq!(
            dns.len(),
            query_lines,
            "{rel}: one DNS record per query line"
        );
        assert_eq!(st.queries as usize, query_lines);
        assert_eq!(st.dns_records as usize, query_lines);
        assert!(
            dns.iter()
                .all(|r| matches!(r.get("query"), Some(Value::Str(q)) if !q.is_empty())),
            "{rel}: every DNS record has a query"
        );
        assert!(dhcp_lines > 0, "{rel}: the corpus file has DHCP lines");
        assert_eq!(
            dhcp.len(),
            dhcp_lines,
            "{rel}: one DHCP record per DHCP message line"
        );
        assert!(problems.is_empty(), "{rel}: {:?}", problems.first());
        assert_eq!(st.not_dnsmasq_lines, 0);
    }
}

#[test]
fn dnsmasq_sample_file_reads_cleanly() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/dnsmasq/dnsmasq.log");
    let Ok(data) = std::fs::read(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let (out, problems, r) = read_all(&data);
    assert!(problems.is_empty(), "{:?}", problems.first());
    let text = String::from_utf8_lossy(&data);
    let queries = text.lines().filter(|l| l.contains("query[")).count();
    assert_eq!(out.iter().filter(|r| r.path == "dns").count(), queries);
    assert!(out.iter().any(|r| r.path == "dhcp"));
    assert_eq!(
        r.stats().orphans,
        0,
        "every answer line of the sample joins its query"
    );
}

/// Lines that start like dnsmasq output, so the fuzzing reaches past the line head.
fn dnsmasq_like() -> impl Strategy<Value = Vec<u8>> {
    let heads = prop::sample::select(vec![
        "Jun 19 21:30:43 dnsmasq[830]: ",
        "Jun  9 21:30:43 host dnsmasq[830]: ",
        "<30>Jun 19 21:30:43 dnsmasq-dhcp[830]: ",
        "<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - ",
        "2026-11-23T13:29:12.123456+00:00 host dnsmasq[830]: ",
        "dnsmasq: ",
        "dnsmasq-dhcp: 1608555111 ",
        "dnsmasq[1]: 12 192.168.1.5/51234 ",
    ]);
    let bodies = prop::sample::select(vec![
        "query[A] ",
        "query[",
        "reply ",
        "cached ",
        "config ",
        "forwarded ",
        "/etc/hosts ",
        "DHCPACK(",
        "DHCPDISCOVER(eth0) ",
        "sent size: 4 option: 51 lease-time ",
        "client provides name: ",
        "",
    ]);
    let tails = prop::sample::select(vec![
        "a.example is <CNAME>",
        "a.example is 1.2.3.4",
        "1.2.3.4 is host",
        "a.example is NODATA-IPv6",
        "a.example from 10.0.0.1",
        "a.example to 8.8.8.8#53",
        "eth0) 10.0.0.5 aa:bb:cc:dd:ee:ff name",
        "12h",
        "",
    ]);
    (
        heads,
        bodies,
        tails,
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(h, b, t, junk)| {
            let mut l = Vec::new();
            l.extend_from_slice(h.as_bytes());
            l.extend_from_slice(b.as_bytes());
            l.extend_from_slice(t.as_bytes());
            l.extend_from_slice(&junk);
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dnsmasq_arbitrary_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![prop::collection::vec(any::<u8>(), 0..120), dnsmasq_like()],
            0..40,
        ),
        reference in any::<i64>(),
    ) {
        let mut r = DnsmasqReader::new(reference);
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        let mut queries = 0u64;
        for (i, l) in lines.iter().enumerate() {
            let kind = r.push(i as u64 + 1, l, &mut out, &mut problems);
            prop_assert_eq!(kind == LineKind::NotDnsmasq, !DnsmasqReader::looks_like(l));
            queries = r.stats().queries;
        }
        r.finish(&mut out);
        // Never lost: one DNS record per query line, whatever surrounded it.
        prop_assert_eq!(out.iter().filter(|x| x.path == "dns").count() as u64, queries);
        prop_assert_eq!(r.stats().lines, lines.len() as u64);
    }
}
