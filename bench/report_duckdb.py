#!/usr/bin/env python3
"""Peer for bench/report.sh: the traffic and DNS figures of one report period with DuckDB over
the same Zeek TSV folder (trace-summary itself is not installable here). It computes what the
report's traffic and DNS sections hold, except the Public Suffix List grouping (top names
stand in for top registered domains) and workstation names.

usage: report_duckdb.py FOLDER START END   (epoch seconds; the period is [START, END))
"""
import glob
import os
import sys

import duckdb

folder, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = duckdb.connect()


def source(kind):
    files = sorted(glob.glob(os.path.join(folder, "**", kind + ".*.log"), recursive=True))
    with open(files[0], encoding="utf-8", errors="replace") as f:
        fields = next(l for l in f if l.startswith("#fields")).rstrip("\n").split("\t")[1:]
    names = "[" + ",".join(f"'{x}'" for x in fields) + "]"
    # One read_csv a file, glued with UNION ALL: DuckDB 2.0 reads a list of these files some
    # fifty times slower than the same files one by one.
    reads = " UNION ALL ".join(
        f"SELECT * FROM read_csv('{p}', delim='\\t', comment='#', header=false, names={names}, "
        f"quote='', escape='', nullstr='-', all_varchar=true)"
        for p in files
    )
    return f"(SELECT * FROM ({reads}) WHERE TRY_CAST(ts AS DOUBLE) >= {start} AND TRY_CAST(ts AS DOUBLE) < {end})"


LOCAL = ("(h LIKE '10.%' OR h LIKE '192.168.%' OR regexp_matches(h, '^172\\.(1[6-9]|2[0-9]|3[01])\\.') "
         "OR regexp_matches(h, '^100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.') OR h LIKE '169.254.%' "
         "OR lower(h) LIKE 'fc%' OR lower(h) LIKE 'fd%' OR lower(h) LIKE 'fe80:%')")
conn = source("conn")
dns = source("dns")
con.execute(f"CREATE TEMP TABLE c AS SELECT \"id.orig_h\" AS o, \"id.resp_h\" AS r, \"id.resp_p\" AS p, proto, "
            f"coalesce(service, '-') AS service, conn_state, coalesce(TRY_CAST(orig_bytes AS UBIGINT), 0) AS ob, "
            f"coalesce(TRY_CAST(resp_bytes AS UBIGINT), 0) AS rb FROM {conn}")
out = []
out += con.execute("SELECT count(*), sum(ob + rb) FROM c").fetchall()
hosts = ("SELECT h, sum(sent) AS sent, sum(got) AS got, count(*) AS n FROM "
         "(SELECT o AS h, ob AS sent, rb AS got FROM c UNION ALL SELECT r AS h, rb AS sent, ob AS got FROM c) GROUP BY h")
out += con.execute(f"SELECT * FROM ({hosts}) WHERE {LOCAL} ORDER BY sent + got DESC, h LIMIT 10").fetchall()
out += con.execute(f"SELECT * FROM ({hosts}) WHERE NOT {LOCAL} ORDER BY sent + got DESC, h LIMIT 10").fetchall()
out += con.execute(f"SELECT * FROM ({hosts}) WHERE {LOCAL} ORDER BY n DESC, h LIMIT 10").fetchall()
out += con.execute("SELECT service, count(*) AS n, sum(ob + rb) FROM c GROUP BY service ORDER BY n DESC LIMIT 10").fetchall()
out += con.execute("SELECT p || '/' || proto AS k, count(*) AS n, sum(ob + rb) FROM c GROUP BY k ORDER BY n DESC LIMIT 10").fetchall()
out += con.execute("SELECT conn_state, count(*) AS n FROM c GROUP BY conn_state ORDER BY n DESC").fetchall()
out += con.execute("SELECT o, count(*) AS n, count(DISTINCT r) AS t FROM c WHERE conn_state IN ('S0','REJ','RSTOS0','RSTRH','SH') "
                   "GROUP BY o ORDER BY t DESC, n DESC LIMIT 10").fetchall()
con.execute(f"CREATE TEMP TABLE d AS SELECT \"id.orig_h\" AS client, lower(rtrim(query, '.')) AS q, rcode_name FROM {dns} WHERE query IS NOT NULL AND query <> '(empty)'")
out += con.execute("SELECT count(*), count(DISTINCT q), count(DISTINCT client), count(*) FILTER (WHERE rcode_name = 'NXDOMAIN') FROM d").fetchall()
out += con.execute("SELECT q, count(*) AS n, count(DISTINCT client) FROM d GROUP BY q ORDER BY n DESC LIMIT 10").fetchall()
out += con.execute("SELECT client, count(*) FILTER (WHERE rcode_name = 'NXDOMAIN') AS nx, count(*) FROM d GROUP BY client "
                   "HAVING nx > 0 ORDER BY nx DESC LIMIT 10").fetchall()
for row in out:
    print(*row, sep="\t")
