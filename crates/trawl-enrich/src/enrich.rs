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

/// Adds scores, host attribution and intel matches to records.
#[derive(Debug)]
pub struct Enricher {
    scorer: Option<Scorer>,
    attribution: Attribution,
    intel: Option<Intel>,
    learn: bool,
    store: Option<PathBuf>,
}

/// The fields of a record the enricher reads, found in one pass.
#[derive(Default)]
struct Seen<'r> {
    ts: Option<Nanos>,
    orig: Option<IpAddr>,
    client: Option<IpAddr>,
    query: Option<&'r [u8]>,
    has_mac: bool,
}

fn seen<'r>(rec: &'r Record<'_>) -> Seen<'r> {
    let mut s = Seen::default();
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
            "id.orig_h" => s.orig = addr_value(&f.value),
            "query" => {
                if let Value::Str(q) = &f.value {
                    s.query = Some(q);
                }
            }
            "client_addr" if dhcp => s.client = addr_value(&f.value),
            "assigned_addr" | "assigned_ip" if dhcp && s.client.is_none() => {
                s.client = addr_value(&f.value)
            }
            "mac" => s.has_mac = true,
            _ => continue,
        }
        if !whole && s.ts.is_some() && s.orig.is_some() && (!dns || s.query.is_some()) {
            break;
        }
    }
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
fn round(x: f32) -> f64 {
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
            let fp = model.fingerprint();
            let mut s = Scorer::new(model, config.cache_capacity, config.reasons);
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

    fn add_fields(&mut self, rec: &Record<'_>, out: &mut Vec<Field<'static>>) {
        let s = seen(rec);
        if rec.path == "dns" {
            if let (Some(scorer), Some(q)) = (self.scorer.as_mut(), s.query) {
                if let Ok(q) = std::str::from_utf8(q) {
                    let e = scorer.score(q);
                    if let Outcome::Scored { phish, dga } = e.outcome {
                        out.push(field("phish_score", DOUBLE, Value::Double(round(phish))));
                        out.push(field("dga_score", DOUBLE, Value::Double(round(dga))));
                    }
                    if let Some(r) = e.reasons.as_ref().filter(|r| !r.is_empty()) {
                        let list = r.iter().map(|x| text(x)).collect();
                        out.push(field("score_reasons", VEC_STRING, Value::List(list)));
                    }
                }
            }
        }
        if let (Some(ip), Some(ts)) = (s.orig.or(s.client), s.ts) {
            if let Some(h) = self.attribution.lookup(ip, ts) {
                if let Some(m) = h.mac.filter(|_| !s.has_mac) {
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
        if let Some(intel) = &self.intel {
            let hits = intel.matches_record(rec);
            if !hits.is_empty() {
                intel_fields(&hits, out);
            }
        }
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
