//! Brands, phishing keywords and look-alike spellings.
//!
//! One Aho-Corasick automaton (DFA) finds brands and keywords in the registered label and in
//! the subdomain, both as written and after folding ASCII look-alikes (`0`->`o`, `rn`->`m`).
//! Edit distance 1 is checked per token against brands of similar length only.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::OnceLock;

/// Brands that phishing names imitate (lower case, at least 4 letters, except a few).
pub const BRANDS: &[&str] = &[
    "paypal",
    "apple",
    "icloud",
    "itunes",
    "appleid",
    "microsoft",
    "office365",
    "outlook",
    "hotmail",
    "onedrive",
    "sharepoint",
    "azure",
    "google",
    "gmail",
    "youtube",
    "facebook",
    "instagram",
    "whatsapp",
    "twitter",
    "linkedin",
    "netflix",
    "amazon",
    "ebay",
    "alibaba",
    "aliexpress",
    "spotify",
    "steam",
    "steamcommunity",
    "roblox",
    "discord",
    "telegram",
    "tiktok",
    "snapchat",
    "dropbox",
    "docusign",
    "adobe",
    "yahoo",
    "wellsfargo",
    "chase",
    "bankofamerica",
    "citibank",
    "hsbc",
    "barclays",
    "santander",
    "natwest",
    "lloyds",
    "halifax",
    "americanexpress",
    "amex",
    "mastercard",
    "coinbase",
    "binance",
    "metamask",
    "blockchain",
    "trustwallet",
    "ledger",
    "trezor",
    "opensea",
    "uniswap",
    "dhl",
    "fedex",
    "usps",
    "royalmail",
    "postbank",
    "sparkasse",
    "commbank",
    "westpac",
    "bradesco",
    "itau",
    "nubank",
    "mercadolibre",
    "mercadopago",
    "rakuten",
    "docomo",
    "vodafone",
    "verizon",
    "comcast",
    "xfinity",
    "godaddy",
    "github",
    "booking",
    "airbnb",
    "walmart",
    "costco",
    "bestbuy",
    "samsung",
    "huawei",
    "xiaomi",
    "nintendo",
    "playstation",
    "xbox",
    "epicgames",
    "battlenet",
    "blizzard",
    "stripe",
    "venmo",
    "zelle",
    "cashapp",
    "revolut",
    "ameli",
    "impots",
    "laposte",
    "creditagricole",
    "societegenerale",
    "bnpparibas",
    "labanquepostale",
    "rabobank",
    "abnamro",
    "belfius",
    "swisscom",
    "postfinance",
    "usbank",
    "capitalone",
    "navyfederal",
    "tdbank",
    "scotiabank",
    "desjardins",
    "interac",
    "disneyplus",
    "okta",
    "salesforce",
    "wetransfer",
    "yandex",
    "sberbank",
    "tinkoff",
    "gosuslugi",
    "avito",
    "wildberries",
    "allegro",
    "posteitaliane",
    "intesasanpaolo",
    "unicredit",
    "caixa",
    "correios",
    "onlinesbi",
    "hdfcbank",
    "icicibank",
    "axisbank",
    "paytm",
    "phonepe",
    "flipkart",
    "airtel",
    "safaricom",
    "mpesa",
    "webmail",
    "roundcube",
    "zimbra",
    "outlook365",
    "microsoftonline",
    "office",
    "bitcoin",
    "ethereum",
    "kucoin",
    "bybit",
    "kraken",
    "okx",
    "bitfinex",
    "exodus",
    "phantom",
    "pancakeswap",
    "orange",
    "telstra",
    "optus",
    "bigpond",
    "shopify",
    "zoom",
    "bancolombia",
    "banorte",
    "bbva",
];

/// Words that phishing names use to look official or urgent.
pub const KEYWORDS: &[&str] = &[
    "login",
    "logon",
    "signin",
    "verify",
    "verification",
    "validate",
    "secure",
    "security",
    "account",
    "update",
    "confirm",
    "banking",
    "support",
    "password",
    "recover",
    "recovery",
    "unlock",
    "billing",
    "invoice",
    "payment",
    "authenticate",
    "auth",
    "helpdesk",
    "suspend",
    "limited",
    "alert",
    "customer",
    "client",
    "online",
    "service",
    "webscr",
    "access",
    "session",
    "token",
    "claim",
    "reward",
    "bonus",
    "gift",
    "prize",
    "airdrop",
    "refund",
    "delivery",
    "parcel",
    "tracking",
    "shipment",
    "customs",
    "restore",
    "reactivate",
    "activate",
    "notice",
    "document",
    "storage",
    "mailbox",
    "owa",
    "portal",
    "connect",
    "wallet",
    "sso",
    "mfa",
    "kyc",
    "sign",
    "pay",
    "bank",
    "free",
    "promo",
    "official",
];

