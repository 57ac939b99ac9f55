//! Scores must not move when the scoring code is only made faster.
//!
//! `tests/data/golden.tsv` holds the exact f32 bits of both scores of 4,000 generated names
//! (brands, keywords, look-alikes, typos, dictionary phrases, random labels, digits,
//! hyphens, platforms, host labels, IDN, odd suffixes) under the model whose fingerprint is
//! on its first line. A speed change must reproduce them bit for bit. A new model changes
//! scores on purpose: regenerate the file with `TRAWL_SCORE_BLESS=1 cargo test -p
//! trawl-score --test golden` and say so in the commit.
//!
//! With `TRAWL_SHARED` set, the same holds for a digest of the scores of every 5th name of
//! the labelled lists (the names themselves stay out of the repository).

use std::fmt::Write as _;
use std::path::PathBuf;
use trawl_score::{Model, Verdict, BRANDS, EXTRA_PLATFORMS, HOST_LABELS, KEYWORDS};

const WORDS: &str = include_str!("../data/words.txt");

/// xorshift64*: a fixed generator, so the names never change.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

fn names() -> Vec<String> {
    let words: Vec<&str> = WORDS.lines().filter(|w| w.len() >= 2).collect();
    let tlds = [
        "com",
        "net",
        "org",
        "xyz",
        "top",
        "ru",
        "cn",
        "co.uk",
        "com.br",
        "de",
        "info",
        "biz",
        "cc",
        "tk",
        "cx",
        "io",
        "online",
        "site",
        "github.io",
        "duckdns.org",
        "pages.dev",
        "workers.dev",
        "vercel.app",
        "googleapis.com",
        "amazonaws.com",
        "cloudfront.net",
        "blogspot.com",
        "corp",
        "internal",
        "appspot.com",
        "azurewebsites.net",
    ];
    let unicode = [
        "bücher",
        "münchen",
        "раураl",
        "аррlе",
        "gооgle",
        "ｐａｙｐａｌ",
        "пример",
        "例え",
        "faceboök",
        "ámazon",
    ];
    let mut r = Rng(0x2f1e_d0c3_b4a5_9687);
    let mut out = Vec::with_capacity(4000);
    let alpha = b"abcdefghijklmnopqrstuvwxyz0123456789";
    while out.len() < 4000 {
        let random = |r: &mut Rng, n: usize, digits: bool| -> String {
            let k = if digits { alpha.len() } else { 26 };
            (0..n).map(|_| char::from(alpha[r.below(k)])).collect()
        };
        let label = match r.below(12) {
            0 => r.pick(BRANDS).to_string(),
            1 => format!("{}-{}", r.pick(BRANDS), r.pick(KEYWORDS)),
            2 => format!("{}{}{}", r.pick(KEYWORDS), r.pick(BRANDS), r.below(100)),
            3 => {
                // look-alike or one edit away
                let b = r.pick(BRANDS);
                let mut s: Vec<u8> = b.bytes().collect();
                let i = r.below(s.len());
                match r.below(4) {
                    0 => s[i] = b"0134578"[r.below(7)],
                    1 => {
                        s.remove(i);
                    }
                    2 => s.insert(i, alpha[r.below(26)]),
                    _ => {
                        if i + 1 < s.len() {
                            s.swap(i, i + 1)
                        }
                    }
                }
                String::from_utf8(s).unwrap_or_default()
            }
            4 | 5 => (0..2 + r.below(5)).map(|_| r.pick(&words)).collect(),
            6 => {
                let n = 4 + r.below(20);
                random(&mut r, n, false)
            }
            7 => {
                let n = 2 + r.below(30);
                random(&mut r, n, true)
            }
            8 => format!("{}-{}", r.pick(&words), r.pick(&words)),
            9 => r.pick(&unicode).to_string(),
            10 => format!("{}{}", r.pick(&words), r.below(10_000)),
            _ => r.pick(&words).to_string(),
        };
        if label.is_empty() {
            continue;
        }
        let suffix = match r.below(10) {
            0 => r.pick(EXTRA_PLATFORMS).to_string(),
            _ => r.pick(&tlds).to_string(),
        };
        let mut name = String::new();
        match r.below(8) {
            0 => name.push_str(r.pick(HOST_LABELS)),
            1 => {
                let _ = write!(name, "{}.com.{}", r.pick(BRANDS), r.pick(KEYWORDS));
            }
            2 => {
                let _ = write!(name, "{}.{}", r.pick(KEYWORDS), r.pick(&words));
            }
            3 => {
                let n = 8 + r.below(40);
                name.push_str(&random(&mut r, n, true));
            }
            4 => {
                let _ = write!(name, "www.{}-{}", r.pick(BRANDS), r.pick(KEYWORDS));
            }
            _ => {}
        }
        if !name.is_empty() {
            name.push('.');
        }
        let _ = write!(name, "{label}.{suffix}");
        if r.below(20) == 0 {
            name = name.to_uppercase();
        }
        if r.below(30) == 0 {
            name.push('.');
        }
        out.push(name);
    }
    out
}

