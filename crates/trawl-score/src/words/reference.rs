//! The segmenter as it was before it was made faster, kept as the reference that
//! [`super::segment`] must agree with exactly.

use super::*;

/// Best segmentation: most letters covered, then fewest words. O(len * 10) probes.
pub(super) fn segment(bits: &[u64], label: &[u8]) -> Seg {
    let n = label.len().min(63);
    let Ok(bits) = <&[u64; WORDS_LEN]>::try_from(bits) else {
        return Seg::default();
    };
    if n < MIN_WORD {
        return Seg::default();
    }
    let label = &label[..n];
    let pre = prefixes();
    // run[i]: letters from i on, up to MAX_WORD (a word ends at the first non-letter).
    let mut run = [0u8; 65];
    for i in (0..n).rev() {
        run[i] = if label[i].is_ascii_lowercase() {
            (run[i + 1] + 1).min(MAX_WORD as u8)
        } else {
            0
        };
    }
    // dp[i] = best packed state for the prefix of length i.
    let mut dp = [key(0, 0, 0); 65];
    // What a word adds to a state: letters covered, one more word (one less in bits
    // 8-15), and for "a", "i" and the two-letter words one more short word.
    let word = |len: u32| (len << 16).wrapping_sub(1 << 8);
    let one = word(1) + 1;
    let two = word(2) + 1;
    for i in 0..n {
        let cur = dp[i];
        // Every position is reachable by leaving a letter uncovered.
        relax(&mut dp[i + 1], cur);
        let lim = usize::from(run[i]);
        if lim == 0 {
            continue;
        }
        let w = &label[i..i + lim];
        let b0 = w[0];
        if b0 == b'a' || b0 == b'i' {
            // "a" and "i": the one-letter words.
            relax(&mut dp[i + 1], cur.wrapping_add(one));
        }
        if lim < 2 {
            continue;
        }
        let mut c = usize::from(b0 - b'a') * 26 + usize::from(w[1] - b'a');
        if bit(&TWO, c) {
            relax(&mut dp[i + 2], cur.wrapping_add(two));
        }
        if lim < MIN_WORD {
            continue;
        }
        let mut h = hash::step(hash::step(hash::seed(TAG_WORD), b0), w[1]);
        for (k, &b) in w.iter().enumerate().skip(2) {
            h = hash::step(h, b);
            let len = k + 1;
            if len <= 4 {
                c = c * 26 + usize::from(b - b'a');
                if (len == 3 && !bit(&pre.p3, c)) || (len == 4 && !bit(&pre.p4, c)) {
                    break;
                }
            }
            if contains(bits, h) {
                let cand = cur.wrapping_add(word(len as u32));
                relax(&mut dp[(i + len).min(64)], cand);
            }
        }
    }
    let best = dp[n];
    Seg {
        covered: (best >> 16) as u8,
        words: (255 - ((best >> 8) & 0xff)) as u8,
        short: best as u8,
    }
}
