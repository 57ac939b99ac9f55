//! # trawl-enrich
//!
//! Adds to Zeek and dnsmasq records what an analyst wants next to them. Plain inputs in
//! ([`trawl_zeek::Record`]s), fields out: the caller (the `trawl run` pipeline, a test, a
//! tool) decides where records come from and where they go.
//!
//! - **Scores** ([`score`], [`cache`]): DNS records (`path == "dns"`, field `query`) get
//!   `phish_score` and `dga_score` (double, four decimals) from `trawl-score`, and
//!   `score_reasons` (vector[string]) when reasons are on. Each distinct name is scored once:
//!   an in-process bounded cache, optionally backed by Redis shared by many instances, with
//!   keys `trawl:score:v1:{model fingerprint}:{name}` and a TTL, one round trip per batch.
//!   Redis trouble is counted and never fatal.
//! - **Host attribution** ([`attribution`], [`inventory`]): any record with `id.orig_h`
//!   (or a DHCP record's `client_addr`/`assigned_addr`) gets `mac`, `workstation` and, from
//!   the inventory, `owner` — attributed with the DHCP lease valid at the record's own `ts`.
//!   Leases and names are learned from `dhcp` and `known_devices` records passing through
//!   and persist in one SQLite file, saved incrementally.
//! - **Intel** ([`intel`]): Zeek intel-framework files; names (exactly or as a subdomain),
//!   addresses and subnets, file hashes and more; matches add `intel.indicator`,
//!   `intel.indicator_type`, `intel.where` (parallel vectors, one element a hit; `where` is
//!   the field, with `:parent-domain` when a subdomain matched) and `intel.source` (set).
//!
//! Fields the record already has are not added twice (a DHCP record keeps its own `mac`).
//!
//! [`transform::Enrich`] is the same as a `trawl run` pipeline step (a trawl-stream
//! `Transform`), reading raw TSV rows and JSON lines for the few fields it needs.
//!
//! ```no_run
//! use trawl_enrich::{EnrichConfig, Enricher};
//! # fn run(records: Vec<trawl_zeek::Record<'static>>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut e = Enricher::new(EnrichConfig {
//!     store: Some("/var/lib/trawl/hosts.sqlite".into()),
//!     ..EnrichConfig::default()
//! })?;
//! for (mut rec, extra) in records.clone().into_iter().zip(e.enrich_batch(&records)) {
//!     rec.fields.extend(extra);
//! }
//! e.save()?; // after the batch is committed downstream
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod attribution;
pub mod cache;
pub mod enrich;
mod fields;
mod front;
pub mod intel;
pub mod inventory;
pub mod score;
pub mod shared;
pub mod transform;

pub use attribution::{Attribution, AttributionConfig, Host, StoreError};
pub use cache::{CacheStats, Entry, LocalCache, Outcome, RedisCache, RedisConfig, ScoreCache};
pub use enrich::{round_score, EnrichConfig, EnrichError, Enricher, Parts, Schema};
pub use fields::{addr_value, normalize_mac, time_value};
pub use intel::{Hit, Indicator, Intel, IntelError, Kind};
pub use inventory::{Inventory, InventoryEntry, InventoryError};
pub use score::{ModelRef, Scorer, ScorerStats};
pub use shared::{SharedLeases, SharedNames, SharedStats};
pub use transform::Enrich;
