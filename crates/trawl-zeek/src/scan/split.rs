//! Splitting a TSV row on a one-byte separator, 8 bytes at a time (SWAR): a word's bytes are
//! compared with the separator and the newline at once, fields before the next wanted one are
//! skipped by counting bits, and the scan jumps to the newline after the last wanted field.

/// Which fields of a row are wanted, for one header block.
#[derive(Debug, Clone, Default)]
pub struct Splitter {
    sep: u8,
    /// `want[f]`: the span of field `f` is needed. Its length is the fields to split.
    want: Vec<bool>,
    /// `next[f]`: the first wanted field at or after `f`.
    next: Vec<usize>,
}

/// Bytes looked at per step, and the shift from a mask bit to a byte offset.
#[cfg(target_arch = "x86_64")]
const STEP: usize = 16;
#[cfg(target_arch = "x86_64")]
const SHIFT: u32 = 0;
#[cfg(not(target_arch = "x86_64"))]
const STEP: usize = 8;
#[cfg(not(target_arch = "x86_64"))]
const SHIFT: u32 = 3;

/// Masks of the bytes equal to `sep` and to `\n` in a chunk: one bit per byte (SSE2, which
/// every x86_64 has).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(c: &[u8; STEP], sep: u8) -> (u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads exactly the 16 bytes
    // of `c` (unaligned loads are allowed).
    let (s, n) = unsafe {
        let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        (
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(sep as i8))) as u32,
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u32,
        )
    };
    (u64::from(s), u64::from(n))
}

/// Masks of the bytes equal to `sep` and to `\n`: the high bit of each such byte (SWAR).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn masks(c: &[u8; STEP], sep: u8) -> (u64, u64) {
    const LO: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit set in each byte of `x` that is zero, exactly (no false positives).
    let zeros = |x: u64| !(((x & LO).wrapping_add(LO)) | x | LO);
    let w = u64::from_le_bytes(*c);
    (
        zeros(w ^ u64::from_ne_bytes([sep; 8])),
        zeros(w ^ u64::from_ne_bytes([b'\n'; 8])),
    )
}

impl Splitter {
    /// A splitter for `sep` that records the spans of the fields marked in `want`.
    pub fn new(sep: u8, want: Vec<bool>) -> Self {
        let mut next = vec![want.len(); want.len() + 1];
        for f in (0..want.len()).rev() {
            next[f] = if want[f] { f } else { next[f + 1] };
        }
        Splitter { sep, want, next }
    }

    /// Fields to split per row.
    pub fn need(&self) -> usize {
        self.want.len()
    }

    /// Splits the row at the start of `s` (which may hold more lines). Stores wanted fields'
    /// spans in `spans` (at least [`Splitter::need`] long; other entries are left stale).
    /// Returns the fields found, up to `need`, and the index of the row's `\n` (or `s.len()`).
    pub fn split(&self, s: &[u8], spans: &mut [(usize, usize)]) -> (usize, usize) {
        let need = self.want.len();
        if need == 0 {
            return (0, line_end(s, 0));
        }
        // Padding for the last partial chunk: a byte that is neither separator nor newline.
        let pad = if self.sep == 0xff { 0xfe } else { 0xff };
        // `field` is the field being read, `next` the next wanted one; `start` is only kept
        // for wanted fields.
        let mut field = 0;
        let mut start = 0;
        let mut next = self.next.first().copied().unwrap_or(need);
        let mut i = 0;
        while i < s.len() {
            let mut chunk = [pad; STEP];
            match s.get(i..i + STEP) {
                Some(c) => chunk.copy_from_slice(c),
                None => chunk.iter_mut().zip(&s[i..]).for_each(|(d, b)| *d = *b),
            }
            let (mut m, nl) = masks(&chunk, self.sep);
            if nl != 0 {
                // Only separators before the newline belong to this row.
                m &= (nl & nl.wrapping_neg()) - 1;
            }
            while m != 0 {
                let p = i + (m.trailing_zeros() >> SHIFT) as usize;
                m &= m - 1;
                if field == next {
                    if let Some(sp) = spans.get_mut(field) {
                        *sp = (start, p);
                    }
                    next = self.next.get(field + 1).copied().unwrap_or(need);
                }
                field += 1;
                if field == need {
                    return (need, line_end(s, p));
                }
                if field == next {
                    start = p + 1;
                }
            }
            if nl != 0 {
                let q = i + (nl.trailing_zeros() >> SHIFT) as usize;
                self.store(field, start, q, spans);
                return (field + 1, q);
            }
            i += STEP;
        }
        // The last row of the stream, without a newline.
        self.store(field, start, s.len(), spans);
        (field + 1, s.len())
    }

    fn store(&self, field: usize, start: usize, end: usize, spans: &mut [(usize, usize)]) {
        if self.want.get(field) == Some(&true) {
            if let Some(sp) = spans.get_mut(field) {
                *sp = (start, end);
            }
        }
    }
}

fn line_end(s: &[u8], from: usize) -> usize {
    s.get(from..)
        .and_then(|r| memchr::memchr(b'\n', r))
        .map_or(s.len(), |j| from + j)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simple way: split the first line and keep the wanted fields.
    fn naive(s: &[u8], sep: u8, want: &[bool]) -> (usize, usize, Vec<Option<(usize, usize)>>) {
        let end = s.iter().position(|&b| b == b'\n').unwrap_or(s.len());
        let mut spans = vec![None; want.len()];
        let mut start = 0;
        let mut f = 0;
        for (i, &b) in s[..end].iter().enumerate() {
            if b == sep {
                if f < want.len() && want[f] {
                    spans[f] = Some((start, i));
                }
                f += 1;
                start = i + 1;
                if f == want.len() {
                    return (f, end, spans);
                }
            }
        }
        if f < want.len() && want[f] {
            spans[f] = Some((start, end));
        }
        ((f + 1).min(want.len()), end, spans)
    }

    #[test]
    fn matches_a_naive_split() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for sep in [b'\t', b',', 0u8, 0xff] {
            for _ in 0..3000 {
                let len = (rnd() % 60) as usize;
                let s: Vec<u8> = (0..len)
                    .map(|_| match rnd() % 6 {
                        0 => sep,
                        1 if rnd() % 4 == 0 => b'\n',
                        _ => b'a' + (rnd() % 3) as u8,
                    })
                    .collect();
                let need = (rnd() % 12) as usize;
                let want: Vec<bool> = (0..need).map(|_| rnd() % 3 == 0).collect();
                let sp = Splitter::new(sep, want.clone());
                let mut spans = vec![(usize::MAX, usize::MAX); need];
                let (found, end) = sp.split(&s, &mut spans);
                let (nf, nend, nspans) = naive(&s, sep, &want);
                if need == 0 {
                    assert_eq!(end, nend);
                    continue;
                }
                assert_eq!((found, end), (nf, nend), "{s:?} {want:?}");
                for f in 0..found {
                    if want[f] {
                        assert_eq!(Some(spans[f]), nspans[f], "{s:?} field {f}");
                    }
                }
            }
        }
    }
}
