//! ClickHouse over its HTTP interface: TabSeparated INSERTs (Zeek TSV rows go nearly as
//! read), a MergeTree table per log type created on first use, and a column added when a
//! record brings a new field.

mod row;
mod schema;
mod tsv;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use trawl_stream::{Event, Metrics, Sink, StreamError};

use crate::config::{Auth, HttpOptions};
use crate::deliver::{Attempt, Delivery, Destination};
use crate::error::SinkError;
use crate::http;
use crate::raw::RawJson;
use schema::{literal, quote, ChType, TS};

const SERVICE: &str = "clickhouse";

/// Where and how [`ClickHouseSink`] writes.
#[derive(Debug, Clone, Deserialize)]
pub struct ClickHouseConfig {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123/`.
    pub url: String,
    /// Created if missing.
    #[serde(default = "default_database")]
    pub database: String,
    /// Tables are named prefix + log type (`zeek_dns`).
    #[serde(default = "default_prefix")]
    pub table_prefix: String,
    /// Basic authentication (ClickHouse user and password); API keys do not apply.
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub http: HttpOptions,
}

fn default_database() -> String {
    "default".into()
}

fn default_prefix() -> String {
    "zeek_".into()
}

impl ClickHouseConfig {
    /// The defaults for a server URL.
    pub fn new(url: impl Into<String>) -> Self {
        ClickHouseConfig {
            url: url.into(),
            database: default_database(),
            table_prefix: default_prefix(),
            auth: Auth::None,
            http: HttpOptions::default(),
        }
    }
}

/// One row, as sent, spooled and dead-lettered.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Row {
    table: Arc<str>,
    /// Column names and the types trawl wants for them (shared by rows alike).
    cols: Columns,
    /// The values in `cols`' order, TabSeparated (see `tsv`).
    #[serde(default)]
    tsv: String,
    /// A row spooled by trawl before 0.x wrote TabSeparated: JSONEachRow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    row: Option<RawJson>,
}

/// Column names and the types trawl wants for them, shared by rows alike.
pub(crate) type Columns = Arc<Vec<(String, String)>>;

/// Writes events to ClickHouse, a table per log type.
pub struct ClickHouseSink {
    delivery: Delivery<ClickHouse>,
    prefix: String,
}

impl ClickHouseSink {
    /// A sink; checks the configuration but does not connect yet.
    pub fn new(config: ClickHouseConfig, metrics: Option<&Metrics>) -> Result<Self, SinkError> {
        for (what, v) in [
            ("database", &config.database),
            ("table_prefix", &config.table_prefix),
        ] {
            if !schema::is_identifier(v) || v.is_empty() && what == "database" {
                return Err(SinkError::Config(format!(
                    "clickhouse {what} {v:?}: only letters, digits and _"
                )));
            }
        }
        if let Auth::ApiKey(_) = config.auth {
            return Err(SinkError::Config(
                "clickhouse takes basic authentication, not an API key".into(),
            ));
        }
        let dest = ClickHouse {
            client: http::client(&config.http)?,
            url: config.url.clone(),
            database: config.database.clone(),
            auth: config.auth.clone(),
            tables: Mutex::new(HashMap::new()),
        };
        Ok(ClickHouseSink {
            delivery: Delivery::new(SERVICE, dest, &config.http, metrics)?,
            prefix: config.table_prefix,
        })
    }

    /// Records written to the dead-letter file so far.
    pub fn dead_letters(&self) -> u64 {
        self.delivery.dead_letters()
    }

    /// Spool files still waiting for ClickHouse.
    pub fn spooled_files(&self) -> usize {
        self.delivery.spooled_files()
    }

    /// Rows grouped by table, in order of first appearance.
    fn rows(&self, events: &[Event]) -> Vec<Vec<Row>> {
        let mut groups: Vec<Vec<Row>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut renderer = row::Renderer::default();
        // (log type, table, group) of the previous event: runs of one log type are the rule.
        let mut current: Option<(String, Arc<str>, usize)> = None;
        for e in events {
            if current.as_ref().is_none_or(|(t, _, _)| t != e.log_type()) {
                let table = schema::table_name(&self.prefix, e.log_type());
                let g = *index.entry(table.clone()).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                current = Some((e.log_type().to_string(), table.into(), g));
            }
            let Some((_, table, g)) = &current else {
                continue;
            };
            let (cols, tsv) = renderer.render(e);
            let group = &mut groups[*g];
            group.push(Row {
                table: table.clone(),
                cols,
                // `tsv` escapes whatever is not UTF-8.
                tsv: String::from_utf8(tsv)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                row: None,
            });
        }
        groups
    }
}

#[async_trait]
impl Sink for ClickHouseSink {
    fn name(&self) -> &str {
        SERVICE
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        // One table per request, so a refused row is found by splitting its own table's rows.
        for rows in self.rows(events) {
            self.delivery.deliver(rows).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        self.delivery.flush().await;
        Ok(())
    }
}

/// The ClickHouse protocol side.
pub(crate) struct ClickHouse {
    client: reqwest::Client,
    url: String,
    database: String,
    auth: Auth,
    /// Known columns per table, learnt from `system.columns`.
    tables: Mutex<HashMap<String, Arc<HashMap<String, ChType>>>>,
}

/// A ClickHouse error: HTTP status and the exception code of the body (`Code: 60, ...`).
struct ChError {
    status: Option<StatusCode>,
    code: Option<u32>,
    error: SinkError,
}

enum Class {
    Retry,
    /// The table or a column is not what we thought: learn the schema again, then retry.
    Schema,
    Poison,
    Fatal,
}

impl ChError {
    fn class(&self) -> Class {
        match (self.status, self.code) {
            (None, _) => Class::Retry,
            (Some(s), _) if s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN => {
                Class::Fatal
            }
            // Unknown user, wrong password, password required, readonly, not enough privileges.
            (_, Some(192..=195 | 164 | 497 | 516)) => Class::Fatal,
            // Unknown table, database, column, field.
            (_, Some(60 | 81 | 16 | 117 | 8 | 10 | 47)) => Class::Schema,
            // The data does not parse for its column.
            (_, Some(6 | 25..=27 | 32 | 38 | 41 | 53 | 69 | 70 | 72 | 131 | 190)) => Class::Poison,
            _ => Class::Retry,
        }
    }
}

fn exception_code(body: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(body.get(..body.len().min(32))?).ok()?;
    let rest = s.trim_start().strip_prefix("Code: ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

impl ClickHouse {
    /// Runs a query: `sql` in the URL, `body` as data (an INSERT's rows), or the SQL as body.
    async fn query(&self, sql: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, ChError> {
        let req = match body {
            Some(data) => self
                .client
                .post(&self.url)
                .query(&[("query", sql)])
                .body(data),
            None => self.client.post(&self.url).body(sql.to_string()),
        };
        let fail = |e| ChError {
            status: None,
            code: None,
            error: http::transport(SERVICE, e),
        };
        let resp = http::with_auth(req, &self.auth)
            .send()
            .await
            .map_err(fail)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(fail)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(ChError {
            status: Some(status),
            code: exception_code(&bytes),
            error: http::status_error(SERVICE, status, &bytes),
        })
    }

    fn table(&self, t: &str) -> String {
        format!("{}.{}", quote(&self.database), quote(t))
    }

    fn forget(&self, table: &str) {
        self.lock().remove(table);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<HashMap<String, ChType>>>> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The table's columns, from the server.
    async fn describe(&self, table: &str) -> Result<HashMap<String, ChType>, ChError> {
        #[derive(Deserialize)]
        struct Col {
            name: String,
            #[serde(rename = "type")]
            ty: String,
        }
        let sql = format!(
            "SELECT name, type FROM system.columns WHERE database = {} AND table = {} FORMAT JSONEachRow",
            literal(&self.database),
            literal(table)
        );
        let out = self.query(&sql, None).await?;
        Ok(out
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice::<Col>(l).ok())
            .map(|c| (c.name, ChType::parse(&c.ty)))
            .collect())
    }

    /// Makes sure the table exists and has every column of `cols`; returns its columns.
    async fn ensure(
        &self,
        table: &str,
        cols: &[&(String, String)],
    ) -> Result<Arc<HashMap<String, ChType>>, ChError> {
        let known = self.lock().get(table).cloned();
        let mut known = match known {
            Some(k) => k,
            None => {
                self.create(table, cols).await?;
                Arc::new(self.describe(table).await?)
            }
        };
        let missing: Vec<_> = cols
            .iter()
            .filter(|(c, _)| !known.contains_key(c))
            .collect();
        if !missing.is_empty() {
            for (c, ty) in missing {
                let sql = format!(
                    "ALTER TABLE {} ADD COLUMN {} {ty}",
                    self.table(table),
                    quote(c)
                );
                match self.query(&sql, None).await {
                    // 18.16 has no ADD COLUMN IF NOT EXISTS: 44 says another writer was first.
                    Err(e) if e.code == Some(44) => {}
                    Err(e) => return Err(e),
                    Ok(_) => tracing::info!(table, column = %c, %ty, "clickhouse: column added"),
                }
            }
            known = Arc::new(self.describe(table).await?);
        }
        self.lock().insert(table.to_string(), known.clone());
        Ok(known)
    }

    async fn create(&self, table: &str, cols: &[&(String, String)]) -> Result<(), ChError> {
        self.query(
            &format!("CREATE DATABASE IF NOT EXISTS {}", quote(&self.database)),
            None,
        )
        .await?;
        let mut defs = vec![
            format!("{} {}", quote(TS), ChType::ts()),
            // Second-precision time of `ts` for partitions and time filters.
            format!(
                "{} DateTime MATERIALIZED toDateTime(toUInt32({}))",
                quote("_time"),
                quote(TS)
            ),
        ];
        for (c, ty) in cols.iter().filter(|(c, _)| c != TS && c != "_time") {
            defs.push(format!("{} {ty}", quote(c)));
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} ({}) ENGINE = MergeTree() PARTITION BY toYYYYMM(_time) ORDER BY {}",
            self.table(table),
            defs.join(", "),
            quote(TS)
        );
        self.query(&sql, None).await?;
        tracing::info!(table, "clickhouse: table ready");
        Ok(())
    }

    /// Inserts rows of one table.
    async fn insert(&self, table: &str, rows: &[&Row]) -> Result<(), ChError> {
        let (_, wanted) = row::columns_of(rows.iter().map(|r| &r.cols));
        let known = self.ensure(table, &wanted).await?;
        // Rows spooled as JSONEachRow by an older build are made TabSeparated first.
        let texts: Vec<Cow<'_, [u8]>> = rows
            .iter()
            .map(|r| match &r.row {
                Some(json) => Cow::Owned(row::from_json(json.get(), &r.cols)),
                None => Cow::Borrowed(r.tsv.as_bytes()),
            })
            .collect();
        let texts: Vec<(&Columns, &[u8])> = rows
            .iter()
            .zip(&texts)
            .map(|(r, t)| (&r.cols, &**t))
            .collect();
        let (names, body) = row::layout(&texts, &known);
        let names: Vec<String> = names.iter().map(|n| quote(n)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) FORMAT TabSeparated",
            self.table(table),
            names.join(", ")
        );
        self.query(&sql, Some(body)).await.map(|_| ())
    }
}

#[async_trait]
impl Destination for ClickHouse {
    type Item = Row;

    const MAX_BATCH: usize = 100_000;

    async fn send(&self, items: &[Row]) -> Attempt {
        let mut tables: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, r) in items.iter().enumerate() {
            match tables.iter_mut().find(|(t, _)| *t == &*r.table) {
                Some((_, v)) => v.push(i),
                None => tables.push((&r.table, vec![i])),
            }
        }
        let single = tables.len() == 1;
        let mut retry = Vec::new();
        let mut why = None;
        for (table, idx) in tables {
            let rows: Vec<&Row> = idx.iter().map(|&i| &items[i]).collect();
            let Err(e) = self.insert(table, &rows).await else {
                continue;
            };
            match e.class() {
                Class::Fatal => return Attempt::Fatal(e.error),
                Class::Poison if single => return Attempt::Poison(e.error.to_string()),
                Class::Schema => self.forget(table),
                Class::Poison | Class::Retry => {}
            }
            retry.extend(idx);
            why = Some(e.error);
        }
        match why {
            None => Attempt::Accepted,
            Some(why) if retry.len() == items.len() => Attempt::Failed(why),
            Some(why) => Attempt::Partial {
                retry,
                rejected: Vec::new(),
                why,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exception_codes() {
        assert_eq!(
            exception_code(b"Code: 60, e.displayText() = DB::Exception: Table"),
            Some(60)
        );
        assert_eq!(exception_code(b"<html>"), None);
    }
}
