//! The shared score cache against a real Redis (`TRAWL_REDIS_URL`, started by
//! scripts/services/redis.sh); skipped when unset.

use std::time::Duration;

use trawl_enrich::cache::key_prefix;
use trawl_enrich::{ModelRef, Outcome, RedisCache, RedisConfig, Scorer};

fn url() -> Option<String> {
    let u = std::env::var("TRAWL_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if u.is_none() {
        println!("skipped: TRAWL_REDIS_URL unset");
    }
    u
}

fn model() -> ModelRef {
    ModelRef::Static(trawl_score::Model::builtin().unwrap())
}

fn scorer(config: RedisConfig, reasons: bool) -> Scorer {
    let m = model();
    let fp = m.fingerprint();
    Scorer::new(m, 1000, reasons).with_shared(Box::new(RedisCache::new(config, fp).unwrap()))
}

/// Names unique to this run, so reruns against the same server start cold.
fn names(tag: &str) -> Vec<String> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    vec![
        format!("{tag}-{nonce}.example.com"),
        format!("qxv{nonce}kzjw.net"),
        "192.0.2.1".to_string(),
        "bad..name".to_string(),
        format!("login-{nonce}.paypal.com.secure.example.xyz"),
    ]
}

#[test]
fn scores_are_shared_by_fingerprint_with_a_ttl() {
    let Some(url) = url() else { return };
    let mut config = RedisConfig::new(&url);
    config.ttl = Some(Duration::from_secs(120));
    let names = names("shared");
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();

    let mut first = scorer(config.clone(), true);
    let a = first.score_batch(&refs);
    let s = first.stats();
    assert_eq!(s.scored, 5);
    assert_eq!(s.shared.unwrap().misses, 5);
    assert_eq!(s.shared.unwrap().writes, 5);
    assert_eq!(s.shared.unwrap().errors, 0);
    assert!(matches!(a[0].outcome, Outcome::Scored { .. }));
    assert_eq!(a[2].outcome, Outcome::Unscored);
    assert_eq!(a[3].outcome, Outcome::Invalid);

    // The keys carry the model fingerprint and expire.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    let key = format!("{}{}", key_prefix(model().fingerprint()), names[0]);
    assert!(key.starts_with(&format!("trawl:score:v1:{}:", model().fingerprint_hex())));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut con).unwrap();
    assert!((100..=120).contains(&ttl), "ttl {ttl}");

    // A second instance hits everything the first stored, scoring nothing.
    let mut second = scorer(config.clone(), true);
    let b = second.score_batch(&refs);
    assert_eq!(a, b);
    let s = second.stats();
    assert_eq!((s.scored, s.shared.unwrap().hits), (0, 5));

    // Another model fingerprint never sees those scores.
    let other = RedisCache::new(config.clone(), model().fingerprint() ^ 1).unwrap();
    let mut third = Scorer::new(model(), 1000, false).with_shared(Box::new(other));
    third.score_batch(&refs);
    assert_eq!(third.stats().scored, 5);

    // An instance without reasons reuses entries with reasons; one with reasons does not
    // accept entries without them.
    let mut plain = scorer(config.clone(), false);
    plain.score_batch(&refs);
    assert_eq!(plain.stats().scored, 0);
    let _: () = redis::cmd("DEL").arg(&key).query(&mut con).unwrap();
    let mut plain = scorer(config.clone(), false);
    plain.score_batch(&refs[..1]);
    let mut wants = scorer(config, true);
    wants.score_batch(&refs[..1]);
    assert_eq!((plain.stats().scored, wants.stats().scored), (1, 1));
}

#[test]
fn redis_going_away_degrades_to_scoring() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = RedisConfig::new(format!("redis://127.0.0.1:{port}/"));
    config.timeout = Duration::from_millis(100);
    let names = names("down");
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut s = scorer(config, false);
    let got = s.score_batch(&refs);
    assert!(matches!(got[0].outcome, Outcome::Scored { .. }));
    let st = s.stats();
    assert_eq!(st.scored, 5);
    assert!(st.shared.unwrap().errors >= 1);
    // Within the back-off, no new connection attempts: errors do not grow per batch.
    let before = st.shared.unwrap().errors;
    s.score_batch(&["another.example.org", "yet-another.example.org"]);
    assert_eq!(s.stats().shared.unwrap().errors, before);
    assert_eq!(s.stats().scored, 7);

    // A bad URL is the one configuration error.
    assert!(RedisCache::new(RedisConfig::new("nonsense://x"), 1).is_err());
}
