//! Passive DNS for trawl: every answer a network received, kept as facts.
//!
//! A fact is an (rrname, rrtype, rdata) triple with the first and last time it was seen, how
//! many times, and (optionally, capped) which clients asked. [`facts`] turns a DNS record
//! (Zeek's dns.log or a dnsmasq reply, in any format trawl reads) into facts: a CNAME chain
//! hop by hop, the addresses under the chain's last name, NXDOMAIN and NODATA as facts of
//! their own. A [`Batch`] folds facts in memory; a [`Store`] (SQLite, one file) adds batches
//! in one transaction each and answers [`Lookup`]s by name, registered domain, address or
//! network, in a time window. [`PdnsStep`] keeps the store as `trawl run` streams. Output follows the IETF passive DNS Common Output Format
//! ([`Row`] serialises as its fields).

mod fact;
mod step;
mod store;

pub use fact::{facts, Batch, Fact, NODATA, NXDOMAIN};
pub use step::PdnsStep;
pub use store::{Fingerprint, Imported, Lookup, Row, Store, StoreError, Target, Writer};
