//! [`Scorer`]: DNS names to scores through two cache tiers, the in-process [`LocalCache`]
//! and an optional shared [`ScoreCache`] (Redis), scoring only what neither holds.

use std::collections::HashSet;
use std::sync::Arc;

use quick_cache::DefaultHashBuilder;

use trawl_score::{Model, Site, Verdict};

use crate::cache::{CacheStats, Entry, LocalCache, Outcome, ScoreCache};
use crate::front::Front;

/// A model shared by reference: the built-in one is `&'static`, a loaded one an `Arc`.
#[derive(Debug, Clone)]
pub enum ModelRef {
    /// [`Model::builtin`].
    Static(&'static Model),
    /// A model loaded from a file.
    Shared(Arc<Model>),
}

impl std::ops::Deref for ModelRef {
    type Target = Model;
    fn deref(&self) -> &Model {
        match self {
            ModelRef::Static(m) => m,
            ModelRef::Shared(m) => m,
        }
    }
}

/// Counters of a [`Scorer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScorerStats {
    /// The in-process cache.
    pub local: CacheStats,
    /// The shared cache, if any.
    pub shared: Option<CacheStats>,
    /// Names run through the model.
    pub scored: u64,
}

/// Scores names, remembering what it scored.
pub struct Scorer {
    model: ModelRef,
    /// The network's own zones: names in them are not scored.
    site: Site,
    local: LocalCache,
    /// Outcomes without reasons, looked up before `local` (absent when reasons are on).
    front: Option<Front>,
    front_hits: u64,
    front_misses: u64,
    /// The last name given to [`Scorer::outcome`] and its outcome.
    last: Option<(String, Outcome)>,
    shared: Option<Box<dyn ScoreCache>>,
    reasons: bool,
    scored: u64,
    // Reused by batches.
    misses: Vec<Box<str>>,
    found: Vec<Option<Entry>>,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("model", &self.model)
            .field("local", &self.local)
            .field("shared", &self.shared.is_some())
            .field("reasons", &self.reasons)
            .finish()
    }
}

