#!/usr/bin/env bash
# Passive DNS import and lookups: `trawl pdns import` of the gen_dns.py workload (the records of
# bench/run.sh) on one core, next to the obvious SQLite schema filled by plain Python
# (bench/pdns_sqlite.py: the same facts, one upsert each, in one transaction), in the same run;
# then warm lookups of a name and an address in trawl's store (hyperfine, whole process).
#   TRAWL_SHARED=/work/shared bash bench/pdns.sh          # REPLICAS=4: 214,460 records
#   REPLICAS=34 RUNS=3 TRAWL_SHARED=/work/shared bash bench/pdns.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPLICAS=${REPLICAS:-4}
RUNS=${RUNS:-3}
WORK="${TMPDIR:-/tmp}/trawl-bench-pdns"
. bench/workload.sh
dns_workload "$WORK" "$REPLICAS"
trawl_binary
records=$(grep -vc '^#' "$WORK/in/dns.log")
echo "input: $records dns records ($(( $(stat -c %s "$WORK/in/dns.log") / 1000000 )) MB), one core"
for _ in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/t" "$WORK/p.sqlite"*
    /usr/bin/time -f "trawl pdns import   %e s wall %U s user %M KB" \
        taskset -c 0 "$TRAWL" pdns import --db "$WORK/t/pdns.sqlite" "$WORK/in" 2>&1 | tail -1
    /usr/bin/time -f "python + SQLite     %e s wall %U s user %M KB" \
        taskset -c 0 python3 bench/pdns_sqlite.py "$WORK/p.sqlite" "$WORK/in/dns.log" 2>&1 | tail -1
done
ls -l "$WORK/t/pdns.sqlite" "$WORK/p.sqlite" | awk '{print $5, $9}'
name=$("$TRAWL" pdns --db "$WORK/t/pdns.sqlite" '*' --limit 1 -f json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["rrname"])')
addr=$("$TRAWL" pdns --db "$WORK/t/pdns.sqlite" "$name" -f json | python3 -c '
import json, sys
print(next(r["rdata"] for r in map(json.loads, sys.stdin) if r["rrtype"] in ("A", "AAAA") and r["rdata"][0].isdigit()))')
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 -r 20 \
        "$TRAWL pdns --db $WORK/t/pdns.sqlite $name -f json" \
        "$TRAWL pdns --db $WORK/t/pdns.sqlite $addr -f json" 2>&1 | grep -E "Benchmark|Time"
fi
