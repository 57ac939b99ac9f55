//! The scanner as it was before it was made faster, kept as the reference that
//! [`super::scan`] must agree with exactly.

use super::*;

/// One transition from state `s` (premultiplied) on byte `b`: the next state, and the
/// patterns that end here (empty for most states).
fn step(dfa: &Dfa, s: usize, b: u8) -> (usize, &[u16]) {
    let s = dfa.next[s + usize::from(CLASS[usize::from(b)])] as usize;
    (s, dfa.matches(s))
}

/// Run the automaton over `s` with ASCII look-alikes folded on the fly (`rn`->`m`,
/// `vv`->`w`, digits that look like letters -> those letters, hyphens dropped:
/// `pay-pal`), starting in state `state`; returns the state after the last byte. For each
/// match calls `f(pattern, changed)`, where `changed` says whether folding changed
/// anything in `s` up to the end of the match (if not, the match is there as written).
fn fold_scan(dfa: &Dfa, s: &[u8], mut state: usize, mut f: impl FnMut(usize, bool)) -> usize {
    let mut i = 0;
    let mut changed = false;
    while i < s.len() {
        let b = s[i];
        let mut c = FOLD[usize::from(b)];
        i += 1;
        if (b == b'r' || b == b'v') && i < s.len() {
            let next = s[i];
            if b == b'r' && next == b'n' {
                c = b'm';
                i += 1;
            } else if b == b'v' && next == b'v' {
                c = b'w';
                i += 1;
            }
        }
        changed |= c != b;
        if c != 0 {
            let (next, hits) = step(dfa, state, c);
            state = next;
            for &id in hits {
                f(usize::from(id), changed);
            }
        }
    }
    state
}

/// Scan the registered label and subdomain of a name.
///
/// One automaton pass over `folded(sub) . folded(label)`, folding on the fly; a brand
/// found where folding changed the text counts as a look-alike only if it is not also
/// there as written.
pub(super) fn scan(label: &str, sub: &str) -> LexHits {
    let lex = lexicon();
    let nb = BRANDS.len();
    let mut h = LexHits {
        owned: is_owner(label),
        ..LexHits::default()
    };
    let mut hit = |pid: usize, changed: bool, in_sub: bool| {
        if pid >= nb {
            let kid = (pid - nb) as u16;
            h.kw_first.get_or_insert(kid);
            if in_sub {
                h.kw_sub = h.kw_sub.saturating_add(1);
            } else {
                h.kw_label = h.kw_label.saturating_add(1);
            }
            return;
        }
        let brand = BRANDS[pid];
        if h.owned || brand == label {
            return;
        }
        let orig = if in_sub { sub } else { label };
        // Unchanged so far: the folded match is the written text.
        let written = !changed || find(orig.as_bytes(), brand.as_bytes());
        let id = pid as u16;
        if !written {
            h.brand_glyph.get_or_insert(id);
        } else if in_sub {
            h.brand_sub.get_or_insert(id);
        } else {
            h.brand_label.get_or_insert(id);
        }
    };
    // The dot between the parts is in no pattern: it sends the automaton back to its root.
    let state = fold_scan(&lex.dfa, sub.as_bytes(), 0, |p, c| hit(p, c, true));
    let (state, _) = step(&lex.dfa, state, b'.');
    fold_scan(&lex.dfa, label.as_bytes(), state, |p, c| hit(p, c, false));
    if h.owned {
        return h;
    }
    for part in [label.as_bytes(), sub.as_bytes()] {
        for t in part.split(|&b| matches!(b, b'-' | b'.' | b'_')) {
            if t.len() < 5 || t.len() >= MAX_EDIT_LEN {
                continue;
            }
            let (first, last) = (t[0], t[t.len() - 1]);
            let set = byte_set(t);
            for len in t.len() - 1..=t.len() + 1 {
                let a = lex.bucket(&lex.first, bucket(len, first));
                let b = lex.bucket(&lex.last, bucket(len, last));
                for &id in a.iter().chain(b) {
                    let id_set = lex.sets.get(usize::from(id)).copied().unwrap_or(!0);
                    if (set ^ id_set).count_ones() <= 2
                        && one_edit(t, BRANDS[usize::from(id)].as_bytes())
                    {
                        // The first candidate found is kept; nothing else is left to do.
                        h.brand_typo = Some(id);
                        return h;
                    }
                }
            }
        }
    }
    h
}
