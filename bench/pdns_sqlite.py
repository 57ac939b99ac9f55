#!/usr/bin/env python3
"""The peer for bench/pdns.sh: "the obvious SQLite schema". Reads Zeek dns logs with the plain
Python reader of crates/trawl/tests/pdns_reference.py (the same facts trawl keeps), folds them
in memory and upserts them into one SQLite table keyed by (rrname, rrtype, rdata) in one
transaction, with an index on rdata for reverse lookups.

usage: pdns_sqlite.py DB FILE...
"""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "trawl", "tests"))
import pdns_reference as ref  # noqa: E402

files = sys.argv[2:]
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS facts (rrname TEXT, rrtype TEXT, rdata TEXT, time_first INTEGER,
    time_last INTEGER, count INTEGER, PRIMARY KEY (rrname, rrtype, rdata));
CREATE INDEX IF NOT EXISTS facts_rdata ON facts (rdata);
""")
seen = {}
for path in files:
    for rec in ref.records(path):
        for rrname, rrtype, rdata, t in ref.facts(rec):
            s = seen.get((rrname, rrtype, rdata))
            if s is None:
                seen[(rrname, rrtype, rdata)] = [t, t, 1]
            else:
                s[0] = min(s[0], t)
                s[1] = max(s[1], t)
                s[2] += 1
with db:
    db.executemany(
        """INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rrname, rrtype, rdata) DO UPDATE
           SET time_first = min(time_first, excluded.time_first),
               time_last = max(time_last, excluded.time_last), count = count + excluded.count""",
        ((k[0], k[1], k[2], v[0], v[1], v[2]) for k, v in seen.items()))
print(db.execute("SELECT count(*) FROM facts").fetchone()[0], "facts", file=sys.stderr)
