//! RFC 3492 punycode decoding into a stack buffer (no allocation).
//!
//! Only used to look at `xn--` labels for mixed scripts and homoglyphs; the `idna` crate is
//! used for the opposite direction when a caller hands us a Unicode name.

const BASE: u32 = 36;
const TMIN: u32 = 1;
const TMAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;

/// Most code points a decoded label can hold (a label is at most 63 bytes).
pub(crate) const MAX_CPS: usize = 64;

fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
    delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (BASE - TMIN + 1) * delta / (delta + SKEW)
}

fn digit(b: u8) -> Option<u32> {
    match b {
        b'a'..=b'z' => Some(u32::from(b - b'a')),
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 26),
        _ => None,
    }
}

/// Decode the part of a label after `xn--` into `out`; returns the number of code points,
/// or `None` for invalid input.
pub(crate) fn decode(input: &[u8], out: &mut [char; MAX_CPS]) -> Option<usize> {
    let (basic, rest) = match input.iter().rposition(|&b| b == b'-') {
        Some(p) => (&input[..p], &input[p + 1..]),
        None => (&input[..0], input),
    };
    if basic.len() > MAX_CPS {
        return None;
    }
    let mut len = 0usize;
    for &b in basic {
        if !b.is_ascii() {
            return None;
        }
        out[len] = char::from(b);
        len += 1;
    }
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let mut pos = 0;
    while pos < rest.len() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let d = digit(*rest.get(pos)?)?;
            pos += 1;
            i = i.checked_add(d.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if d < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let points = len as u32 + 1;
        bias = adapt(i - old_i, points, old_i == 0);
        n = n.checked_add(i / points)?;
        i %= points;
        if len >= MAX_CPS {
            return None;
        }
        let c = char::from_u32(n)?;
        let at = i as usize;
        out.copy_within(at..len, at + 1);
        out[at] = c;
        len += 1;
        i += 1;
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Option<String> {
        let mut buf = ['\0'; MAX_CPS];
        decode(s.as_bytes(), &mut buf).map(|n| buf[..n].iter().collect())
    }

    #[test]
    fn decodes_known_labels() {
        assert_eq!(dec("mnchen-3ya").as_deref(), Some("münchen"));
        assert_eq!(dec("80ak6aa92e").as_deref(), Some("аррӏе"));
        assert_eq!(dec("bcher-kva").as_deref(), Some("bücher"));
        assert_eq!(dec("zzzz!"), None);
    }
}
