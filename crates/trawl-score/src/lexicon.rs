//! Brands, phishing keywords and look-alike spellings.
//!
//! One Aho-Corasick automaton (DFA) finds brands and keywords in the registered label and in
//! the subdomain, both as written and after folding ASCII look-alikes (`0`->`o`, `rn`->`m`).
//! Edit distance 1 is checked per token against brands of similar length only.

use std::sync::OnceLock;

mod fold;
#[cfg(test)]
mod reference;

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

/// Input classes of the automaton: a-z, 0-9, and everything else (no pattern has it).
const CLASSES: usize = 37;

/// Byte -> automaton input class.
const CLASS: [u8; 256] = {
    let mut t = [36u8; 256];
    let mut b = 0;
    while b < 256 {
        if b >= b'a' as usize && b <= b'z' as usize {
            t[b] = (b - b'a' as usize) as u8;
        } else if b >= b'0' as usize && b <= b'9' as usize {
            t[b] = (26 + b - b'0' as usize) as u8;
        }
        b += 1;
    }
    t
};

/// Aho-Corasick automaton over brands then keywords, as a flat DFA: `next[s + class]` is
/// the next state, premultiplied by [`CLASSES`]. States that report matches are numbered
/// last, from `match_from` on, so one comparison tells them apart. It reports exactly what
/// `aho_corasick` (standard semantics, overlapping search) reports, in the same order: at
/// each end position the longest pattern first, then the patterns that are suffixes of it.
struct Dfa {
    next: Vec<u32>,
    /// First (premultiplied) state that reports matches.
    match_from: u32,
    /// Matches of state `s / CLASSES` are `ids[start[s / CLASSES]..start[s / CLASSES + 1]]`.
    start: Vec<u32>,
    ids: Vec<u16>,
}

impl Dfa {
    fn new(pats: &[&str]) -> Dfa {
        const NONE: u32 = u32::MAX;
        let mut go: Vec<[u32; CLASSES]> = vec![[NONE; CLASSES]];
        let mut out: Vec<Vec<u16>> = vec![Vec::new()];
        for (id, p) in pats.iter().enumerate() {
            let mut s = 0usize;
            for &b in p.as_bytes() {
                let c = usize::from(CLASS[usize::from(b)]);
                if go[s][c] == NONE {
                    go[s][c] = go.len() as u32;
                    go.push([NONE; CLASSES]);
                    out.push(Vec::new());
                }
                s = go[s][c] as usize;
            }
            out[s].push(id as u16);
        }
        let n = go.len();
        let mut fail = vec![0usize; n];
        let mut delta = vec![[0u32; CLASSES]; n];
        let mut queue = std::collections::VecDeque::new();
        for c in 0..CLASSES {
            if go[0][c] != NONE {
                delta[0][c] = go[0][c];
                queue.push_back(go[0][c] as usize);
            }
        }
        while let Some(s) = queue.pop_front() {
            for c in 0..CLASSES {
                let t = go[s][c];
                if t == NONE {
                    delta[s][c] = delta[fail[s]][c];
                    continue;
                }
                let t = t as usize;
                let f = delta[fail[s]][c] as usize;
                fail[t] = f;
                let inherited = out[f].clone();
                out[t].extend(inherited);
                delta[s][c] = t as u32;
                queue.push_back(t);
            }
        }
        // Renumber: states without matches first (the root, which has none, stays 0).
        let mut order: Vec<usize> = (0..n).filter(|&s| out[s].is_empty()).collect();
        let quiet = order.len();
        order.extend((0..n).filter(|&s| !out[s].is_empty()));
        let mut new_id = vec![0u32; n];
        for (k, &s) in order.iter().enumerate() {
            new_id[s] = k as u32;
        }
        let mut next = Vec::with_capacity(n * CLASSES);
        for &s in &order {
            for &t in &delta[s] {
                next.push(new_id[t as usize] * CLASSES as u32);
            }
        }
        let mut start = Vec::with_capacity(n + 1);
        let mut ids = Vec::new();
        for &s in &order {
            start.push(ids.len() as u32);
            ids.extend_from_slice(&out[s]);
        }
        start.push(ids.len() as u32);
        Dfa {
            next,
            match_from: (quiet * CLASSES) as u32,
            start,
            ids,
        }
    }

