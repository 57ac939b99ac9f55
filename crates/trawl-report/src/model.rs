//! What a report says, as plain data: serialised as the JSON format and rendered as text,
//! HTML and Slack.

use serde::{Deserialize, Serialize};

/// One report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub period: PeriodInfo,
    /// When it was made, RFC 3339 UTC.
    pub generated: String,
    pub input: InputInfo,
    /// This period's headline figures.
    pub headline: Headline,
    /// The previous period's, to compare.
    pub previous: Headline,
    /// What changed against the previous period, most notable first.
    pub changes: Vec<Change>,
    pub traffic: Traffic,
    pub dns: Dns,
    /// `None` when no alert store was there to read.
    pub alerts: Option<Alerts>,
    /// Software older than the newest seen on the network or below a supported floor.
    pub outdated_software: Vec<Outdated>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// `1h`, `1d`.
    pub every: String,
    pub start: String,
    pub end: String,
    pub start_epoch: i64,
    pub end_epoch: i64,
    /// `2025-11-20 09:00 to 10:00 UTC`.
    pub label: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputInfo {
    pub files: u64,
    /// Records read (of every period and type).
    pub records: u64,
    /// Records in this period that the report counts.
    pub in_period: u64,
    pub problems: u64,
    /// The times of the records read, to say where the data is when the period is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_record: Option<String>,
}

/// The figures compared period to period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub connections: u64,
    pub bytes: u64,
    /// Bytes leaving the local networks (outbound originators' and inbound responders').
    pub bytes_out: u64,
    /// Bytes entering them.
    pub bytes_in: u64,
    pub local_hosts: u64,
    pub dns_queries: u64,
    pub dns_names: u64,
    pub dns_clients: u64,
    pub nxdomain: u64,
    pub nxdomain_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// What it is about: `connections`, `new local talker` ...
    pub what: String,
    /// One line for people.
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Traffic {
    pub directions: Vec<Direction>,
    /// Local hosts by bytes.
    pub local_talkers: Vec<Talker>,
    /// Remote hosts by bytes.
    pub remote_talkers: Vec<Talker>,
    /// Local hosts by connections.
    pub local_by_connections: Vec<Talker>,
    pub services: Vec<Usage>,
    /// Responder ports (`443/tcp`).
    pub ports: Vec<Usage>,
    /// Every connection state seen, commonest first.
    pub states: Vec<State>,
    /// Originators of failed attempts (S0, REJ, RSTOS0, RSTRH, SH), by distinct targets.
    pub failed_sources: Vec<Failed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Direction {
    pub direction: String,
    pub connections: u64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Talker {
    pub host: String,
    /// Its local network's name (`[networks]`, networks.cfg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    pub bytes: u64,
    pub sent: u64,
    pub received: u64,
    pub connections: u64,
}

impl Talker {
    /// `192.168.1.10 (alice-laptop)`, or the address alone.
    pub fn who(&self) -> String {
        match &self.workstation {
            Some(w) => format!("{} ({w})", self.host),
            None => self.host.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Usage {
    pub name: String,
    pub connections: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub state: String,
    pub meaning: String,
    pub connections: u64,
    /// A state worth a look (failed or half-open connections).
    pub look: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failed {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    pub attempts: u64,
    pub targets: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dns {
    pub top_domains: Vec<Domain>,
    pub top_tlds: Vec<Tld>,
    /// Names new this period: first seen in it by the passive DNS store when one is given,
    /// else not asked the period before (`None` without a store and without DNS data the
    /// period before).
    pub new_names: Option<NewNames>,
    /// Clients by NXDOMAIN answers.
    pub nxdomain_clients: Vec<NxClient>,
    /// The names the scorer finds most likely phishing or DGA (max score >= 0.5).
    pub top_scores: Vec<Scored>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Domain {
    pub domain: String,
    pub queries: u64,
    pub names: u64,
    pub clients: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tld {
    pub tld: String,
    pub queries: u64,
    pub domains: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewNames {
    /// What "new" was judged against: `the passive DNS store` (first seen in this period, or
    /// unknown to the store) or `the period before` (not asked then).
    pub basis: String,
    pub count: u64,
    /// The most asked of them.
    pub examples: Vec<NameCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NameCount {
    pub name: String,
    pub queries: u64,
    pub clients: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NxClient {
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    pub queries: u64,
    pub nxdomain: u64,
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scored {
    pub name: String,
    pub phish: f64,
    pub dga: f64,
    pub queries: u64,
    /// The first clients (at most 5).
    pub clients: Vec<String>,
    pub workstations: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Alerts {
    /// Alerts about records of this period that went to a destination.
    pub fired: u64,
    pub by_rule: Vec<RuleCount>,
    /// Mutes in force at the end of the period.
    pub mutes_active: u64,
    /// Mutes added during the period.
    pub mutes_added: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleCount {
    pub rule: String,
    pub severity: String,
    pub count: u64,
    /// The first alert's title.
    pub example: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outdated {
    pub host: String,
    pub software: String,
    pub version: String,
    pub why: String,
}
