#!/usr/bin/env bash
# Benchmark of `trawl query 'dns | top 25 query'` against DuckDB (../shared/bench/duck_top.py) on
# the gen_dns.py 34 workload, side by side in one run (timings drift on shared machines: read
# the ratios). Needs hyperfine, GNU time, and a Python with duckdb in TRAWL_PYTHON (made by
# scripts/services/python.sh); the workload is generated once (TRAWL_SHARED for gen_dns.py) and
# kept in $BENCH_DIR (default /tmp/bench).
#
#   TRAWL_SHARED=/work/shared TRAWL_PYTHON=~/.cache/trawl-venv/bin/python bash bench/query.sh
#   RUNS=3 BUILD=0 ... bash bench/query.sh  # fewer runs, binary as built
set -euo pipefail
: "${TRAWL_SHARED:?set TRAWL_SHARED to the shared data folder}"
PY=${TRAWL_PYTHON:-python3}
"$PY" -c 'import duckdb' 2>/dev/null || { echo "no duckdb in $PY: set TRAWL_PYTHON" >&2; exit 1; }
RUNS=${RUNS:-5}
DIR=${BENCH_DIR:-/tmp/bench}
W=$DIR/dns_big
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRAWL=$ROOT/target/release/trawl
DUCK="$PY $TRAWL_SHARED/bench/duck_top.py"
mkdir -p "$DIR"
if [[ ! -s $W.log || ! -s $W.json ]]; then
  echo "generating the workload (gen_dns.py 34) ..." >&2
  python3 "$TRAWL_SHARED/bench/gen_dns.py" 34 "$W" >&2
fi
[[ -s $W.log.gz ]] || gzip -k "$W.log"
# Named as Zeek names them (the generated JSON has no `_path`: the name tells the log type).
Z=$DIR/zeek
mkdir -p "$Z"
ln -sf "$W.log" "$Z/dns.log"
ln -sf "$W.json" "$Z/dns.json"
ln -sf "$W.log.gz" "$Z/dns.log.gz"
[[ ${BUILD:-1} == 0 ]] || (cd "$ROOT" && cargo build --release -q -p trawl)

Q='dns | top 25 query'
# The same answer as DuckDB's, count for count, on each input.
for f in "$Z/dns.log tsv" "$Z/dns.json json" "$Z/dns.log.gz tsv"; do
  set -- $f
  a=$("$TRAWL" query -q --format csv "$Q" "$1" | tr -d '\r' | tail -n +2 | awk -F, '{print $2, $1}')
  b=$($DUCK "$1" "$2")
  [[ "$a" == "$b" ]] || { echo "trawl and DuckDB differ on $1:" >&2; diff <(echo "$a") <(echo "$b") >&2; exit 1; }
done

names=(tsv_trawl tsv_duckdb json_trawl json_duckdb gz_trawl gz_duckdb)
cmds=(
  "$TRAWL query -q '$Q' $Z/dns.log"
  "$DUCK $Z/dns.log tsv"
  "$TRAWL query -q '$Q' $Z/dns.json"
  "$DUCK $Z/dns.json json"
  "$TRAWL query -q '$Q' $Z/dns.log.gz"
  "$DUCK $Z/dns.log.gz tsv"
)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine --warmup 1 --runs "$RUNS" --output=null --export-json "$DIR/query.json" "${cmds[@]}" >&2
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

rss() { /usr/bin/time -f %M bash -c "$1 > /dev/null" 2>&1 >/dev/null | tail -1; }
declare -A RSS
for i in "${!names[@]}"; do RSS[${names[$i]}]=$(rss "${cmds[$i]}"); done

python3 - "$DIR/query.json" "$(stat -L -c %s "$W.log")" "$(stat -L -c %s "$W.json")" \
  "$(for n in "${names[@]}"; do printf '%s ' "${RSS[$n]}"; done)" "$load_before" "$load_after" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
tsv, js = int(sys.argv[2]), int(sys.argv[3])
rss = [int(x) for x in sys.argv[4].split()]
med = [r["median"] for r in res]
labels = ["trawl query 'dns | top 25 query' dns.log", "DuckDB (duck_top.py) dns.log",
          "trawl query ... dns.json", "DuckDB dns.json",
          "trawl query ... dns.log.gz", "DuckDB dns.log.gz"]
size = [tsv, tsv, js, js, tsv, tsv]
print(f"load average before {sys.argv[5]}, after {sys.argv[6]}")
print("| task | median s | MB/s | vs DuckDB | peak RSS MB |")
print("|---|---|---|---|---|")
for i, l in enumerate(labels):
    ratio = f"**{med[i + 1] / med[i]:.2f}x**" if i % 2 == 0 else "(peer)"
    print(f"| {l} | {med[i]:.3f} | {size[i] / med[i] / 1e6:.0f} | {ratio} | {rss[i] / 1024:.1f} |")
PY