    /// Patterns reported by state `s` (premultiplied).
    #[inline(always)]
    fn matches(&self, s: usize) -> &[u16] {
        let k = s / CLASSES;
        match (self.start.get(k), self.start.get(k + 1)) {
            (Some(&a), Some(&z)) => self.ids.get(a as usize..z as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Call `f(pattern, end)` for every match in `text`, in `aho_corasick` order.
    #[inline]
    fn for_each(&self, text: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut s = 0u32;
        for (i, &b) in text.iter().enumerate() {
            s = self.next[s as usize + usize::from(CLASS[usize::from(b)])];
            if s >= self.match_from {
                for &id in self.matches(s as usize) {
                    f(usize::from(id), i + 1);
                }
            }
        }
    }
}

struct Lexicon {
    dfa: Dfa,
    /// `dfa` with look-alike folding in its table.
    fold: fold::Folder,
    /// Brand indices by (length, first letter) and by (length, last letter), as offsets
    /// into `cands` (`first[b]..first[b + 1]`): one edit leaves the first or the last
    /// letter in place, so these two buckets hold every candidate.
    first: Vec<u16>,
    last: Vec<u16>,
    cands: Vec<u16>,
    /// [`byte_set`] of each brand.
    sets: Vec<u64>,
    /// For a token of length `n` and a letter `c`, `near[near_first[bucket(n, c)]..]` holds
    /// the brands of the `first` buckets of lengths `n - 1..=n + 1` (and `near_last` the
    /// `last` ones): two short runs instead of six buckets, with each brand's byte set at
    /// hand. They only say whether a token has a candidate at all; the first one is then
    /// picked from the ordered buckets.
    near_first: Vec<u32>,
    near_last: Vec<u32>,
    near: Vec<Near>,
}

/// A brand as a typo candidate.
#[derive(Clone, Copy)]
struct Near {
    set: u64,
    brand: &'static [u8],
}

/// Number of (length, letter) buckets.
const BUCKETS: usize = (MAX_EDIT_LEN + 2) * 37;

#[inline(always)]
fn bucket(len: usize, c: u8) -> usize {
    len * 37 + usize::from(c % 37)
}

fn patterns() -> Vec<&'static str> {
    BRANDS.iter().chain(KEYWORDS.iter()).copied().collect()
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let dfa = Dfa::new(&patterns());
        let mut by_first = vec![Vec::new(); BUCKETS];
        let mut by_last = vec![Vec::new(); BUCKETS];
        for (i, b) in BRANDS.iter().enumerate() {
            let b = b.as_bytes();
            if b.len() >= 5 && b.len() <= MAX_EDIT_LEN {
                by_first[bucket(b.len(), b[0])].push(i as u16);
                by_last[bucket(b.len(), b[b.len() - 1])].push(i as u16);
            }
        }
        let mut cands = Vec::new();
        let mut flat = |buckets: &[Vec<u16>]| {
            let mut starts = Vec::with_capacity(BUCKETS + 1);
            for v in buckets {
                starts.push(cands.len() as u16);
                cands.extend_from_slice(v);
            }
            starts.push(cands.len() as u16);
            starts
        };
        let first = flat(&by_first);
        let last = flat(&by_last);
        let mut near = Vec::new();
        let mut merged = |buckets: &[Vec<u16>]| {
            let mut starts = Vec::with_capacity(BUCKETS + 1);
            for k in 0..BUCKETS {
                starts.push(near.len() as u32);
                let (n, c) = (k / 37, k % 37);
                if n == 0 || n + 1 >= MAX_EDIT_LEN + 2 {
                    continue;
                }
                for len in n - 1..=n + 1 {
                    for &id in &buckets[len * 37 + c] {
                        let brand = BRANDS[usize::from(id)].as_bytes();
                        near.push(Near {
                            set: byte_set(brand),
                            brand,
                        });
                    }
                }
            }
            starts.push(near.len() as u32);
            starts
        };
        let near_first = merged(&by_first);
        let near_last = merged(&by_last);
        Lexicon {
            fold: fold::Folder::new(&dfa),
            dfa,
            first,
            last,
            cands,
            sets: BRANDS.iter().map(|b| byte_set(b.as_bytes())).collect(),
            near_first,
            near_last,
            near,
        }
    })
}

