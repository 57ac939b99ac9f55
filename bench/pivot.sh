#!/usr/bin/env bash
# trawl pivot over about 1 GB of Zeek logs (one day of hourly archives, 35 log types, made from
# the corpus by pivot_data.py), as plain files and as Zeek's gzipped archive:
#   1. cold: building the index on first use (size and time),
#   2. warm: pivots on a uid, a file hash, an address; a uid with --around 5m,
#   3. the peers an analyst uses today, in the same run: rg -z, zgrep, grep -r; and trawl
#      without an index (--no-index: parallel memmem scan).
# Usage: bench/pivot.sh      (env: PIVOT_BENCH=/tmp/bench/pivot, TRAWL=path, RUNS=10, TRAWL_SHARED)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${TRAWL_SHARED:-$root/../shared}
B=${PIVOT_BENCH:-/tmp/bench/pivot}
RUNS=${RUNS:-10}
TRAWL=${TRAWL:-${CARGO_TARGET_DIR:-$root/target}/release/trawl}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)"; exit 1; }
command -v rg >/dev/null || { echo "rg is needed (apt-get install ripgrep)"; exit 1; }
if [ ! -x "$TRAWL" ]; then (cd "$root" && cargo build --release -p trawl); fi

# shellcheck source=bench/workload.sh
. "$here/workload.sh"
pivot_workload "$B" "$shared/corpus"

plain_bytes=$(du -sbL "$B/plain" | cut -f1)
gz_bytes=$(du -sbL "$B/gz" | cut -f1)
files=$(find "$B/plain" -name '*.log' | wc -l)
# Values from the middle of the day: an HTTP download's connection, its file's MD5, its server.
row=$(grep -v '^#' "$B"/plain/2018-03-25/files.05:00:00-06:00:00.log | sed -n 100p)
UID_=$(echo "$row" | cut -f3)
MD5=$(echo "$row" | cut -f22)
ADDR=$(echo "$row" | cut -f4)
echo "data: $files files, $((plain_bytes / 1000000)) MB plain, $((gz_bytes / 1000000)) MB gzipped"
echo "values: uid $UID_, md5 $MD5, address $ADDR"
echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

ixp="$B/index-plain"
ixg="$B/index-gz"
tp="$TRAWL pivot -q -f json --index-dir $ixp"
tg="$TRAWL pivot -q -f json --index-dir $ixg"

echo
echo "== cold: index built on first use (the pivot included)"
hyperfine --runs 3 --style basic \
  --prepare "rm -rf $ixp" -n "first pivot, plain (builds the index)" "$tp $UID_ $B/plain" \
  --prepare "rm -rf $ixg" -n "first pivot, gz (builds the index)" "$tg $UID_ $B/gz" \
  --export-markdown "$B/cold.md"
for which in plain gz; do
  ix="$B/index-$which"
  rm -rf "$ix"
  msg=$("$TRAWL" pivot -f json --index-dir "$ix" "$UID_" "$B/$which" 2>&1 >/dev/null | grep indexed || true)
  data=$([ $which = plain ] && echo "$plain_bytes" || echo "$gz_bytes")
  size=$(du -sb "$ix" | cut -f1)
  echo "$which: $msg"
  awk -v s="$size" -v d="$data" -v p="$plain_bytes" -v w="$which" 'BEGIN {
    printf "%s index: %.1f MB = %.1f%% of the files on disk, %.1f%% of the log text\n", w, s/1e6, 100*s/d, 100*s/p }'
done

echo
echo "== warm: the index is up to date (each run still checks every file's size and mtime)"
hyperfine --warmup 1 --runs "$RUNS" --style basic \
  -n "trawl pivot uid, plain" "$tp $UID_ $B/plain" \
  -n "trawl pivot uid, gz" "$tg $UID_ $B/gz" \
  -n "trawl pivot uid --around 5m, gz" "$tg --around 5m $UID_ $B/gz" \
  -n "trawl pivot md5, gz" "$tg $MD5 $B/gz" \
  -n "trawl pivot address, gz" "$tg $ADDR $B/gz" \
  -n "rg -F uid, plain" "rg -F $UID_ $B/plain" \
  -n "trawl pivot --no-index uid, plain" "$TRAWL pivot -q -f json --no-index $UID_ $B/plain" \
  --export-markdown "$B/warm.md"

echo
echo "== the peers over the gzipped archive (slow: fewer runs)"
hyperfine --warmup 1 --runs 3 --style basic \
  -n "rg -z -F uid, gz" "rg -z -F $UID_ $B/gz" \
  -n "zgrep -F uid, gz" "zgrep -F $UID_ $B/gz/*/*.gz" \
  -n "grep -rF uid, plain" "grep -rF $UID_ $B/plain" \
  -n "trawl pivot --no-index uid, gz" "$TRAWL pivot -q -f json --no-index $UID_ $B/gz" \
  --export-markdown "$B/peers.md"

echo
echo "== what each finds for the uid"
echo "trawl (with links):  $($tg "$UID_" "$B/gz" | wc -l) records"
echo "trawl --no-follow:   $($tg --no-follow "$UID_" "$B/gz" | wc -l) records"
echo "rg -z:               $(rg -z -F -c "$UID_" "$B/gz" | awk -F: '{n+=$NF} END {print n}') lines"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