/// Registered labels that own a brand, or CDN/infrastructure labels that legitimately carry
/// brand names in their subdomains (`www.paypal.com.akadns.net`).
const OWNERS: &[&str] = &[
    "live",
    "msn",
    "microsoftonline",
    "windows",
    "bing",
    "skype",
    "azureedge",
    "msedge",
    "googleapis",
    "gstatic",
    "googleusercontent",
    "googlevideo",
    "doubleclick",
    "ggpht",
    "googletagmanager",
    "googlesyndication",
    "googleadservices",
    "withgoogle",
    "fbcdn",
    "cdninstagram",
    "akadns",
    "edgekey",
    "akamaiedge",
    "edgesuite",
    "akamai",
    "akamaized",
    "cloudfront",
    "trafficmanager",
    "fastly",
    "cloudflare",
    "apple-dns",
    "mzstatic",
    "aaplimg",
    "amazonaws",
    "amazontrust",
    "ssl-images-amazon",
    "media-amazon",
    "paypalobjects",
    "ebaystatic",
    "ebayimg",
    "nflxvideo",
    "nflximg",
    "nflxso",
    "yimg",
    "office",
    "office365",
    "outlook",
    "sharepoint",
    "onedrive",
    "icloud",
    "apple",
    "amazon",
];

/// What the lexicon scan found in one name. Brand and keyword fields are indices into
/// [`BRANDS`] / [`KEYWORDS`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LexHits {
    /// Brand found in the subdomain while the registered label is not its owner.
    pub brand_sub: Option<u16>,
    /// Brand inside the registered label, which is not the brand itself.
    pub brand_label: Option<u16>,
    /// A token one edit away from a brand.
    pub brand_typo: Option<u16>,
    /// Brand only found after folding look-alike characters.
    pub brand_glyph: Option<u16>,
    /// The registered label is a brand or brand-owned label.
    pub owned: bool,
    /// Keyword hits in the subdomain and in the registered label.
    pub kw_sub: u8,
    /// Keyword hits in the registered label.
    pub kw_label: u8,
    /// First keyword found (for reasons).
    pub kw_first: Option<u16>,
}

/// Longest brand considered for the edit-distance check.
const MAX_EDIT_LEN: usize = 31;

struct Lexicon {
    ac: AhoCorasick,
    /// Brand indices by (length, first letter) and (length, last letter): one edit leaves
    /// the first or the last letter in place, so these two buckets hold every candidate.
    by_first: Vec<Vec<u16>>,
    by_last: Vec<Vec<u16>>,
}

#[inline(always)]
fn bucket(len: usize, c: u8) -> usize {
    len * 37 + usize::from(c % 37)
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let pats = BRANDS.iter().chain(KEYWORDS.iter());
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(pats)
            .or_else(|_| AhoCorasick::new(BRANDS.iter().chain(KEYWORDS.iter())))
            .unwrap_or_else(|_| AhoCorasick::new(["\u{0}"]).expect("trivial automaton"));
        let mut by_first = vec![Vec::new(); (MAX_EDIT_LEN + 2) * 37];
        let mut by_last = vec![Vec::new(); (MAX_EDIT_LEN + 2) * 37];
        for (i, b) in BRANDS.iter().enumerate() {
            let b = b.as_bytes();
            if b.len() >= 5 && b.len() <= MAX_EDIT_LEN {
                by_first[bucket(b.len(), b[0])].push(i as u16);
                by_last[bucket(b.len(), b[b.len() - 1])].push(i as u16);
            }
        }
        Lexicon {
            ac,
            by_first,
            by_last,
        }
    })
}

/// Build the automaton now (it is otherwise built on first use).
pub(crate) fn warm_up() {
    let _ = lexicon();
    let _ = is_owner("");
}

fn owner_key(s: &str) -> u64 {
    crate::hash::bytes(crate::hash::seed(0x0e), s.as_bytes())
}

/// Whether the registered label owns a brand. Compares 64-bit hashes in a sorted table:
/// cheaper than hashing with SipHash and comparing strings.
fn is_owner(label: &str) -> bool {
    static KEYS: OnceLock<Vec<u64>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut v: Vec<u64> = BRANDS.iter().chain(OWNERS).map(|s| owner_key(s)).collect();
        v.sort_unstable();
        v
    })
    .binary_search(&owner_key(label))
    .is_ok()
}

/// Fold ASCII look-alikes into `out`; returns the folded length. `rn`->`m`, `vv`->`w`,
/// digits that look like letters -> those letters, hyphens dropped (`pay-pal`).
fn fold(s: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < s.len() && n < out.len() {
        let b = s[i];
        let next = s.get(i + 1).copied();
        let (c, adv) = match (b, next) {
            (b'r', Some(b'n')) => (b'm', 2),
            (b'v', Some(b'v')) => (b'w', 2),
            (b'0', _) => (b'o', 1),
            (b'1', _) => (b'l', 1),
            (b'3', _) => (b'e', 1),
            (b'4', _) => (b'a', 1),
            (b'5', _) => (b's', 1),
            (b'7', _) => (b't', 1),
            (b'-', _) => (0, 1),
            _ => (b, 1),
        };
        if c != 0 {
            out[n] = c;
            n += 1;
        }
        i += adv;
    }
    n
}