impl Lexicon {
    /// Brands in bucket `k` of `starts`.
    #[inline(always)]
    fn bucket<'a>(&'a self, starts: &[u16], k: usize) -> &'a [u16] {
        match (starts.get(k), starts.get(k + 1)) {
            (Some(&a), Some(&z)) => self
                .cands
                .get(usize::from(a)..usize::from(z))
                .unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl Lexicon {
    /// Candidates in run `k` of `starts` (`near_first` or `near_last`).
    #[inline(always)]
    fn near<'a>(&'a self, starts: &[u32], k: usize) -> &'a [Near] {
        match (starts.get(k), starts.get(k + 1)) {
            (Some(&a), Some(&z)) => self.near.get(a as usize..z as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The brand one edit away from token `t` (byte set `set`; only tokens of 5 to 30 bytes
    /// are checked), if any: the first in the order of lengths `n - 1`, `n`, `n + 1`, and
    /// within a length the brands with `t`'s first letter before those with its last letter.
    #[inline]
    fn typo(&self, t: &[u8], set: u64) -> Option<u16> {
        let n = t.len();
        if !(5..MAX_EDIT_LEN).contains(&n) {
            return None;
        }
        let (first, last) = (*t.first()?, *t.last()?);
        let mut any = false;
        for c in self.near(&self.near_first, bucket(n, first)) {
            any |= at_most_two_bits(set ^ c.set) && one_edit(t, c.brand);
        }
        for c in self.near(&self.near_last, bucket(n, last)) {
            any |= at_most_two_bits(set ^ c.set) && one_edit(t, c.brand);
        }
        if !any {
            return None;
        }
        // Rare: find the first one in the defined order.
        for len in n - 1..=n + 1 {
            let a = self.bucket(&self.first, bucket(len, first));
            let b = self.bucket(&self.last, bucket(len, last));
            for &id in a.iter().chain(b) {
                let id_set = self.sets.get(usize::from(id)).copied().unwrap_or(!0);
                if at_most_two_bits(set ^ id_set) && one_edit(t, BRANDS[usize::from(id)].as_bytes())
                {
                    return Some(id);
                }
            }
        }
        None
    }
}

/// Whether at most two bits of `x` are set (`count_ones() <= 2` without a popcount
/// instruction, which the baseline x86-64 target lacks).
#[inline(always)]
fn at_most_two_bits(x: u64) -> bool {
    let y = x & x.wrapping_sub(1);
    y & y.wrapping_sub(1) == 0
}

/// Build the automaton now (it is otherwise built on first use).
pub(crate) fn warm_up() {
    let _ = lexicon();
    let _ = is_owner("");
}

fn owner_key(s: &str) -> u64 {
    crate::hash::bytes(crate::hash::seed(0x0e), s.as_bytes())
}

/// Sorted keys of brand and owner labels, and a 4,096-bit filter of them that turns most
/// labels away without the binary search.
struct Owners {
    keys: Vec<u64>,
    filter: [u64; 64],
}

#[inline(always)]
fn owner_bit(k: u64) -> usize {
    (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize
}

/// Whether the registered label owns a brand. Compares 64-bit hashes in a sorted table:
/// cheaper than hashing with SipHash and comparing strings.
fn is_owner(label: &str) -> bool {
    static OWN: OnceLock<Owners> = OnceLock::new();
    let own = OWN.get_or_init(|| {
        let mut keys: Vec<u64> = BRANDS.iter().chain(OWNERS).map(|s| owner_key(s)).collect();
        keys.sort_unstable();
        let mut filter = [0u64; 64];
        for &k in &keys {
            let b = owner_bit(k);
            filter[(b >> 6) % 64] |= 1 << (b & 63);
        }
        Owners { keys, filter }
    });
    let k = owner_key(label);
    let b = owner_bit(k);
    own.filter[(b >> 6) % 64] & (1 << (b & 63)) != 0 && own.keys.binary_search(&k).is_ok()
}

/// Bit set of the bytes of `s` (bit `b % 64` for byte `b`). A string one edit away from
/// another differs from it in at most two such bits, which rules out most candidates
/// before the edit check.
#[inline(always)]
fn byte_set(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |m, &b| m | 1 << (b & 63))
}

/// Folded form of a byte that folds on its own (0: dropped); `r` and `v` fold in pairs.
const FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b as u8;
        b += 1;
    }
    t[b'0' as usize] = b'o';
    t[b'1' as usize] = b'l';
    t[b'3' as usize] = b'e';
    t[b'4' as usize] = b'a';
    t[b'5' as usize] = b's';
    t[b'7' as usize] = b't';
    t[b'-' as usize] = 0;
    t
};

/// Whether the folding scan changes anything in `s` (read up to a point where it stopped after
/// a byte): a byte that folds on its own, or an `rn` / `vv` pair (`r` is never the second
/// byte of a pair, and a run of `v`s is paired from its start, so any such pair in `s` was
/// folded).
fn folds(s: &[u8]) -> bool {
    s.iter().any(|&b| FOLD[usize::from(b)] != b) || s.windows(2).any(|w| w == b"rn" || w == b"vv")
}

/// Whether `needle` occurs in `hay`: for a brand in a name, a first-byte scan is cheaper
/// than setting up a substring searcher.
#[inline]
fn find(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    hay.len() >= needle.len()
        && (0..=hay.len() - needle.len())
            .any(|i| hay[i] == first && same(&hay[i + 1..i + needle.len()], rest))
}

/// Byte-wise equality of short slices (no `memcmp` call).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether `a` and `b` are exactly one edit apart (insert, delete, substitute or swap).
#[inline]
fn one_edit(a: &[u8], b: &[u8]) -> bool {
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if l.len() - s.len() > 1 {
        return false;
    }
    let p = s.iter().zip(l).take_while(|(x, y)| x == y).count();
    if s.len() == l.len() {
        if p == s.len() {
            return false;
        }
        // substitution, or adjacent swap
        same(&s[p + 1..], &l[p + 1..])
            || (p + 1 < s.len()
                && s[p] == l[p + 1]
                && s[p + 1] == l[p]
                && same(&s[p + 2..], &l[p + 2..]))
    } else {
        same(&s[p..], &l[p + 1..])
    }
}

/// What [`scan`]'s automaton passes found so far, and the text they run over.
struct Hits<'a> {
    h: LexHits,
    label: &'a str,
    sub: &'a str,
    /// Whether the pass is over the subdomain (else the registered label).
    in_sub: bool,
}

