# Sourced by the bench scripts: dns_workload WORK REPLICAS makes WORK/in/dns.log, the
# gen_dns.py workload (Zeek dns.log TSV) of REPLICAS replicas, unless it is there already.
# Needs TRAWL_SHARED when it has to generate.
dns_workload() {
    local work=$1 replicas=$2
    mkdir -p "$work/in"
    if [ ! -s "$work/in/dns.log" ] || [ "$(cat "$work/replicas" 2>/dev/null)" != "$replicas" ]; then
        : "${TRAWL_SHARED:?set TRAWL_SHARED to the shared data folder}"
        echo "generating gen_dns.py $replicas ..." >&2
        python3 "$TRAWL_SHARED/bench/gen_dns.py" "$replicas" "$work/dns" >&2
        mv "$work/dns.log" "$work/in/dns.log"
        rm -f "$work/dns.json"
        echo "$replicas" > "$work/replicas"
    fi
}

# Sets TRAWL to a release build of this checkout unless it names a binary already.
trawl_binary() {
    if [ -z "${TRAWL:-}" ]; then
        cargo build --release -q -p trawl
        TRAWL=target/release/trawl
    fi
}

# pivot_workload DIR CORPUS: DIR/plain, one day of hourly Zeek archives (840 files, about
# 1 GB, made from CORPUS by pivot_data.py), and DIR/gz, the same gzipped; each made once.
pivot_workload() {
    local B=$1 corpus=$2 here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    mkdir -p "$B"
    if [ ! -d "$B/plain" ]; then
        echo "building $B/plain (about 1 GB, a minute or two)"
        python3 "$here/pivot_data.py" "$corpus" "$B/plain.tmp"
        mv "$B/plain.tmp" "$B/plain"
    fi
    if [ ! -d "$B/gz" ]; then
        echo "gzipping it to $B/gz"
        rm -rf "$B/gz.tmp"
        (cd "$B/plain" && find . -type d -exec mkdir -p "$B/gz.tmp/{}" \; &&
            find . -name '*.log' -print0 | xargs -0 -P "$(nproc)" -I{} sh -c 'gzip -6 -c "$1" > "$2/$1.gz"' _ {} "$B/gz.tmp")
        mv "$B/gz.tmp" "$B/gz"
    fi
}
