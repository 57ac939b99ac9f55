//! [`Enricher`]: a record in, the fields to add out.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::PathBuf;

use trawl_zeek::time::Nanos;
use trawl_zeek::types::Container;
use trawl_zeek::{Field, Record, Scalar, Value, ZeekType};

use crate::attribution::{Attribution, AttributionConfig, StoreError};
use crate::cache::{Outcome, RedisCache, RedisConfig, RedisConfigError};
use crate::fields::{addr_value, time_of};
use crate::intel::{Hit, Intel};
use crate::inventory::Inventory;
use crate::score::{ModelRef, Scorer, ScorerStats};

const DOUBLE: ZeekType = ZeekType::single(Scalar::Double);
const STRING: ZeekType = ZeekType::single(Scalar::String);
const VEC_STRING: ZeekType = ZeekType {
    container: Container::Vector,
    scalar: Scalar::String,
};
const SET_STRING: ZeekType = ZeekType {
    container: Container::Set,
    scalar: Scalar::String,
};

/// What to enrich with.
#[derive(Debug)]
pub struct EnrichConfig {
    /// Score DNS queries (`phish_score`, `dga_score`).
    pub scores: bool,
    /// Add `score_reasons` too (costs an explanation per distinct name; cached like scores).
    pub reasons: bool,
    /// The model; `None` for the built-in one.
    pub model: Option<ModelRef>,
    /// Names kept in the in-process score cache.
    pub cache_capacity: usize,
    /// The network's own zones (`[networks] local_domains`): names in them are not scored.
    pub site: trawl_score::Site,
    /// A shared score cache, if any.
    pub redis: Option<RedisConfig>,
    /// Learn leases and names from `dhcp` and `known_devices` records passing through.
    pub learn: bool,
    /// Lease tuning.
    pub attribution: AttributionConfig,
    /// Where attribution state is kept across restarts (loaded by [`Enricher::new`], written
    /// by [`Enricher::save`]).
    pub store: Option<PathBuf>,
    /// A static inventory.
    pub inventory: Option<Inventory>,
    /// Intel indicators.
    pub intel: Option<Intel>,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            scores: true,
            reasons: false,
            model: None,
            site: trawl_score::Site::default(),
            // ~100 bytes a name: about 25 MB when full.
            cache_capacity: 1 << 18,
            redis: None,
            learn: true,
            attribution: AttributionConfig::default(),
            store: None,
            inventory: None,
            intel: None,
        }
    }
}

/// Why an [`Enricher`] could not be built or its state saved.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The built-in model did not load.
    #[error(transparent)]
    Model(#[from] trawl_score::ModelError),
    /// The Redis URL is wrong (an unreachable server is not an error).
    #[error(transparent)]
    Redis(#[from] RedisConfigError),
    /// The attribution store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The fields an [`Enricher`] adds, by log type: what an output declares before its first
/// record, so that one file has one schema whichever records get which fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    scores: bool,
    reasons: bool,
    owner: bool,
    intel: bool,
}

impl Schema {
    /// Every field that may be added to a record of `log_type` whose own fields are `own`,
    /// in the order they are added; fields the record has are never added.
    pub fn declared(&self, log_type: &str, own: &[String]) -> Vec<(&'static str, ZeekType)> {
        let has = |n: &str| own.iter().any(|f| f == n);
        let mut out = Vec::new();
        if self.scores && log_type == "dns" && has("query") {
            out.push(("phish_score", DOUBLE));
            out.push(("dga_score", DOUBLE));
            if self.reasons {
                out.push(("score_reasons", VEC_STRING));
            }
        }
        let dhcp = log_type == "dhcp"
            && ["client_addr", "assigned_addr", "assigned_ip"]
                .iter()
                .any(|n| has(n));
        if dhcp || has("id.orig_h") {
            out.push(("mac", STRING));
            out.push(("workstation", STRING));
            if self.owner {
                out.push(("owner", STRING));
            }
        }
        if self.intel {
            out.push(("intel.indicator", VEC_STRING));
            out.push(("intel.indicator_type", VEC_STRING));
            out.push(("intel.where", VEC_STRING));
            out.push(("intel.source", SET_STRING));
        }
        out.retain(|(n, _)| !has(n));
        out
    }
}

/// Adds scores, host attribution and intel matches to records.
#[derive(Debug)]
pub struct Enricher {
    scorer: Option<Scorer>,
    attribution: Attribution,
    intel: Option<Intel>,
    learn: bool,
    store: Option<PathBuf>,
}

/// What the enricher reads of a record: found in one pass over a [`Record`] by
/// [`Enricher::enrich`], or by a caller that reads them more cheaply (the columns of a raw
/// Zeek TSV row) for [`Enricher::enrich_parts`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parts<'r> {
    /// A DNS record: its `query` is scored.
    pub dns: bool,
    /// `ts`: attribution uses the lease valid then.
    pub ts: Option<Nanos>,
    /// The address to attribute: `id.orig_h` (a DHCP record's client address).
    pub addr: Option<IpAddr>,
    /// `query` (DNS records).
    pub query: Option<&'r [u8]>,
    /// The record has a `mac` field of its own (so none is added).
    pub has_mac: bool,
}

