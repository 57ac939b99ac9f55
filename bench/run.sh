#!/usr/bin/env bash
# Benchmark of `trawl run`: a folder holding the gen_dns.py workload (Zeek dns.log TSV) enriched
# into TSV files on ONE core (taskset), with peak memory. Needs TRAWL_SHARED, python3, GNU time.
#
#   TRAWL_SHARED=/work/shared bash bench/run.sh            # REPLICAS=34: 1.8 M records, 352 MB
#   REPLICAS=4 TRAWL_SHARED=/work/shared bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TRAWL_SHARED:?set TRAWL_SHARED to the shared data folder}"
REPLICAS=${REPLICAS:-34}
RUNS=${RUNS:-3}
WORK="${TMPDIR:-/tmp}/trawl-bench-run"
mkdir -p "$WORK/in"
if [ ! -s "$WORK/in/dns.log" ] || [ "$(cat "$WORK/replicas" 2>/dev/null)" != "$REPLICAS" ]; then
    echo "generating gen_dns.py $REPLICAS ..." >&2
    python3 "$TRAWL_SHARED/bench/gen_dns.py" "$REPLICAS" "$WORK/dns"
    mv "$WORK/dns.log" "$WORK/in/dns.log"
    rm -f "$WORK/dns.json"
    echo "$REPLICAS" > "$WORK/replicas"
fi
cargo build --release -q -p trawl
records=$(grep -vc '^#' "$WORK/in/dns.log")
mb=$(( $(stat -L -c %s "$WORK/in/dns.log") / 1000000 ))
echo "| run | wall s | records/s | CPU s (user+sys) | records per CPU-second | peak RSS MB |"
echo "|---|---|---|---|---|---|"
for i in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/out"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" taskset -c 0 target/release/trawl run --once "$WORK/in" --out "$WORK/out" 2>/dev/null
    read -r wall user sys rss < "$WORK/time"
    awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$records" -v i="$i" \
        'BEGIN { printf "| %d | %.2f | %.0f | %.2f | %.0f | %.0f |\n", i, w, n / w, u + s, n / (u + s), r / 1024 }'
done
echo "($records records, $mb MB of TSV, load: $(cut -d' ' -f1-3 /proc/loadavg))"
