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
