//! The alert store: one SQLite file (WAL) shared by `trawl run` and `trawl alert mute`, so a
//! mute written by the command is seen by the running pipeline at its next batch without a
//! restart (the pipeline checks SQLite's `data_version`, a counter that moves when another
//! connection commits, and re-reads the mutes only then).
//!
//! It holds: de-duplication windows (`dedup`), the repeats they kept quiet, counted per rule
//! and key until the rule's digest reports them (`repeats`), mutes (`mutes`), registered
//! domains seen so far (`seen`), per-host OS evidence (`host_os`), and the outbox (`outbox`):
//! every alert is
//! written there for each of its destinations in the same transaction that records its
//! de-duplication window, before anything is sent, and marked done when the destination
//! accepted it. An alert is therefore never lost to a crash or an outage, and never sent twice
//! to one destination unless the destination accepted it but the answer was lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::alert::Alert;
use crate::digest::{Common, Repeat};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[error("alert store {path}: {source}")]
pub struct StoreError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

/// A mute: alerts of a rule (or `*`), optionally only with this key or these field values,
/// are dropped until `until` (epoch seconds; `None`: until unmuted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mute {
    pub id: i64,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Field values the alert must have (`id.orig_h` = `192.168.1.20`); `host`,
    /// `workstation` and `uid` name the alert's own attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    pub reason: String,
    pub created: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<f64>,
}

impl Mute {
    /// Whether the mute silences this alert at `now`.
    pub fn silences(&self, a: &Alert, now: f64) -> bool {
        if self.until.is_some_and(|u| u <= now) {
            return false;
        }
        if self.rule != "*" && self.rule != a.rule {
            return false;
        }
        if self.key.as_ref().is_some_and(|k| *k != a.key) {
            return false;
        }
        self.fields
            .iter()
            .all(|(f, v)| a.lookup(f).as_deref() == Some(v.as_str()))
    }
}

/// An alert waiting in (or done with) the outbox.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub seq: i64,
    pub alert: Alert,
    pub attempts: u32,
}

/// How many alerts a destination has in the outbox, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

const PENDING: i64 = 0;
const SENT: i64 = 1;
const FAILED: i64 = 2;

