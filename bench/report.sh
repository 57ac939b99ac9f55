#!/usr/bin/env bash
# The daily report over one day of the bench/pivot.sh folder (840 hourly files, 1 GB, made from
# the corpus by pivot_data.py; plain and gzipped), next to its peer in the same run: DuckDB
# computing the report's traffic and DNS figures over the same files (bench/report_duckdb.py;
# zeekctl's trace-summary cannot be installed here). Targets: < 10 s, peak RSS < 200 MB.
# Usage: bench/report.sh   (env: PIVOT_BENCH=/tmp/bench/pivot, TRAWL=path, RUNS=5, TRAWL_SHARED,
#                           TRAWL_PYTHON: a Python with duckdb)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${TRAWL_SHARED:-$root/../shared}
B=${PIVOT_BENCH:-/tmp/bench/pivot}
RUNS=${RUNS:-5}
PY=${TRAWL_PYTHON:-python3}
TRAWL=${TRAWL:-${CARGO_TARGET_DIR:-$root/target}/release/trawl}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)"; exit 1; }
"$PY" -c 'import duckdb' 2>/dev/null || { echo "no duckdb in $PY: set TRAWL_PYTHON" >&2; exit 1; }
if [ ! -x "$TRAWL" ]; then (cd "$root" && cargo build --release -p trawl); fi
# shellcheck source=bench/workload.sh
. "$here/workload.sh"
pivot_workload "$B" "$shared/corpus"
DAY=2018-03-25
START=$(date -u -d "$DAY" +%s)
END=$((START + 86400))
echo "data: $(find "$B/plain" -name '*.log' | wc -l) files, $(du -sbL "$B/plain" | cut -f1 | awk '{printf "%d MB", $1/1e6}') plain"
echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The same connection and query counts from both.
t=$("$TRAWL" report -q -f json -p 1d --at "$DAY" "$B/plain" | "$PY" -c 'import json,sys; h=json.load(sys.stdin)["headline"]; print(h["connections"], h["dns_queries"])')
d=$("$PY" "$here/report_duckdb.py" "$B/plain" "$START" "$END" | sed -n '1p;/^[0-9]*\t[0-9]*\t[0-9]*\t[0-9]*$/p' | awk -F'\t' 'NR==1{c=$1} NR==2{q=$1} END{print c, q}')
echo "connections and DNS queries: trawl $t, DuckDB $d"
[ "$t" = "$d" ] || { echo "trawl and DuckDB disagree" >&2; exit 1; }
hyperfine --warmup 1 --runs "$RUNS" --style basic \
  -n "trawl report -p 1d (plain)" "$TRAWL report -q -p 1d --at $DAY $B/plain" \
  -n "trawl report -p 1d (gz)" "$TRAWL report -q -p 1d --at $DAY $B/gz" \
  -n "DuckDB, the same figures (plain)" "$PY $here/report_duckdb.py $B/plain $START $END" \
  --export-markdown "$B/report.md" --output=null
for c in "$TRAWL report -q -p 1d --at $DAY $B/plain" "$TRAWL report -q -p 1d --at $DAY $B/gz" \
  "$PY $here/report_duckdb.py $B/plain $START $END"; do
  /usr/bin/time -f "peak RSS %M KB: $c" $c >/dev/null
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