fn line(m: &Model, name: &str) -> String {
    match m.score(name) {
        Ok(Verdict::Scored(s)) => {
            format!("{name}\t{:08x}\t{:08x}", s.phish.to_bits(), s.dga.to_bits())
        }
        Ok(Verdict::Unscored(k)) => format!("{name}\t{k:?}"),
        Err(e) => format!("{name}\terror: {e}"),
    }
}

fn shared_digest(m: &Model) -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("TRAWL_SHARED")?).join("domains");
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut n = 0usize;
    for f in ["benign.tsv", "phish.tsv", "dga.tsv"] {
        let path = dir.join(f);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("TRAWL_SHARED is set but {}: {e}", path.display()));
        for l in text.lines().step_by(5) {
            let name = l.split('\t').next().unwrap_or("");
            for b in line(m, name).bytes().chain([b'\n']) {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            n += 1;
        }
    }
    Some(format!("{n} names {h:016x}"))
}

#[test]
fn scores_are_bit_identical_to_the_recorded_ones() {
    let m = Model::builtin().expect("built-in model");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden.tsv");
    let got: Vec<String> = names().iter().map(|n| line(m, n)).collect();
    let digest = shared_digest(m);
    if std::env::var_os("TRAWL_SCORE_BLESS").is_some() {
        let mut text = format!("model\t{}\n", m.fingerprint_hex());
        if let Some(d) = &digest {
            let _ = writeln!(text, "shared\t{d}");
        }
        for l in &got {
            let _ = writeln!(text, "{l}");
        }
        std::fs::write(&path, text).expect("write golden file");
        return;
    }
    let text = std::fs::read_to_string(&path).expect("tests/data/golden.tsv");
    let mut lines = text.lines();
    let model = lines.next().unwrap_or("");
    assert_eq!(
        model,
        format!("model\t{}", m.fingerprint_hex()),
        "the golden scores are for another model: if the model changed on purpose, \
         regenerate them (TRAWL_SCORE_BLESS=1)"
    );
    let mut want: Vec<&str> = lines.collect();
    if want.first().is_some_and(|l| l.starts_with("shared\t")) {
        let recorded = want.remove(0).trim_start_matches("shared\t");
        match &digest {
            Some(d) => assert_eq!(d, recorded, "scores of the labelled lists moved"),
            None => eprintln!("TRAWL_SHARED is not set: labelled-list digest skipped"),
        }
    }
    assert_eq!(want.len(), got.len(), "number of golden names");
    let diff: Vec<_> = want
        .iter()
        .zip(&got)
        .filter(|(w, g)| *w != *g)
        .map(|(w, g)| format!("want {w}\n got {g}"))
        .collect();
    assert!(
        diff.is_empty(),
        "{} of {} names score differently, first:\n{}",
        diff.len(),
        got.len(),
        diff.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
