#!/usr/bin/env bash
# Benchmark of `trawl run`: a folder holding the gen_dns.py workload (Zeek dns.log TSV) enriched
# into TSV files on ONE core (taskset -c 0: the reading thread, the runtime and the sink share
# it), with peak memory, next to peers pinned the same way in the same run:
#   - `trawl cat -f zeek` (read and write back the same TSV, no enrichment): the I/O floor;
#   - mawk appending two columns to every row (read, append, write; no scoring).
# and the same records as Zeek JSON lines (`trawl cat -f json` of the TSV, made once): `trawl run`
# on a folder of them, next to mawk appending two members to every line.
# Needs TRAWL_SHARED (unless the input exists), python3, GNU time, mawk.
#
#   TRAWL_SHARED=/work/shared bash bench/run.sh            # REPLICAS=34: 1.8 M records, 352 MB
#   REPLICAS=4 TRAWL_SHARED=/work/shared bash bench/run.sh
#   TRAWL=/tmp/trawl-old bash bench/run.sh                  # another build of trawl
set -euo pipefail
cd "$(dirname "$0")/.."
REPLICAS=${REPLICAS:-34}
RUNS=${RUNS:-3}
WORK="${TMPDIR:-/tmp}/trawl-bench-run"
. bench/workload.sh
dns_workload "$WORK" "$REPLICAS"
trawl_binary
IN="$WORK/in/dns.log"
# The same records as Zeek JSON lines (LogAscii::use_json), in a folder of their own.
JSON="$WORK/json/dns.json"
if [ ! -s "$JSON" ] || [ "$JSON" -ot "$IN" ]; then
    mkdir -p "$WORK/json"
    "$TRAWL" cat -f json "$IN" > "$JSON"
fi
records=$(grep -vc '^#' "$IN")
mb=$(( $(stat -L -c %s "$IN") / 1000000 ))
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# One timed run: label, then the command (its output goes under $WORK/out).
timed() {
    local label=$1
    shift
    rm -rf "$WORK/out"
    mkdir -p "$WORK/out"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" taskset -c 0 "$@" 2>/dev/null
    read -r wall user sys rss < "$WORK/time"
    echo "$label $wall $user $sys $rss" >> "$WORK/results"
}

rm -f "$WORK/results"
for _ in $(seq 1 "$RUNS"); do
    timed "trawl-run" "$TRAWL" run --once "$WORK/in" --out "$WORK/out"
    timed "trawl-run-json" "$TRAWL" run --once "$WORK/json" --out "$WORK/out"
    timed "mawk-json" sh -c "mawk '{ sub(/}\$/, \",\\\"phish_score\\\":0.5,\\\"dga_score\\\":0.5}\"); print }' \"$JSON\" > \"$WORK/out/dns.json\""
    timed "trawl-cat" sh -c "\"$TRAWL\" cat -f zeek \"$IN\" > \"$WORK/out/dns.log\""
    timed "mawk" sh -c "mawk -F'\t' -v OFS='\t' '/^#/ { print; next } { print \$0, \"0.5\", \"0.5\" }' \"$IN\" > \"$WORK/out/dns.log\""
done

echo "| task (taskset -c 0) | median wall s | records/s | CPU s (user+sys) | records per CPU-second | peak RSS MB | records/s vs its mawk |"
echo "|---|---|---|---|---|---|---|"
awk -v n="$records" '
    { wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " ($3 + $4); rss[$1] = ($5 > rss[$1] ? $5 : rss[$1]) }
    function median(list,   a, k, i, j, t) {
        k = split(list, a, " ")
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((k + 1) / 2)]
    }
    END {
        split("trawl-run trawl-cat mawk trawl-run-json mawk-json", order, " ")
        name["trawl-run"] = "`trawl run --once` (scores + attribution, enriched TSV)"
        name["trawl-cat"] = "`trawl cat -f zeek` (TSV through, no enrichment)"
        name["mawk"] = "mawk appending two columns (peer)"
        name["trawl-run-json"] = "`trawl run --once` on the same records as Zeek JSON (enriched JSON)"
        name["mawk-json"] = "mawk appending two members to each JSON line (peer for JSON)"
        for (o = 1; o <= 5; o++) {
            t = order[o]; w = median(wall[t]); c = median(cpu[t])
            peer = median(wall[t ~ /json/ ? "mawk-json" : "mawk"])
            printf "| %s | %.2f | %.0f | %.2f | %.0f | %.0f | %.2fx |\n", name[t], w, n / w, c, n / c, rss[t] / 1024, peer / w
        }
    }' "$WORK/results"
echo
echo "($records records, $mb MB of TSV, $RUNS runs each, interleaved; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg))"