impl Hits<'_> {
    /// Pattern `pid` found in the current part, ending at `end` (of the text as written).
    /// Out of line: most bytes match nothing, and the scan loop keeps its registers.
    #[inline(never)]
    fn hit(&mut self, pid: usize, end: usize) {
        let h = &mut self.h;
        let nb = BRANDS.len();
        if pid >= nb {
            let kid = (pid - nb) as u16;
            h.kw_first.get_or_insert(kid);
            if self.in_sub {
                h.kw_sub = h.kw_sub.saturating_add(1);
            } else {
                h.kw_label = h.kw_label.saturating_add(1);
            }
            return;
        }
        let Some(&brand) = BRANDS.get(pid) else {
            return;
        };
        if h.owned || brand == self.label {
            return;
        }
        let orig = if self.in_sub { self.sub } else { self.label };
        // Unchanged so far: the folded match is the written text.
        let changed = folds(orig.as_bytes().get(..end).unwrap_or(orig.as_bytes()));
        let written = !changed || find(orig.as_bytes(), brand.as_bytes());
        let id = pid as u16;
        if !written {
            h.brand_glyph.get_or_insert(id);
        } else if self.in_sub {
            h.brand_sub.get_or_insert(id);
        } else {
            h.brand_label.get_or_insert(id);
        }
    }
}

