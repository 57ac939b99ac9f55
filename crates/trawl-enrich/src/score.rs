//! [`Scorer`]: DNS names to scores through two cache tiers, the in-process [`LocalCache`]
//! and an optional shared [`ScoreCache`] (Redis), scoring only what neither holds.

use std::sync::Arc;

use trawl_score::{Model, Verdict};

use crate::cache::{CacheStats, Entry, LocalCache, Outcome, ScoreCache};

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
    local: LocalCache,
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
            local: LocalCache::new(capacity),
            shared: None,
            reasons,
            scored: 0,
            misses: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Adds a shared cache (Redis) behind the in-process one.
    pub fn with_shared(mut self, shared: Box<dyn ScoreCache>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether reasons are computed.
    pub fn reasons(&self) -> bool {
        self.reasons
    }

    /// Counters so far.
    pub fn stats(&self) -> ScorerStats {
        ScorerStats {
            local: self.local.stats(),
            shared: self.shared.as_ref().map(|s| s.stats()),
            scored: self.scored,
        }
    }

    /// Makes sure every name is in the in-process cache: one shared-cache lookup for those it
    /// lacks, the model for the rest, one shared-cache write of what the model gave.
    pub fn prefetch<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        self.misses.clear();
        for n in names {
            if self.local.get(n, self.reasons).is_none() && !self.misses.iter().any(|m| **m == *n) {
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
        } else {
            self.found.clear();
            self.found.resize(refs.len(), None);
        }
        for (i, (name, found)) in refs.iter().zip(self.found.drain(..)).enumerate() {
            match found {
                Some(e) => self.local.put(name, e),
                None => {
                    let e = compute(&self.model, name, self.reasons);
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

    /// The entry of one name: from the in-process cache, else as [`Scorer::prefetch`] does.
    /// A clone: cheap (the reasons are shared).
    #[inline]
    pub fn score(&mut self, name: &str) -> Entry {
        if let Some(e) = self.local.get(name, self.reasons) {
            return e.clone();
        }
        self.prefetch([name]);
        match self.local.peek(name) {
            Some(e) => e.clone(),
            // Only when the cache evicted the entry at once (a tiny capacity).
            None => compute(&self.model, name, self.reasons),
        }
    }

    /// Entries of a batch of names, in order, with one shared-cache round trip.
    pub fn score_batch(&mut self, names: &[&str]) -> Vec<Entry> {
        self.prefetch(names.iter().copied());
        names.iter().map(|n| self.score(n)).collect()
    }
}

/// Runs the model on one name.
pub fn compute(model: &Model, name: &str, reasons: bool) -> Entry {
    if reasons {
        return match model.explain(name) {
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
    let outcome = match model.score(name) {
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