/// Whether `a` and `b` are exactly one edit apart (insert, delete, substitute or swap).
fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return false;
    }
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if l.len() - s.len() > 1 {
        return false;
    }
    let p = s.iter().zip(l).take_while(|(x, y)| x == y).count();
    if s.len() == l.len() {
        // substitution, or adjacent swap
        s[p + 1..] == l[p + 1..]
            || (p + 1 < s.len() && s[p] == l[p + 1] && s[p + 1] == l[p] && s[p + 2..] == l[p + 2..])
    } else {
        s[p..] == l[p + 1..]
    }
}

/// Scan the registered label and subdomain of a name.
///
/// One automaton pass over `folded(sub) . folded(label)`; a brand found where folding
/// changed the text counts as a look-alike only if it is not also there as written.
pub(crate) fn scan(label: &str, sub: &str) -> LexHits {
    let lex = lexicon();
    let nb = BRANDS.len();
    let mut h = LexHits {
        owned: is_owner(label),
        ..LexHits::default()
    };
    let mut buf = [0u8; 512];
    let ns = fold(sub.as_bytes(), &mut buf[..256]);
    buf[ns] = b'.';
    let nl = fold(label.as_bytes(), &mut buf[ns + 1..ns + 257]);
    let sub_same = &buf[..ns] == sub.as_bytes();
    let label_same = &buf[ns + 1..ns + 1 + nl] == label.as_bytes();
    for m in lex.ac.find_overlapping_iter(&buf[..ns + 1 + nl]) {
        let pid = m.pattern().as_usize();
        let in_sub = m.end() <= ns;
        if pid >= nb {
            let kid = (pid - nb) as u16;
            h.kw_first.get_or_insert(kid);
            if in_sub {
                h.kw_sub = h.kw_sub.saturating_add(1);
            } else {
                h.kw_label = h.kw_label.saturating_add(1);
            }
            continue;
        }
        let brand = BRANDS[pid];
        if h.owned || brand == label {
            continue;
        }
        let (orig, same) = if in_sub {
            (sub, sub_same)
        } else {
            (label, label_same)
        };
        let written = same || orig.contains(brand);
        let id = pid as u16;
        if !written {
            h.brand_glyph.get_or_insert(id);
        } else if in_sub {
            h.brand_sub.get_or_insert(id);
        } else {
            h.brand_label.get_or_insert(id);
        }
    }
    if h.owned {
        return h;
    }
    for part in [label.as_bytes(), sub.as_bytes()] {
        for t in part.split(|&b| matches!(b, b'-' | b'.' | b'_')) {
            if t.len() < 5 || t.len() >= MAX_EDIT_LEN {
                continue;
            }
            let (first, last) = (t[0], t[t.len() - 1]);
            for len in t.len() - 1..=t.len() + 1 {
                let a = lex
                    .by_first
                    .get(bucket(len, first))
                    .map_or(&[][..], |v| &v[..]);
                let b = lex
                    .by_last
                    .get(bucket(len, last))
                    .map_or(&[][..], |v| &v[..]);
                for &id in a.iter().chain(b) {
                    if h.brand_typo.is_none() && one_edit(t, BRANDS[id as usize].as_bytes()) {
                        h.brand_typo = Some(id);
                    }
                }
            }
        }
    }
    h
}

/// Map a Cyrillic or Greek look-alike of a Latin letter to that letter.
pub(crate) fn confusable(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' => 'e',
        'һ' => 'h',
        'і' | 'ι' | 'ı' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ӏ' => 'l',
        'м' => 'm',
        'п' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' => 'u',
        'ν' => 'v',
        'ѡ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// Brand index if `ascii` (a folded IDN label) contains a brand.
pub(crate) fn brand_in(ascii: &[u8]) -> Option<u16> {
    let nb = BRANDS.len();
    lexicon()
        .ac
        .find_overlapping_iter(ascii)
        .map(|m| m.pattern().as_usize())
        .find(|&p| p < nb)
        .map(|p| p as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits() {
        assert!(one_edit(b"paypa", b"paypal"));
        assert!(one_edit(b"paypall", b"paypal"));
        assert!(one_edit(b"paypak", b"paypal"));
        assert!(one_edit(b"papyal", b"paypal"));
        assert!(!one_edit(b"paypal", b"paypal"));
        assert!(!one_edit(b"pyapla", b"paypal"));
    }

    #[test]
    fn brand_positions() {
        let h = scan("evil-host", "paypal.com.login");
        assert_eq!(h.brand_sub.map(|i| BRANDS[i as usize]), Some("paypal"));
        assert!(h.kw_sub >= 1);
        let h = scan("paypal", "login");
        assert!(h.brand_sub.is_none() && h.owned);
        let h = scan("paypal-secure-help", "");
        assert_eq!(h.brand_label.map(|i| BRANDS[i as usize]), Some("paypal"));
        let h = scan("paypa1", "");
        assert!(h.brand_glyph.is_some() || h.brand_typo.is_some());
        let h = scan("rnicrosoft-support", "");
        assert_eq!(h.brand_glyph.map(|i| BRANDS[i as usize]), Some("microsoft"));
        let h = scan("netfllix", "");
        assert_eq!(h.brand_typo.map(|i| BRANDS[i as usize]), Some("netflix"));
    }
}