/// Scan the registered label and subdomain of a name.
///
/// One automaton pass over `folded(sub)` and one over `folded(label)`, folding on the fly;
/// a brand found where folding changed the text counts as a look-alike only if it is not
/// also there as written. Then, unless the label owns a brand, tokens of 5 to 30 bytes are
/// checked for brands one edit away.
pub(crate) fn scan(label: &str, sub: &str) -> LexHits {
    let lex = lexicon();
    let h = LexHits {
        owned: is_owner(label),
        ..LexHits::default()
    };
    let mut cx = Hits {
        h,
        label,
        sub,
        in_sub: true,
    };
    // The dot between the parts is in no pattern: the label's pass starts at the root.
    lex.fold.scan(&lex.dfa, sub.as_bytes(), &mut cx);
    cx.in_sub = false;
    lex.fold.scan(&lex.dfa, label.as_bytes(), &mut cx);
    let mut h = cx.h;
    if h.owned {
        return h;
    }
    for part in [label.as_bytes(), sub.as_bytes()] {
        // Tokens and their byte sets in one pass.
        let mut start = 0;
        let mut set = 0u64;
        for (i, &b) in part.iter().enumerate() {
            if !matches!(b, b'-' | b'.' | b'_') {
                set |= 1 << (b & 63);
                continue;
            }
            if i - start >= 5 {
                if let Some(id) = lex.typo(part.get(start..i).unwrap_or(&[]), set) {
                    h.brand_typo = Some(id);
                    return h;
                }
            }
            start = i + 1;
            set = 0;
        }
        if part.len() - start.min(part.len()) < 5 {
            continue;
        }
        if let Some(id) = lex.typo(part.get(start..).unwrap_or(&[]), set) {
            // The first candidate found is kept; nothing else is left to do.
            h.brand_typo = Some(id);
            return h;
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
    let mut first = None;
    lexicon().dfa.for_each(ascii, |p, _| {
        if p < nb && first.is_none() {
            first = Some(p as u16);
        }
    });
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flat automaton reports what `aho_corasick` reports, in the same order.
    #[test]
    fn dfa_matches_aho_corasick() {
        use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
        let pats = patterns();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&pats)
            .unwrap();
        let dfa = Dfa::new(&pats);
        let mut texts: Vec<String> = pats.iter().map(|p| p.to_string()).collect();
        for (i, a) in pats.iter().enumerate() {
            let b = pats[(i * 7 + 3) % pats.len()];
            let c = pats[(i * 13 + 5) % pats.len()];
            texts.push(format!("{a}{b}.x{c}{a}"));
            texts.push(format!("{}{b}", &a[a.len() / 2..]));
        }
        let mut rng = crate::hash::SplitMix::new(7);
        let alpha = b"aeioulnrstpcmdygbkfhwvxz0123456789.-_";
        for _ in 0..20_000 {
            let n = 1 + rng.below(40);
            let t: Vec<u8> = (0..n).map(|_| alpha[rng.below(alpha.len())]).collect();
            texts.push(String::from_utf8(t).unwrap());
        }
        for t in &texts {
            let want: Vec<(usize, usize)> = ac
                .find_overlapping_iter(t.as_bytes())
                .map(|m| (m.pattern().as_usize(), m.end()))
                .collect();
            let mut got = Vec::new();
            dfa.for_each(t.as_bytes(), |p, e| got.push((p, e)));
            assert_eq!(got, want, "{t}");
        }
    }

    /// A brand or keyword, mangled the ways phishing names are: look-alike digits, `rn`
    /// for `m`, `vv` for `w`, hyphens, one edit, glued to other words.
    fn mangle(rng: &mut crate::hash::SplitMix, w: &str) -> String {
        let mut out = String::new();
        for c in w.chars() {
            let r = rng.below(12);
            match (c, r) {
                ('o', 0) => out.push('0'),
                ('l', 0) => out.push('1'),
                ('e', 0) => out.push('3'),
                ('a', 0) => out.push('4'),
                ('s', 0) => out.push('5'),
                ('t', 0) => out.push('7'),
                ('m', 0 | 1) => out.push_str("rn"),
                ('w', 0 | 1) => out.push_str("vv"),
                (_, 2) => {
                    out.push(c);
                    out.push('-');
                }
                (_, 3) if rng.below(3) == 0 => {}
                (_, 4) if rng.below(3) == 0 => {
                    out.push(c);
                    out.push(char::from(b"aeiorvnm0"[rng.below(9)]));
                }
                (_, 5) if rng.below(3) == 0 => out.push(char::from(b"aeilnrstv"[rng.below(9)])),
                _ => out.push(c),
            }
        }
        out
    }

    /// The faster scan agrees exactly with the straightforward one it replaced.
    #[test]
    fn scan_matches_reference() {
        let mut rng = crate::hash::SplitMix::new(11);
        let words: Vec<&str> = BRANDS
            .iter()
            .chain(KEYWORDS)
            .chain(OWNERS)
            .copied()
            .collect();
        let mut cases: Vec<(String, String)> = Vec::new();
        for w in &words {
            cases.push((w.to_string(), String::new()));
            cases.push(("example".into(), w.to_string()));
            cases.push((format!("{w}-login"), format!("www.{w}")));
        }
        let alpha = b"aeioulnrstpcmdygbkfhwvxz0123456789-_rnvvrn";
        for _ in 0..60_000 {
            let part = |rng: &mut crate::hash::SplitMix, dots: bool| {
                let mut t = String::new();
                for k in 0..rng.below(4) {
                    if k > 0 {
                        t.push(if dots { '.' } else { '-' });
                    }
                    match rng.below(3) {
                        0 => t.push_str(words[rng.below(words.len())]),
                        1 => {
                            let w = words[rng.below(words.len())];
                            t.push_str(&mangle(rng, w));
                        }
                        _ => {
                            for _ in 0..1 + rng.below(12) {
                                t.push(char::from(alpha[rng.below(alpha.len())]));
                            }
                        }
                    }
                }
                t
            };
            let label = part(&mut rng, false);
            let sub = part(&mut rng, true);
            cases.push((label, sub));
        }
        let mut typos = 0;
        let mut glyphs = 0;
        for (label, sub) in &cases {
            let got = scan(label, sub);
            let want = reference::scan(label, sub);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{label:?} {sub:?}");
            typos += usize::from(got.brand_typo.is_some());
            glyphs += usize::from(got.brand_glyph.is_some());
        }
        // The cases do reach the rare paths.
        assert!(typos > 1_000 && glyphs > 1_000, "{typos} {glyphs}");
    }

    /// Every state goes back to the root on a byte that is in no pattern, so a new part's
    /// pass may start at the root.
    #[test]
    fn unused_byte_resets() {
        let dfa = &lexicon().dfa;
        for s in (0..dfa.next.len()).step_by(CLASSES) {
            assert_eq!(dfa.next[s + usize::from(CLASS[usize::from(b'.')])], 0);
        }
    }

    /// The scan indexes the table without a check that could fail: every transition is
    /// the start of a row, and every byte's class is a column.
    #[test]
    fn transitions_stay_in_the_table() {
        let dfa = &lexicon().dfa;
        assert_eq!(dfa.next.len() % CLASSES, 0);
        for &t in &dfa.next {
            assert!((t as usize) % CLASSES == 0 && (t as usize) < dfa.next.len());
        }
        assert!(CLASS.iter().all(|&c| usize::from(c) < CLASSES));
        assert!(fold::Folder::fits(dfa));
        assert!(dfa.match_from as usize <= dfa.next.len());
    }

    /// Arbitrary bytes never panic.
    #[test]
    fn scan_random_bytes() {
        let mut rng = crate::hash::SplitMix::new(3);
        for _ in 0..20_000 {
            let n = rng.below(70);
            let b: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            let s = String::from_utf8_lossy(&b);
            let (a, z) = s.split_at(s.char_indices().nth(n / 3).map_or(0, |(i, _)| i));
            let got = scan(a, z);
            let want = reference::scan(a, z);
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn two_bits() {
        for x in [0u64, 1, 2, 3, 5, 1 << 63, (1 << 63) | 1, 7, 11, u64::MAX] {
            assert_eq!(at_most_two_bits(x), x.count_ones() <= 2, "{x}");
        }
    }

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
