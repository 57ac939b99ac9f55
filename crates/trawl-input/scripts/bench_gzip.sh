#!/usr/bin/env bash
# Compares trawl-input's `open` on a large gzipped Zeek dns.log with `gzip -dc`.
# Usage: bench_gzip.sh [REPLICAS]   (needs $TRAWL_SHARED or /work/shared for gen_dns.py)
set -euo pipefail
replicas=${1:-8}
shared=${TRAWL_SHARED:-/work/shared}
data=${TMPDIR:-/tmp}/trawl_dns$replicas
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)

if [ ! -f "$data.log.gz" ]; then
    python3 "$shared/bench/gen_dns.py" "$replicas" "$data"
    gzip -kf "$data.log"
fi
cargo build --release -q --manifest-path "$root/Cargo.toml" -p trawl-input --example zcat
zcat_rs=$root/target/release/examples/zcat
cmp <("$zcat_rs" "$data.log.gz") "$data.log"

if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 1 --runs 10 --output=null \
        "gzip -dc $data.log.gz" \
        "$zcat_rs $data.log.gz" \
        "$zcat_rs --sync $data.log.gz" \
        "$zcat_rs --hash $data.log.gz" \
        "$zcat_rs --sync --hash $data.log.gz"
else
    for cmd in "gzip -dc" "$zcat_rs" "$zcat_rs --sync"; do
        /usr/bin/time -f "%e s  %M KiB  $cmd" $cmd "$data.log.gz" >/dev/null
    done
fi
