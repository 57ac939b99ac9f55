//! # trawl-alert
//!
//! Alerts from Zeek and dnsmasq records, once, wherever they are needed.
//!
//! - **Rules** ([`rules`]) are written in the `[alerts]` part of the `trawl run` configuration
//!   ([`config::AlertsConfig`]); their conditions are in the expression language of
//!   `trawl query` (crate `trawl-query`): `phish_score >= 0.9`. Kinds: `match` (a condition:
//!   thresholds on any field), `file_hash` (files.log MIME types -> hashes with context),
//!   `software` (software.log versions below a threshold, compared as versions), `user_agent`
//!   (a user-agent that does not fit what the host's other traffic says about its OS), and
//!   `first_seen` (a registered domain never seen before on this network).
//! - **Every [`Alert`]** carries the rule, severity, time, the record's key fields, the
//!   workstation, the uid and a pivot link from a URL template (`{uid}`, `{query}`,
//!   `{id.orig_h}` ...; [`Template`]).
//! - **The [`Engine`]** applies mutes (`trawl alert mute`, seen by a running pipeline at its
//!   next batch), de-duplication per rule key over a window (the rule's `dedup`, else
//!   `[alerts] dedup`, else the kind's: [`config::default_dedup`]; kept in the [`Store`], so it
//!   survives a restart) and aggregation (many alerts in a window become one summary). The
//!   repeats a window keeps quiet are counted in the store and reported once a day, one
//!   [`digest`] alert per rule. Summaries and digests carry a pivot link too.
//! - **Delivery** ([`Dispatcher`]): every fired alert is first written to the store's outbox,
//!   once per destination, in the same transaction as its de-duplication window; one task per
//!   destination sends it (Slack Block Kit, generic webhooks with a JSON body template,
//!   email over SMTP, JSON lines), retrying with back-off, and marks it done. A destination
//!   that is down delays only its own alerts, and they are sent when it returns, in order and
//!   once.
//!
//! ```no_run
//! # async fn demo(rec: &trawl_zeek::Record<'_>) -> Result<(), Box<dyn std::error::Error>> {
//! use trawl_alert::{config::AlertsConfig, Clock, Engine, Store};
//! let cfg: AlertsConfig = toml::from_str(r#"
//!     [destinations.out]
//!     type = "stdout"
//!     [rules.phishing]
//!     log = "dns"
//!     when = "phish_score >= 0.9"
//!     severity = "high"
//! "#)?;
//! let store = Store::open("alerts.sqlite".as_ref())?;
//! let dests = trawl_alert::destinations(&cfg).map_err(|e| format!("{e:?}"))?;
//! let mut engine = Engine::new(&cfg, store.clone(), trawl_alert::routes(&cfg), Clock::Wall)
//!     .map_err(|e| format!("{e:?}"))?;
//! let dispatcher = trawl_alert::Dispatcher::start(store, dests, Default::default());
//! if !engine.process(rec).is_empty() {
//!     dispatcher.wake();
//! }
//! # Ok(()) }
//! ```

pub mod alert;
pub mod cond;
pub mod config;
pub mod deliver;
pub mod dest;
pub mod digest;
pub mod duration;
pub mod engine;
pub mod rules;
pub mod store;
pub mod template;
pub mod ua;

pub use alert::{Alert, Severity};
pub use config::{AlertsConfig, ConfigError};
pub use deliver::{DeliveryOptions, Dispatcher};
pub use dest::Destination;
pub use engine::{Clock, Engine, SharedSeen, Stats};
pub use store::{Mute, Store, StoreError};
pub use template::Template;
/// Where a destination's secret comes from (inline, `{ env = ... }`, `{ file = ... }`).
pub use trawl_sinks::SecretSource as Secret;

/// Destination names and the lowest severity each takes, for [`Engine::new`].
pub fn routes(cfg: &AlertsConfig) -> Vec<(String, Option<Severity>)> {
    cfg.destinations
        .iter()
        .map(|(n, d)| (n.clone(), d.min_severity()))
        .collect()
}

/// Builds every destination (reading secrets); every mistake is returned.
pub fn destinations(cfg: &AlertsConfig) -> Result<Vec<Box<dyn Destination>>, Vec<ConfigError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, d) in &cfg.destinations {
        match dest::build(name, d) {
            Ok(x) => out.push(x),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Fields the destinations' templates read (alerts must carry them).
pub fn template_fields(cfg: &AlertsConfig) -> Vec<String> {
    cfg.destinations
        .values()
        .flat_map(dest::template_fields)
        .collect()
}
