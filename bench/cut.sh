#!/usr/bin/env bash
# Benchmark of `trawl cut` against its peers, side by side in one run (timings drift on shared
# machines: read the ratios). Needs TRAWL_SHARED (the shared data folder), python3, hyperfine,
# mawk and GNU time (`apt-get install -y hyperfine mawk time`); DuckDB is installed with pip into
# a virtual environment under $TMPDIR. The workload is cached in $TMPDIR between runs.
#
#   TRAWL_SHARED=/work/shared bash bench/cut.sh          # REPLICAS=34: 352 MB TSV, 774 MB JSON
#   REPLICAS=4 TRAWL_SHARED=/work/shared bash bench/cut.sh   # quicker, while developing
set -euo pipefail
: "${TRAWL_SHARED:?set TRAWL_SHARED to the shared data folder}"
REPLICAS=${REPLICAS:-34}
RUNS=${RUNS:-5}
TMP=${TMPDIR:-/tmp}/trawl-bench
mkdir -p "$TMP"
W=$TMP/dns_$REPLICAS
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRAWL=$ROOT/target/release/trawl

if [[ ! -s $W.log || ! -s $W.json ]]; then
  echo "generating the workload ($REPLICAS replicas) ..." >&2
  python3 "$TRAWL_SHARED/bench/gen_dns.py" "$REPLICAS" "$W" >&2
fi
[[ -s $W.log.gz ]] || gzip -c "$W.log" > "$W.log.gz"
if [[ ! -x $TMP/venv/bin/python ]] || ! "$TMP/venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$TMP/venv" && "$TMP/venv/bin/pip" install -q duckdb >&2
fi
(cd "$ROOT" && cargo build --release -q -p trawl)

# Honest speed: the same bytes out as mawk on the TSV, and the same rows from the JSON.
a=$("$TRAWL" cut query answers < "$W.log" | md5sum)
b=$(mawk -F'\t' '!/^#/{print $10"\t"$22}' "$W.log" | md5sum)
c=$("$TRAWL" cut query answers -r "$W.log.gz" | md5sum)
[[ $a == "$b" && $a == "$c" ]] || { echo "output differs from mawk's: $a / $b / $c" >&2; exit 1; }
rows_tsv=$("$TRAWL" cut query < "$W.log" | wc -l)
rows_json=$("$TRAWL" cut query -r "$W.json" | wc -l)
[[ $rows_tsv == "$rows_json" ]] || { echo "JSON rows $rows_json != TSV rows $rows_tsv" >&2; exit 1; }

DUCK="$TMP/venv/bin/python $TRAWL_SHARED/bench/duck_top.py"
names=(tsv_trawl tsv_trawl_r tsv_mawk json_trawl json_duckdb gz_trawl gz_gzip)
cmds=(
  "$TRAWL cut query answers < $W.log"
  "$TRAWL cut query answers -r $W.log"
  "mawk -F'\t' '{print \$10\"\t\"\$22}' $W.log"
  "$TRAWL cut query answers -r $W.json"
  "$DUCK $W.json json"
  "$TRAWL cut query answers -r $W.log.gz"
  "gzip -dc $W.log.gz"
)
# Through a shell (one command reads stdin by redirection); its start-up is a millisecond.
hyperfine --warmup 1 --runs "$RUNS" --output=null --export-json "$TMP/cut.json" "${cmds[@]}" >&2

rss() { /usr/bin/time -f %M bash -c "$1 > /dev/null" 2>&1 >/dev/null | tail -1; }
declare -A RSS
for i in "${!names[@]}"; do RSS[${names[$i]}]=$(rss "${cmds[$i]}"); done

python3 - "$TMP/cut.json" "$(stat -L -c %s "$W.log")" "$(stat -L -c %s "$W.json")" \
  "${RSS[tsv_trawl]} ${RSS[tsv_trawl_r]} ${RSS[tsv_mawk]} ${RSS[json_trawl]} ${RSS[json_duckdb]} ${RSS[gz_trawl]} ${RSS[gz_gzip]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
tsv, js = int(sys.argv[2]), int(sys.argv[3])
rss = [int(x) for x in sys.argv[4].split()]
med = [r["median"] for r in res]
labels = ["trawl cut query answers < TSV", "trawl cut query answers -r TSV", "mawk '{print $10\"\\t\"$22}' TSV",
          "trawl cut query answers -r JSON", "DuckDB top-25 over JSON (duck_top.py)",
          "trawl cut query answers -r TSV.gz", "gzip -dc TSV.gz > /dev/null"]
size = [tsv, tsv, tsv, js, js, tsv, tsv]   # gzip rows: MB/s of the uncompressed TSV
peer = [2, 2, None, 4, None, 6, None]
print("| task | median s | MB/s | vs peer | peak RSS MB |")
print("|---|---|---|---|---|")
for i, l in enumerate(labels):
    ratio = f"{med[peer[i]] / med[i]:.2f}x" if peer[i] is not None else "(peer)"
    print(f"| {l} | {med[i]:.3f} | {size[i] / med[i] / 1e6:.0f} | {ratio} | {rss[i] / 1024:.1f} |")
PY