impl Scorer {
    /// A scorer with an in-process cache of `capacity` names, computing reasons if asked.
    pub fn new(model: ModelRef, capacity: usize, reasons: bool) -> Self {
        Scorer {
            model,
            site: Site::default(),
            local: LocalCache::new(capacity),
            front: (!reasons).then(|| Front::new(capacity)),
            front_hits: 0,
            front_misses: 0,
            last: None,
            shared: None,
            reasons,
            scored: 0,
            misses: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Names in these zones are not scored ([`trawl_score::NameKind::OwnZone`]).
    pub fn with_site(mut self, site: Site) -> Self {
        self.site = site;
        self
    }

    /// Adds a shared cache (Redis) behind the in-process one.
    pub fn with_shared(mut self, shared: Box<dyn ScoreCache>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Whether a shared cache is behind the in-process one.
    pub fn has_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether reasons are computed.
    pub fn reasons(&self) -> bool {
        self.reasons
    }

    /// Counters so far (`local` counts both in-process tiers).
    pub fn stats(&self) -> ScorerStats {
        let mut local = self.local.stats();
        local.hits += self.front_hits;
        local.misses += self.front_misses;
        ScorerStats {
            local,
            shared: self.shared.as_ref().map(|s| s.stats()),
            scored: self.scored,
        }
    }

    /// With a shared cache, makes sure every name is in the in-process cache: one
    /// shared-cache lookup for those it lacks, the model for the rest, one shared-cache write
    /// of what the model gave. Without one there is nothing to batch: names are scored when
    /// first asked for.
    pub fn prefetch<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        if self.shared.is_none() {
            return;
        }
        self.misses.clear();
        let mut seen: HashSet<&str, DefaultHashBuilder> = HashSet::default();
        for n in names {
            if let Some(f) = self.front.as_mut() {
                if f.get(f.key(n)).is_some() {
                    continue;
                }
            }
            // With a front table, hits and misses are counted there (by `outcome`).
            let cached = if self.front.is_some() {
                self.local.peek(n).is_some()
            } else {
                self.local.get(n, self.reasons).is_some()
            };
            if !cached && seen.insert(n) {
                self.misses.push(n.into());
            }
        }
        if self.misses.is_empty() {
            return;
        }
        let misses = std::mem::take(&mut self.misses);
        let refs: Vec<&str> = misses.iter().map(|m| &**m).collect();
        let mut computed: Vec<(usize, Entry)> = Vec::new();
        if let Some(shared) = self.shared.as_mut() {
            shared.get_many(&refs, self.reasons, &mut self.found);
        }
        self.found.resize(refs.len(), None);
        for (i, (name, found)) in refs.iter().zip(self.found.drain(..)).enumerate() {
            match found {
                Some(e) => self.local.put(name, e),
                None => {
                    let e = compute(&self.model, &self.site, name, self.reasons);
                    self.scored += 1;
                    computed.push((i, e));
                }
            }
        }
        if let Some(shared) = self.shared.as_mut() {
            let items: Vec<(&str, &Entry)> = computed.iter().map(|(i, e)| (refs[*i], e)).collect();
            shared.put_many(&items);
        }
        for (i, e) in computed {
            self.local.put(refs[i], e);
        }
        drop(refs);
        self.misses = misses;
    }

    /// The entry of one name: from the in-process cache, else from the shared cache or the
    /// model (and then cached). A clone: cheap (the reasons are shared).
    #[inline]
    pub fn score(&mut self, name: &str) -> Entry {
        if let Some(e) = self.local.get(name, self.reasons) {
            return e.clone();
        }
        self.fetch(name)
    }

    /// The outcome of one name, without reasons: what the TSV path needs, through the front
    /// table (no allocation, one memory line) when reasons are off.
    #[inline]
    pub fn outcome(&mut self, name: &str) -> Outcome {
        let Some(front) = self.front.as_mut() else {
            return self.score(name).outcome;
        };
        // Neighbouring DNS records often ask the same name (A then AAAA, retries).
        if let Some((last, o)) = &self.last {
            if **last == *name {
                self.front_hits += 1;
                return *o;
            }
        }
        let k = front.key(name);
        if let Some(o) = front.get(k) {
            self.front_hits += 1;
            self.remember(name, o);
            return o;
        }
        self.front_misses += 1;
        // Without reasons the front table is the in-process cache: names it lacks are not in
        // `local` either (only `prefetch` fills that, and only with a shared cache).
        let o = match self.local.peek(name) {
            Some(e) => e.outcome,
            None => self.fetch_outcome(name),
        };
        if let Some(f) = self.front.as_mut() {
            f.put(k, o);
        }
        self.remember(name, o);
        o
    }

    /// Keeps the last name looked up and its outcome (reusing the string's buffer).
    fn remember(&mut self, name: &str, o: Outcome) {
        match &mut self.last {
            Some((last, out)) => {
                last.clear();
                last.push_str(name);
                *out = o;
            }
            None => self.last = Some((name.to_string(), o)),
        }
    }

    /// [`Scorer::fetch`] for the front table: the shared cache, else the model.
    fn fetch_outcome(&mut self, name: &str) -> Outcome {
        if let Some(shared) = self.shared.as_mut() {
            shared.get_many(&[name], false, &mut self.found);
            let found = self.found.pop().flatten();
            self.found.clear();
            if let Some(e) = found {
                return e.outcome;
            }
        }
        let e = compute(&self.model, &self.site, name, false);
        self.scored += 1;
        if let Some(shared) = self.shared.as_mut() {
            shared.put_many(&[(name, &e)]);
        }
        e.outcome
    }

    /// A name the in-process cache lacks: from the shared cache, else the model.
    fn fetch(&mut self, name: &str) -> Entry {
        if let Some(shared) = self.shared.as_mut() {
            shared.get_many(&[name], self.reasons, &mut self.found);
            if let Some(Some(e)) = self.found.pop() {
                self.found.clear();
                self.local.put(name, e.clone());
                return e;
            }
            self.found.clear();
        }
        let e = compute(&self.model, &self.site, name, self.reasons);
        self.scored += 1;
        if let Some(shared) = self.shared.as_mut() {
            shared.put_many(&[(name, &e)]);
        }
        self.local.put(name, e.clone());
        e
    }

    /// Entries of a batch of names, in order, with one shared-cache round trip.
    pub fn score_batch(&mut self, names: &[&str]) -> Vec<Entry> {
        self.prefetch(names.iter().copied());
        names.iter().map(|n| self.score(n)).collect()
    }
}

/// Runs the model on one name.
pub fn compute(model: &Model, site: &Site, name: &str, reasons: bool) -> Entry {
    if reasons {
        return match model.explain_in(name, site) {
            Ok(x) => Entry {
                outcome: match (x.phish_score, x.dga_score) {
                    (Some(phish), Some(dga)) => Outcome::Scored { phish, dga },
                    _ => Outcome::Unscored,
                },
                reasons: Some(x.reasons.into_iter().map(String::into_boxed_str).collect()),
            },
            Err(e) => Entry {
                outcome: Outcome::Invalid,
                reasons: Some(Arc::from([e.to_string().into_boxed_str()])),
            },
        };
    }
    let outcome = match model.score_in(name, site) {
        Ok(Verdict::Scored(s)) => Outcome::Scored {
            phish: s.phish,
            dga: s.dga,
        },
        Ok(Verdict::Unscored(_)) => Outcome::Unscored,
        Err(_) => Outcome::Invalid,
    };
    Entry {
        outcome,
        reasons: None,
    }
}