fn seen<'r>(rec: &'r Record<'_>) -> Parts<'r> {
    let mut s = Parts::default();
    let mut client = None;
    let dns = rec.path == "dns";
    let dhcp = rec.path == "dhcp";
    // Only DHCP and known_devices records may carry `mac`; the others can stop early (in DNS
    // records `query` comes after `ts` and `id.orig_h`, ten fields in, of twenty-four).
    let whole = dhcp || rec.path == "known_devices";
    for f in &rec.fields {
        match &*f.name {
            "ts" => {
                s.ts = match &f.value {
                    Value::Time(t) => Some(*t),
                    _ => time_of(rec, "ts"),
                }
            }
            "id.orig_h" => s.addr = addr_value(&f.value),
            "query" => {
                if let Value::Str(q) = &f.value {
                    s.query = Some(q);
                }
            }
            "client_addr" if dhcp => client = addr_value(&f.value),
            "assigned_addr" | "assigned_ip" if dhcp && client.is_none() => {
                client = addr_value(&f.value)
            }
            "mac" => s.has_mac = true,
            _ => continue,
        }
        if !whole && s.ts.is_some() && s.addr.is_some() && (!dns || s.query.is_some()) {
            break;
        }
    }
    s.dns = dns;
    s.addr = s.addr.or(client);
    s
}

fn field(name: &'static str, ty: ZeekType, value: Value<'static>) -> Field<'static> {
    Field {
        name: Cow::Borrowed(name),
        ty,
        value,
    }
}

fn text(s: &str) -> Value<'static> {
    Value::Str(Cow::Owned(s.as_bytes().to_vec()))
}

