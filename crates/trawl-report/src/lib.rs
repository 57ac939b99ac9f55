//! Hourly and daily reports over Zeek and DNS logs (`trawl report`, and `[reports]` in
//! `trawl run`): what zeekctl's trace-summary mails (top talkers local and remote, services
//! and ports, bytes in and out, connection states worth a look) plus DNS (top registered
//! domains and TLDs, names new this period, NXDOMAIN per client, the highest phishing/DGA
//! scores with client and workstation), alerts fired and muted, outdated software, and what
//! changed against the period before.
//!
//! - [`period`]: periods aligned to UTC hours and days.
//! - [`build`]: one parallel scan over the logs of a period and the one before.
//! - [`model`]: the figures, serialised as the JSON format.
//! - [`render`]: text, HTML (inline CSS, escaped) and Slack.

pub mod build;
pub mod model;
pub mod period;
pub mod render;
pub mod tally;

pub use build::{build, Stores};
pub use model::Report;
pub use period::{parse_every, Period};
