//! The automaton run with look-alike folding built into its table.
//!
//! Folding (`0`->`o`, `rn`->`m`, `vv`->`w`, hyphens dropped) used to be a test and a branch
//! on every byte. Here the table does it: a hyphen's column leads back to the same state,
//! and the columns of `r` and `v` hold a mark saying "look at the next byte", so the loop
//! is one lookup and one comparison a byte, and only marked states and matches leave it.

use super::{Dfa, Hits, CLASS, CLASSES, FOLD};

/// Columns of a row: the automaton's classes, the hyphen, then the plain transitions on
/// `r` and `v` (their own columns hold marks).
const STRIDE: usize = CLASSES + 3;
/// Column of the hyphen.
const DASH: u8 = CLASSES as u8;
/// Columns of the plain transitions on `r` and `v`.
const PLAIN_R: usize = CLASSES + 1;
const PLAIN_V: usize = CLASSES + 2;

/// Size of the table, a power of two so that a mask keeps every index in it without a
/// bounds check (a test pins that the automaton fits).
pub(super) const CAP: usize = 1 << 16;

/// Marks on a transition, above every state: an `r` or a `v` was read from the state in
/// the low bits (it may be the first of a pair); a hyphen was read at a matching state,
/// whose matches must not be reported again.
const AFTER_R: u32 = 1 << 31;
const AFTER_V: u32 = 1 << 30;
const QUIET: u32 = 1 << 29;
const MARKS: u32 = AFTER_R | AFTER_V | QUIET;

/// Byte -> column of the folding table: the class of its folded form, [`DASH`] for `-`.
const COLUMN: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = CLASS[FOLD[b] as usize];
        b += 1;
    }
    t[b'-' as usize] = DASH;
    t
};

/// The folding table of a [`Dfa`]: same states in the same order, premultiplied by
/// [`STRIDE`], so matching states still start at one number.
pub(super) struct Folder {
    next: Box<[u32; CAP]>,
    match_from: u32,
}

impl Folder {
    pub(super) fn new(dfa: &Dfa) -> Folder {
        let rows = dfa.next.len() / CLASSES;
        let row = |t: u32| t / CLASSES as u32 * STRIDE as u32;
        let mut next = vec![0u32; CAP];
        let (r, v) = (
            usize::from(CLASS[b'r' as usize]),
            usize::from(CLASS[b'v' as usize]),
        );
        for k in 0..rows.min(CAP / STRIDE) {
            let (plain, out) = (&dfa.next[k * CLASSES..][..CLASSES], &mut next[k * STRIDE..]);
            let here = (k * STRIDE) as u32;
            for (o, &t) in out.iter_mut().zip(plain) {
                *o = row(t);
            }
            out[r] = here | AFTER_R;
            out[v] = here | AFTER_V;
            let matching = (k * CLASSES) as u32 >= dfa.match_from;
            out[usize::from(DASH)] = if matching { here | QUIET } else { here };
            out[PLAIN_R] = row(plain[r]);
            out[PLAIN_V] = row(plain[v]);
        }
        let next = next
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| Box::new([0; CAP]));
        Folder {
            next,
            match_from: row(dfa.match_from),
        }
    }

    /// Whether all of `dfa` fits in the table.
    #[cfg(test)]
    pub(super) fn fits(dfa: &Dfa) -> bool {
        dfa.next.len() / CLASSES * STRIDE <= CAP
    }

    #[inline(always)]
    fn at(&self, i: usize) -> u32 {
        self.next[i & (CAP - 1)]
    }

    /// Run over `s` from the root, folding look-alikes, and call [`Hits::hit`] for each
    /// match with its pattern and `end`, where `s[..end]` is the text read so far. Reports
    /// what the byte-at-a-time folding scan reports, in the same order.
    #[inline]
    pub(super) fn scan(&self, dfa: &Dfa, s: &[u8], cx: &mut Hits<'_>) {
        let match_from = self.match_from;
        let mut state = 0u32;
        let mut it = s.iter();
        while let Some(&b) = it.next() {
            state = self.at(state as usize + usize::from(COLUMN[usize::from(b)]));
            if state >= match_from {
                state = self.resolve(dfa, state, &mut it, s.len(), cx);
            }
        }
        if state & (AFTER_R | AFTER_V) != 0 {
            // An `r` or `v` at the end: nothing to pair it with.
            self.resolve(dfa, state, &mut it, s.len(), cx);
        }
    }

    /// A marked or matching `state`: settle a pair, report matches, return the state to
    /// go on from. `it` is at the byte after the one that led here.
    #[inline(always)]
    fn resolve(
        &self,
        dfa: &Dfa,
        mut state: u32,
        it: &mut std::slice::Iter<'_, u8>,
        n: usize,
        cx: &mut Hits<'_>,
    ) -> u32 {
        let row = (state & !MARKS) as usize;
        if state & QUIET != 0 {
            return row as u32;
        }
        if state & (AFTER_R | AFTER_V) != 0 {
            let (second, folded, plain) = if state & AFTER_R != 0 {
                (b'n', CLASS[b'm' as usize], PLAIN_R)
            } else {
                (b'v', CLASS[b'w' as usize], PLAIN_V)
            };
            let col = if it.as_slice().first() == Some(&second) {
                it.next();
                usize::from(folded)
            } else {
                plain
            };
            state = self.at(row + col);
            if state < self.match_from {
                return state;
            }
        }
        let end = n - it.len();
        for &id in dfa.matches(state as usize / STRIDE * CLASSES) {
            cx.hit(usize::from(id), end);
        }
        state
    }
}