/// Scores as written: four decimals, like `trawl score`, so outputs stay short and stable.
pub fn round_score(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

impl Enricher {
    /// Builds an enricher: loads the attribution store if one is named, prepares the caches.
    pub fn new(config: EnrichConfig) -> Result<Self, EnrichError> {
        let scorer = if config.scores {
            let model = match config.model {
                Some(m) => m,
                None => ModelRef::Static(trawl_score::Model::builtin()?),
            };
            // Instances with other zones must not share cached outcomes.
            let fp = model.fingerprint() ^ config.site.fingerprint();
            let mut s =
                Scorer::new(model, config.cache_capacity, config.reasons).with_site(config.site);
            if let Some(r) = config.redis {
                s = s.with_shared(Box::new(RedisCache::new(r, fp)?));
            }
            Some(s)
        } else {
            None
        };
        let mut attribution = match &config.store {
            Some(p) => Attribution::load(p, config.attribution)?,
            None => Attribution::new(config.attribution),
        };
        if let Some(inv) = config.inventory {
            attribution.set_inventory(inv);
        }
        Ok(Enricher {
            scorer,
            attribution,
            intel: config.intel.filter(|i| !i.is_empty()),
            learn: config.learn,
            store: config.store,
        })
    }

    /// The attribution state (to observe or look up directly).
    pub fn attribution(&mut self) -> &mut Attribution {
        &mut self.attribution
    }

    /// Scorer counters (cache hits, misses, errors), if scoring.
    pub fn scorer_stats(&self) -> Option<ScorerStats> {
        self.scorer.as_ref().map(Scorer::stats)
    }

    /// Writes attribution changes since the last save to the store, if one was configured;
    /// call it after each committed batch. Returns addresses and MACs written.
    pub fn save(&mut self) -> Result<usize, StoreError> {
        match &self.store {
            Some(p) => self.attribution.save(p),
            None => Ok(0),
        }
    }

    /// The fields to add to one record.
    pub fn enrich(&mut self, rec: &Record<'_>) -> Vec<Field<'static>> {
        let mut out = Vec::new();
        self.enrich_into(rec, &mut out);
        out
    }

    /// [`Enricher::enrich`] appending to a vector the caller reuses.
    pub fn enrich_into(&mut self, rec: &Record<'_>, out: &mut Vec<Field<'static>>) {
        if self.learn {
            self.attribution.observe(rec);
        }
        self.add_fields(rec, out);
    }

    /// The fields to add to each record of a batch: learns from the batch's DHCP and
    /// known_devices records first (attribution is by each record's own time, so order
    /// within the batch does not matter), then scores every distinct DNS name with one
    /// shared-cache round trip.
    pub fn enrich_batch(&mut self, recs: &[Record<'_>]) -> Vec<Vec<Field<'static>>> {
        if self.learn {
            for r in recs {
                self.attribution.observe(r);
            }
        }
        if let Some(s) = self.scorer.as_mut() {
            s.prefetch(recs.iter().filter(|r| r.path == "dns").filter_map(
                |r| match r.get("query") {
                    Some(Value::Str(q)) => std::str::from_utf8(q).ok(),
                    _ => None,
                },
            ));
        }
        recs.iter()
            .map(|r| {
                let mut out = Vec::new();
                self.add_fields(r, &mut out);
                out
            })
            .collect()
    }

    /// Whether records of `log_type` must be whole [`Record`]s (given to
    /// [`Enricher::learn`], then [`Enricher::enrich_learned`]; or to
    /// [`Enricher::enrich_batch`]): intel looks at every field, DHCP and known_devices records
    /// teach attribution and are attributed by their client address. Others can use
    /// [`Enricher::enrich_parts`].
    pub fn needs_record(&self, log_type: &str) -> bool {
        self.intel.is_some() || matches!(log_type, "dhcp" | "known_devices")
    }

    /// Every field this enricher may add to a record of `log_type` whose own fields are
    /// `own`, in the order it adds them ([`Schema::declared`]).
    pub fn declared(&self, log_type: &str, own: &[String]) -> Vec<(&'static str, ZeekType)> {
        self.schema().declared(log_type, own)
    }

    /// What this enricher adds, as a value to hand to outputs (it holds no state).
    pub fn schema(&self) -> Schema {
        Schema {
            scores: self.scorer.is_some(),
            reasons: self.scorer.as_ref().is_some_and(Scorer::reasons),
            owner: self.attribution.has_inventory(),
            intel: self.intel.is_some(),
        }
    }

    /// Whether intel indicators are matched (records are then read whole).
    pub fn has_intel(&self) -> bool {
        self.intel.is_some()
    }

    /// Whether scores are shared through a cache worth a [`Enricher::prefetch`] per batch.
    pub fn shares_scores(&self) -> bool {
        self.scorer.as_ref().is_some_and(Scorer::has_shared)
    }

    /// Looks up a batch of DNS names in the shared score cache at once (one round trip), so
    /// the [`Enricher::enrich_parts`] calls that follow find them in process. Does nothing
    /// without a shared cache.
    pub fn prefetch<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        if let Some(s) = self.scorer.as_mut() {
            s.prefetch(names);
        }
    }

    /// The fields to add to a record known by its [`Parts`]: scores and host attribution
    /// (not intel, and nothing is learned: see [`Enricher::needs_record`]).
    pub fn enrich_parts(&mut self, p: &Parts<'_>, out: &mut Vec<Field<'static>>) {
        if p.dns {
            if let (Some(scorer), Some(q)) = (self.scorer.as_mut(), p.query) {
                if let Ok(q) = std::str::from_utf8(q) {
                    if scorer.reasons() {
                        let e = scorer.score(q);
                        push_scores(e.outcome, out);
                        if let Some(r) = e.reasons.as_ref().filter(|r| !r.is_empty()) {
                            let list = r.iter().map(|x| text(x)).collect();
                            out.push(field("score_reasons", VEC_STRING, Value::List(list)));
                        }
                    } else {
                        push_scores(scorer.outcome(q), out);
                    }
                }
            }
        }
        if let (Some(ip), Some(ts)) = (p.addr, p.ts) {
            if let Some(h) = self.attribution.lookup(ip, ts) {
                if let Some(m) = h.mac.filter(|_| !p.has_mac) {
                    out.push(field("mac", STRING, text(m)));
                }
                if let Some(w) = h.workstation {
                    out.push(field("workstation", STRING, text(w)));
                }
                if let Some(o) = h.owner {
                    out.push(field("owner", STRING, text(o)));
                }
            }
        }
    }

    /// Learns leases and names from a DHCP or known_devices record (when learning is on);
    /// other records teach nothing. [`Enricher::enrich_batch`] does this for its batch.
    pub fn learn(&mut self, rec: &Record<'_>) {
        if self.learn {
            self.attribution.observe(rec);
        }
    }

    /// Holds attribution's pruning back while a batch is learned and looked up (`true`), then
    /// lets it catch up (`false`).
    pub fn hold_pruning(&mut self, on: bool) {
        self.attribution.hold_pruning(on);
    }

    /// What [`Enricher::enrich_parts`] needs of a record, read in one pass.
    pub fn parts<'r>(rec: &'r Record<'_>) -> Parts<'r> {
        seen(rec)
    }

    /// [`Enricher::enrich_into`] without learning: for records already given to
    /// [`Enricher::learn`] (batches learn first, so order within a batch does not matter).
    pub fn enrich_learned(&mut self, rec: &Record<'_>, out: &mut Vec<Field<'static>>) {
        self.add_fields(rec, out);
    }

    fn add_fields(&mut self, rec: &Record<'_>, out: &mut Vec<Field<'static>>) {
        let p = seen(rec);
        self.enrich_parts(&p, out);
        if let Some(intel) = &self.intel {
            let hits = intel.matches_record(rec);
            if !hits.is_empty() {
                intel_fields(&hits, out);
            }
        }
    }
}

fn push_scores(o: Outcome, out: &mut Vec<Field<'static>>) {
    if let Outcome::Scored { phish, dga } = o {
        out.push(field(
            "phish_score",
            DOUBLE,
            Value::Double(round_score(phish)),
        ));
        out.push(field("dga_score", DOUBLE, Value::Double(round_score(dga))));
    }
}

/// `intel.indicator`, `intel.indicator_type`, `intel.where` (parallel vectors, one element a
/// hit) and `intel.source` (the union of the hits' sources).
fn intel_fields(hits: &[Hit<'_>], out: &mut Vec<Field<'static>>) {
    let mut sources: Vec<&str> = Vec::new();
    for h in hits {
        for s in &h.indicator.sources {
            if !sources.contains(&&**s) {
                sources.push(s);
            }
        }
    }
    let list = |f: &dyn Fn(&Hit<'_>) -> Value<'static>| Value::List(hits.iter().map(f).collect());
    out.push(field(
        "intel.indicator",
        VEC_STRING,
        list(&|h| text(&h.indicator.indicator)),
    ));
    out.push(field(
        "intel.indicator_type",
        VEC_STRING,
        list(&|h| text(h.indicator.kind.name())),
    ));
    out.push(field(
        "intel.where",
        VEC_STRING,
        list(&|h| {
            if h.parent {
                text(&format!("{}:parent-domain", h.field))
            } else {
                text(h.field)
            }
        }),
    ));
    out.push(field(
        "intel.source",
        SET_STRING,
        Value::List(sources.into_iter().map(text).collect()),
    ));
}
