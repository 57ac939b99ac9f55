//! The common case of [`super::normalize`] in one pass: copy, lower-case and check an ASCII
//! name and find its dots. On x86-64 names of up to 64 bytes go 16 bytes a step (SSE2 is
//! part of the baseline); longer names and other targets go a byte at a time.

use super::{Dots, MAX_LABEL_LEN, MAX_NAME_LEN};

/// The common case in one pass: an ASCII name of letters, digits, `-`, `_` and dots, with
/// no empty or over-long label and at least one byte that is neither a digit nor a dot (so
/// it cannot be an IP literal), lower-cased into `dst`. Returns its length and where its
/// dots are, or `None` for anything else, which then takes the careful path (same result,
/// plus the reasons). Bytes of `dst` past the name may be overwritten.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(super) fn fast_copy(src: &[u8], dst: &mut [u8; 256]) -> Option<(usize, Dots)> {
    use std::arch::x86_64::*;
    let n = src.len();
    if n == 0 || n > 64 {
        return fast_copy_scalar(src, dst);
    }
    dst[..n].copy_from_slice(src);
    let (mut dots, mut ok, mut word) = (0u64, 0u64, 0u64);
    // SAFETY: SSE2 is part of the x86-64 baseline; every load and store covers 16 bytes
    // starting at most at offset 48, inside the 256-byte buffer.
    unsafe {
        let p = dst.as_mut_ptr();
        let in_range = |v: __m128i, lo: u8, hi: u8| {
            // Bytes >= 0x80 are negative as i8 and fall in no range here.
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8((lo - 1) as i8)),
                _mm_cmplt_epi8(v, _mm_set1_epi8((hi + 1) as i8)),
            )
        };
        let eq = |v: __m128i, c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16);
        for k in 0..n.div_ceil(16) {
            let at = p.add(16 * k).cast::<__m128i>();
            let v = _mm_loadu_si128(at);
            let upper = _mm_and_si128(in_range(v, b'A', b'Z'), _mm_set1_epi8(0x20));
            let v = _mm_or_si128(v, upper);
            _mm_storeu_si128(at, v);
            let w = _mm_or_si128(
                in_range(v, b'a', b'z'),
                _mm_or_si128(eq(v, b'-'), eq(v, b'_')),
            );
            let dot = eq(v, b'.');
            let sh = 16 * k as u32;
            word |= bits(w) << sh;
            dots |= bits(dot) << sh;
            ok |= bits(_mm_or_si128(_mm_or_si128(w, dot), in_range(v, b'0', b'9'))) << sh;
        }
    }
    let live = u64::MAX >> (64 - n);
    let dots = dots & live;
    // No empty label (leading, trailing or doubled dot), and a 64-byte name is not one
    // label; shorter names cannot hold an over-long label.
    let bad_dots = dots & 1 | dots >> (n - 1) | dots & (dots >> 1);
    let long = n == 64 && dots == 0;
    (ok & live == live && word & live != 0 && bad_dots == 0 && !long).then_some((
        n,
        Dots {
            mask: dots,
            exact: true,
        },
    ))
}

/// [`fast_copy`] on targets without SSE2.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(super) fn fast_copy(src: &[u8], dst: &mut [u8; 256]) -> Option<(usize, Dots)> {
    fast_copy_scalar(src, dst)
}

/// Byte -> its lower-case form in the low byte (0 if it may not appear in a name; `.` may),
/// and in the high byte [`BAD`] for those and [`NOT_IP`] for bytes that are neither digits
/// nor dots.
const COPY: [u16; 256] = {
    let mut t = [BAD; 256];
    let mut b = 0;
    while b < 256 {
        let c = (b as u8).to_ascii_lowercase();
        if c.is_ascii_lowercase() || c == b'-' || c == b'_' {
            t[b] = c as u16 | NOT_IP;
        } else if c.is_ascii_digit() || c == b'.' {
            t[b] = c as u16;
        }
        b += 1;
    }
    t
};
/// Flag in [`COPY`]: the byte may not appear in a name.
const BAD: u16 = 0x100;
/// Flag in [`COPY`]: the byte is neither a digit nor a dot.
const NOT_IP: u16 = 0x200;

/// [`fast_copy`] a byte at a time (any length; long names and targets without SSE2).
#[cfg_attr(target_arch = "x86_64", inline(never))]
#[cfg_attr(not(target_arch = "x86_64"), inline)]
pub(super) fn fast_copy_scalar(src: &[u8], dst: &mut [u8; 256]) -> Option<(usize, Dots)> {
    if src.len() > MAX_NAME_LEN {
        return None;
    }
    // Copy and classify without a branch per byte; the labels are checked after.
    let mut seen = 0u16;
    for (d, &b) in dst.iter_mut().zip(src) {
        let t = COPY[usize::from(b)];
        *d = t as u8;
        seen |= t;
    }
    if seen & (BAD | NOT_IP) != NOT_IP {
        return None;
    }
    labels_ok(dst, src.len()).map(|d| (src.len(), d))
}

/// Whether every label of `buf[..n]` (`n` <= [`MAX_NAME_LEN`]) is 1 to [`MAX_LABEL_LEN`]
/// bytes long, and if so where the dots are. Finds the dots eight bytes at a time.
#[inline]
pub(super) fn labels_ok(buf: &[u8; 256], n: usize) -> Option<Dots> {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut start = 0usize;
    let mut mask = 0u64;
    for (k, chunk) in buf.chunks_exact(8).enumerate() {
        let at = k * 8;
        if at >= n {
            break;
        }
        let mut w = 0u64;
        for (j, &b) in chunk.iter().enumerate() {
            w |= u64::from(b) << (8 * j);
        }
        let x = w ^ 0x2e2e_2e2e_2e2e_2e2e;
        // High bit of each byte that is a dot (exact: no carries between bytes).
        let mut dots = !(((x & LO7) + LO7) | x | LO7);
        if n - at < 8 {
            dots &= (1u64 << (8 * (n - at))) - 1;
        }
        while dots != 0 {
            let p = at + (dots.trailing_zeros() / 8) as usize;
            if p == start || p - start > MAX_LABEL_LEN {
                return None;
            }
            mask |= 1u64.checked_shl(p as u32).unwrap_or(0);
            start = p + 1;
            dots &= dots - 1;
        }
    }
    (n > start && n - start <= MAX_LABEL_LEN).then_some(if n <= 64 {
        Dots { mask, exact: true }
    } else {
        Dots::SCAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector path agrees with the byte-at-a-time one on names of every length up to
    /// past 64, with dots, capitals, bad bytes and digits-only names.
    #[test]
    fn fast_copy_matches_scalar() {
        let mut rng = crate::hash::SplitMix::new(11);
        let alpha = b"abzAZ09-_.......@[`{/ \x7f\x80\xff";
        for _ in 0..200_000 {
            let n = rng.below(80);
            let dot_rate = 1 + rng.below(12);
            let digits = rng.below(6) == 0;
            let src: Vec<u8> = (0..n)
                .map(|_| match rng.below(dot_rate) {
                    0 => b'.',
                    _ if digits => b'0' + rng.below(10) as u8,
                    _ => alpha[rng.below(alpha.len())],
                })
                .collect();
            let (mut a, mut b) = ([7u8; 256], [7u8; 256]);
            let got = fast_copy(&src, &mut a).map(|(n, d)| (n, d.mask, d.exact));
            let want = fast_copy_scalar(&src, &mut b).map(|(n, d)| (n, d.mask, d.exact));
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&src));
            if got.is_some() {
                assert_eq!(a[..n], b[..n]);
            }
        }
    }
}