/// The store; clones share one connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens (creating) the store file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|e| err(path, e))?;
        Self::init(conn, path)
    }

    /// A store in memory (dry runs: `trawl alert test`).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| err(Path::new(":memory:"), e))?;
        Self::init(conn, Path::new(":memory:"))
    }

    fn init(conn: Connection, path: &Path) -> Result<Store, StoreError> {
        let e = |x| err(path, x);
        conn.busy_timeout(Duration::from_secs(5)).map_err(e)?;
        // WAL: the pipeline writes while `trawl alert mute` reads and writes.
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(e)?;
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS dedup (rule TEXT NOT NULL, key TEXT NOT NULL,
                 until REAL NOT NULL, PRIMARY KEY (rule, key));
             CREATE TABLE IF NOT EXISTS repeats (rule TEXT NOT NULL, key TEXT NOT NULL,
                 count INTEGER NOT NULL, first REAL NOT NULL, last REAL NOT NULL,
                 since REAL NOT NULL, host TEXT, workstation TEXT, pivot TEXT,
                 common TEXT NOT NULL DEFAULT 'null', PRIMARY KEY (rule, key));
             CREATE TABLE IF NOT EXISTS mutes (id INTEGER PRIMARY KEY AUTOINCREMENT,
                 rule TEXT NOT NULL, key TEXT, fields TEXT NOT NULL DEFAULT '{}',
                 reason TEXT NOT NULL, created REAL NOT NULL, until REAL);
             CREATE TABLE IF NOT EXISTS seen (name TEXT PRIMARY KEY, first_ts REAL NOT NULL,
                 host TEXT);
             CREATE TABLE IF NOT EXISTS host_os (host TEXT NOT NULL, os TEXT NOT NULL,
                 count INTEGER NOT NULL, PRIMARY KEY (host, os));
             CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 dest TEXT NOT NULL, id TEXT NOT NULL, alert TEXT NOT NULL,
                 state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
                 created REAL NOT NULL, done REAL, error TEXT, UNIQUE (dest, id));
             CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (dest, state, seq);",
        )
        .map_err(e)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path.to_path_buf()),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn e(&self, source: rusqlite::Error) -> StoreError {
        err(&self.path, source)
    }

    /// Every row `sql` selects on `c` (the caller's lock), each read by `row`.
    fn select<T>(
        &self,
        c: &Connection,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = c.prepare(sql).map_err(|e| self.e(e))?;
        let rows = st.query_map(params, row).map_err(|e| self.e(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.e(e))
    }

    /// The file (`:memory:` for a dry run).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another connection to the same file (delivery tasks use their own, so the pipeline's
    /// batch transaction and their updates do not share one); a store in memory is shared.
    pub fn reopen(&self) -> Result<Store, StoreError> {
        if self.path.as_os_str() == ":memory:" {
            return Ok(self.clone());
        }
        Store::open(&self.path)
    }

    /// Starts a transaction holding a batch's writes (quiet windows, outbox entries,
    /// first-seen names): one commit per batch instead of one per alert.
    pub fn begin_batch(&self) -> Result<(), StoreError> {
        let c = self.conn();
        if c.is_autocommit() {
            c.execute_batch("BEGIN").map_err(|e| self.e(e))?;
        }
        Ok(())
    }

    /// Commits the batch's writes.
    pub fn end_batch(&self) -> Result<(), StoreError> {
        let c = self.conn();
        if !c.is_autocommit() {
            c.execute_batch("COMMIT").map_err(|e| self.e(e))?;
        }
        Ok(())
    }

    /// A number that changes when another connection (`trawl alert mute`) commits.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn()
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.e(e))
    }

    /// A value of the meta table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.e(e))
    }

    /// Sets a value of the meta table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.e(e))
    }

    // ---- mutes ----

    /// Adds a mute; returns its id.
    pub fn add_mute(&self, m: &Mute) -> Result<i64, StoreError> {
        let fields = serde_json::to_string(&m.fields).unwrap_or_else(|_| "{}".into());
        let c = self.conn();
        c.execute(
            "INSERT INTO mutes (rule, key, fields, reason, created, until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![m.rule, m.key, fields, m.reason, m.created, m.until],
        )
        .map_err(|e| self.e(e))?;
        Ok(c.last_insert_rowid())
    }

    /// Removes a mute; false if there was none with that id.
    pub fn remove_mute(&self, id: i64) -> Result<bool, StoreError> {
        self.conn()
            .execute("DELETE FROM mutes WHERE id = ?1", [id])
            .map(|n| n > 0)
            .map_err(|e| self.e(e))
    }

    /// Mutes in force at `now` (or all, with expired ones, when `now` is `None`).
    pub fn mutes(&self, now: Option<f64>) -> Result<Vec<Mute>, StoreError> {
        let sql = "SELECT id, rule, key, fields, reason, created, until FROM mutes
                   WHERE ?1 IS NULL OR until IS NULL OR until > ?1 ORDER BY id";
        self.select(&self.conn(), sql, [now], |r| {
            let fields: String = r.get(3)?;
            Ok(Mute {
                id: r.get(0)?,
                rule: r.get(1)?,
                key: r.get(2)?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                reason: r.get(4)?,
                created: r.get(5)?,
                until: r.get(6)?,
            })
        })
    }

    /// Alerts whose record time falls in `[start, end)` and that went to at least one
    /// destination, each once (for reports), oldest first.
    pub fn fired_between(&self, start: f64, end: f64) -> Result<Vec<Alert>, StoreError> {
        let sql = "SELECT min(alert) FROM outbox
                   WHERE json_extract(alert, '$.ts') >= ?1 AND json_extract(alert, '$.ts') < ?2
                   GROUP BY id ORDER BY min(json_extract(alert, '$.ts'))";
        let rows: Vec<String> =
            self.select(&self.conn(), sql, params![start, end], |r| r.get(0))?;
        Ok(rows
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }

    // ---- de-duplication ----

    /// Quiet windows still open at `now`: (rule, key, until).
    pub fn dedup_windows(&self, now: f64) -> Result<Vec<(String, String, f64)>, StoreError> {
        let c = self.conn();
        let _ = c.execute("DELETE FROM dedup WHERE until <= ?1", [now]);
        self.select(&c, "SELECT rule, key, until FROM dedup", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
    }

    /// Records a fired alert: its quiet window (when `until` is set) and, in the same
    /// transaction, one outbox entry per destination. Entries already there (the same alert
    /// fired again after a re-read) are left alone.
    pub fn fire(
        &self,
        alert: &Alert,
        until: Option<f64>,
        dests: &[&str],
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        // A savepoint: its own transaction, or part of a batch's (see `begin_batch`).
        let tx = c.savepoint().map_err(|e| self.e(e))?;
        if let Some(u) = until {
            tx.execute(
                "INSERT INTO dedup (rule, key, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (rule, key) DO UPDATE SET until = excluded.until",
                params![alert.rule, alert.key, u],
            )
            .map_err(|e| self.e(e))?;
        }
        if !dests.is_empty() {
            let json = serde_json::to_string(alert).unwrap_or_else(|_| "{}".into());
            let now = crate::alert::now();
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO outbox (dest, id, alert, created) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.e(e))?;
            for d in dests {
                st.execute(params![d, alert.id, json, now])
                    .map_err(|e| self.e(e))?;
            }
        }
        tx.commit().map_err(|e| self.e(e))
    }

    // ---- repeats and digests ----

    /// Adds repeats counted since the last call (one rule's keys) to those already stored.
    pub fn add_repeats(&self, rule: &str, reps: &[Repeat]) -> Result<(), StoreError> {
        if reps.is_empty() {
            return Ok(());
        }
        let mut c = self.conn();
        let tx = c.savepoint().map_err(|e| self.e(e))?;
        for r in reps {
            let stored = {
                let mut st = tx
                    .prepare_cached(&format!("{REPEAT_COLUMNS} WHERE rule = ?1 AND key = ?2"))
                    .map_err(|e| self.e(e))?;
                st.query_row(params![rule, r.key], repeat_row)
                    .optional()
                    .map_err(|e| self.e(e))?
            };
            let row = match stored {
                Some(mut s) => {
                    s.merge(r);
                    s
                }
                None => r.clone(),
            };
            let common = serde_json::to_string(&row.common).unwrap_or_else(|_| "null".into());
            tx.prepare_cached(
                "INSERT INTO repeats (rule, key, count, first, last, since, host, workstation,
                     pivot, common) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (rule, key) DO UPDATE SET count = excluded.count,
                     first = excluded.first, last = excluded.last, since = excluded.since,
                     host = excluded.host, workstation = excluded.workstation,
                     pivot = excluded.pivot, common = excluded.common",
            )
            .map_err(|e| self.e(e))?
            .execute(params![
                rule,
                row.key,
                row.count as i64,
                row.first,
                row.last,
                row.since,
                row.host,
                row.workstation,
                row.pivot,
                common
            ])
            .map_err(|e| self.e(e))?;
        }
        tx.commit().map_err(|e| self.e(e))
    }

    /// A rule's stored repeats.
    pub fn repeats(&self, rule: &str) -> Result<Vec<Repeat>, StoreError> {
        let c = self.conn();
        let mut st = c
            .prepare_cached(&format!("{REPEAT_COLUMNS} WHERE rule = ?1 ORDER BY first"))
            .map_err(|e| self.e(e))?;
        let rows = st.query_map([rule], repeat_row).map_err(|e| self.e(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.e(e))
    }

    /// Rules with stored repeats, and when the first of them was counted (engine clock).
    pub fn repeat_starts(&self) -> Result<Vec<(String, f64)>, StoreError> {
        let sql = "SELECT rule, min(since) FROM repeats GROUP BY rule";
        self.select(&self.conn(), sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Forgets a rule's repeats (its digest was turned off).
    pub fn drop_repeats(&self, rule: &str) -> Result<usize, StoreError> {
        self.conn()
            .execute("DELETE FROM repeats WHERE rule = ?1", [rule])
            .map_err(|e| self.e(e))
    }

    /// Sends a rule's digest: the digest goes to the outbox and the repeats it reports are
    /// forgotten, in one transaction (a crash sends it once or not yet, never loses it).
    pub fn fire_digest(&self, digest: &Alert, dests: &[&str]) -> Result<(), StoreError> {
        let mut c = self.conn();
        let tx = c.savepoint().map_err(|e| self.e(e))?;
        tx.execute("DELETE FROM repeats WHERE rule = ?1", [&digest.rule])
            .map_err(|e| self.e(e))?;
        let json = serde_json::to_string(digest).unwrap_or_else(|_| "{}".into());
        let now = crate::alert::now();
        for d in dests {
            tx.execute(
                "INSERT OR IGNORE INTO outbox (dest, id, alert, created) VALUES (?1, ?2, ?3, ?4)",
                params![d, digest.id, json, now],
            )
            .map_err(|e| self.e(e))?;
        }
        tx.commit().map_err(|e| self.e(e))
    }

    // ---- first seen ----

    /// Whether `name` is new; records it (with when and by whom it was first seen) if so.
    pub fn first_seen(&self, name: &str, ts: f64, host: Option<&str>) -> Result<bool, StoreError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO seen (name, first_ts, host) VALUES (?1, ?2, ?3)",
                params![name, ts, host],
            )
            .map(|n| n > 0)
            .map_err(|e| self.e(e))
    }

    /// How many names are known.
    pub fn seen_count(&self) -> Result<u64, StoreError> {
        self.conn()
            .query_row("SELECT count(*) FROM seen", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.e(e))
    }

    // ---- host OS evidence ----

    /// Every host's OS counts.
    pub fn host_os(&self) -> Result<Vec<(String, String, u32)>, StoreError> {
        self.select(
            &self.conn(),
            "SELECT host, os, count FROM host_os",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Saves OS counts (host, os, count) that changed.
    pub fn save_host_os(&self, rows: &[(String, &str, u32)]) -> Result<(), StoreError> {
        self.execute_each(
            "INSERT INTO host_os (host, os, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (host, os) DO UPDATE SET count = excluded.count",
            rows,
            |st, (h, o, n)| st.execute(params![h, o, n]),
        )
    }

    /// Runs `sql` once per row (`run` binds the row), all in one savepoint; nothing when
    /// there are no rows.
    fn execute_each<T>(
        &self,
        sql: &str,
        rows: &[T],
        run: impl Fn(&mut rusqlite::CachedStatement<'_>, &T) -> rusqlite::Result<usize>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut c = self.conn();
        let tx = c.savepoint().map_err(|e| self.e(e))?;
        {
            let mut st = tx.prepare_cached(sql).map_err(|e| self.e(e))?;
            for r in rows {
                run(&mut st, r).map_err(|e| self.e(e))?;
            }
        }
        tx.commit().map_err(|e| self.e(e))
    }

    // ---- outbox ----

    /// The oldest pending alerts of a destination.
    pub fn pending(&self, dest: &str, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let c = self.conn();
        let mut st = c
            .prepare_cached(
                "SELECT seq, alert, attempts FROM outbox WHERE dest = ?1 AND state = 0
                 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.e(e))?;
        let rows = st
            .query_map(params![dest, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                ))
            })
            .map_err(|e| self.e(e))?;
        let rows: Vec<(i64, String, u32)> =
            rows.collect::<Result<_, _>>().map_err(|e| self.e(e))?;
        drop(st);
        let mut out = Vec::new();
        for (seq, json, attempts) in rows {
            match serde_json::from_str(&json) {
                Ok(alert) => out.push(OutboxItem {
                    seq,
                    alert,
                    attempts,
                }),
                Err(e) => {
                    // Written by another version: mark it rather than loop on it.
                    let _ = c.execute(
                        "UPDATE outbox SET state = 2, error = ?2 WHERE seq = ?1",
                        params![seq, format!("unreadable: {e}")],
                    );
                }
            }
        }
        Ok(out)
    }

    /// The destination accepted the alert.
    pub fn delivered(&self, seq: i64) -> Result<(), StoreError> {
        self.delivered_all(&[seq])
    }

    /// The destination accepted these alerts (one transaction).
    pub fn delivered_all(&self, seqs: &[i64]) -> Result<(), StoreError> {
        let now = crate::alert::now();
        self.execute_each(
            "UPDATE outbox SET state = 1, done = ?2, attempts = attempts + 1 WHERE seq = ?1",
            seqs,
            |st, s| st.execute(params![s, now]),
        )
    }

    /// A failed attempt (to be retried).
    pub fn attempt_failed(&self, seq: i64, why: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, error = ?2 WHERE seq = ?1",
                params![seq, why],
            )
            .map(drop)
            .map_err(|e| self.e(e))
    }

    /// The destination refused the alert for good: kept, marked failed, with why.
    pub fn refused(&self, seq: i64, why: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE outbox SET state = 2, done = ?3, attempts = attempts + 1, error = ?2
                 WHERE seq = ?1",
                params![seq, why, crate::alert::now()],
            )
            .map(drop)
            .map_err(|e| self.e(e))
    }

    /// Counts by state for a destination.
    pub fn outbox_counts(&self, dest: &str) -> Result<OutboxCounts, StoreError> {
        let c = self.conn();
        let mut st = c
            .prepare_cached("SELECT state, count(*) FROM outbox WHERE dest = ?1 GROUP BY state")
            .map_err(|e| self.e(e))?;
        let rows = st
            .query_map([dest], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.e(e))?;
        let mut out = OutboxCounts::default();
        for row in rows {
            let (state, n) = row.map_err(|e| self.e(e))?;
            match state {
                PENDING => out.pending = n,
                SENT => out.sent = n,
                FAILED => out.failed = n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Forgets delivered alerts done before `before` (they only served to drop repeats) and
    /// quiet windows that ended before `now`.
    pub fn prune(&self, before: f64, now: f64) -> Result<usize, StoreError> {
        let c = self.conn();
        c.execute("DELETE FROM dedup WHERE until <= ?1", [now])
            .map_err(|e| self.e(e))?;
        c.execute("DELETE FROM outbox WHERE state = 1 AND done < ?1", [before])
            .map_err(|e| self.e(e))
    }
}

const REPEAT_COLUMNS: &str =
    "SELECT key, count, first, last, since, host, workstation, pivot, common FROM repeats";

fn repeat_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Repeat> {
    let common: String = r.get(8)?;
    Ok(Repeat {
        key: r.get(0)?,
        count: r.get::<_, i64>(1)?.max(0) as u64,
        first: r.get(2)?,
        last: r.get(3)?,
        since: r.get(4)?,
        host: r.get(5)?,
        workstation: r.get(6)?,
        pivot: r.get(7)?,
        common: serde_json::from_str::<Common>(&common).unwrap_or_default(),
    })
}

fn err(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError {
        path: path.display().to_string(),
        source,
    }
}
