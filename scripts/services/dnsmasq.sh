# Sourced by scripts/test.sh: a dnsmasq answering on 127.0.0.1 from its own configuration
# (no upstream, no internet), logging queries (`log-queries=extra`) to syslog, and an rsyslog
# of its own forwarding those lines to 127.0.0.1:$TRAWL_SYSLOG_PORT, where the test's
# SyslogSource listens: RFC 3164 over UDP, and RFC 5424 over TCP with octet-counted framing.
#
# dnsmasq always logs to /dev/log. To keep the system's syslog (and /dev) untouched, dnsmasq
# runs in a private mount namespace whose /dev is a tmpfs holding the few device nodes it
# needs plus /dev/log, bind-mounted from this rsyslog's socket. Needs root (unshare -m);
# without it the syslog test says it skipped.
#
# Exports TRAWL_DNSMASQ_PORT (DNS, UDP and TCP) and TRAWL_SYSLOG_PORT (for the test to bind,
# UDP and TCP). Both processes are stopped through $SERVICE_DIR/{rsyslog,dnsmasq}.pid.

ensure_apt dnsmasq rsyslog dnsutils

dm_dir="$SERVICE_DIR/dnsmasq"
if ! unshare -m true 2>/dev/null; then
    echo "test.sh: dnsmasq: cannot create a mount namespace (not root?): syslog test skipped" >&2
else
    mkdir -p "$dm_dir/rsyslog" "$dm_dir/dev"
    chmod 755 "$dm_dir"
    TRAWL_SYSLOG_PORT="$(free_port)"
    TRAWL_DNSMASQ_PORT="$(free_port)"

    # Each action has its own queue and retries every second or two, so a test that binds
    # the port late (after the build) still gets the lines, and one stalled transport
    # never holds up the other.
    dm_retry='queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1" action.resumeIntervalMax="2"'
    cat >"$dm_dir/rsyslog.conf" <<EOF
global(workDirectory="$dm_dir/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$dm_dir/log.sock" RateLimit.Interval="0")
if \$programname startswith "dnsmasq" then {
    action(type="omfwd" target="127.0.0.1" port="$TRAWL_SYSLOG_PORT" protocol="udp" $dm_retry)
    action(type="omfwd" target="127.0.0.1" port="$TRAWL_SYSLOG_PORT" protocol="tcp"
           TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" $dm_retry)
}
EOF
    rsyslogd -n -f "$dm_dir/rsyslog.conf" -i "$dm_dir/rsyslogd.pid" >"$dm_dir/rsyslog.out" 2>&1 &
    echo $! >"$SERVICE_DIR/rsyslog.pid"
    for _ in $(seq 1 100); do
        [ -S "$dm_dir/log.sock" ] && break
        sleep 0.1
    done
    [ -S "$dm_dir/log.sock" ] || { cat "$dm_dir/rsyslog.out" >&2; echo "test.sh: rsyslogd did not start" >&2; exit 1; }

    # Run inside the namespace: /dev becomes a tmpfs with null, zero, random, urandom and log.
    cat >"$dm_dir/in-namespace.sh" <<'EOF'
#!/bin/sh
set -e
dir="$1"; shift
mount --bind /dev "$dir/dev"
mount -t tmpfs -o mode=755 trawl-dev /dev
for n in null zero random urandom; do
    : >"/dev/$n"
    mount --bind "$dir/dev/$n" "/dev/$n"
done
: >/dev/log
mount --bind "$dir/log.sock" /dev/log
exec dnsmasq "$@"
EOF
    : >"$dm_dir/dnsmasq.conf"
    # --local=/test/: names under .test that are not configured are NXDOMAIN.
    unshare -m --propagation private sh "$dm_dir/in-namespace.sh" "$dm_dir" \
        --conf-file="$dm_dir/dnsmasq.conf" --pid-file="$dm_dir/dnsmasq-own.pid" \
        --no-daemon --port="$TRAWL_DNSMASQ_PORT" --listen-address=127.0.0.1 --bind-interfaces \
        --no-resolv --no-hosts --log-queries=extra --log-facility=local5 \
        --local=/test/ --address=/example.test/10.0.0.1 \
        --host-record=nas.test,10.0.0.9,fd00::9 --host-record=printer.test,10.0.0.20 \
        >"$dm_dir/dnsmasq.out" 2>&1 &
    echo $! >"$SERVICE_DIR/dnsmasq.pid"
    wait_port "$TRAWL_DNSMASQ_PORT" 10 || { cat "$dm_dir/dnsmasq.out" >&2; exit 1; }
    export TRAWL_DNSMASQ_PORT TRAWL_SYSLOG_PORT
    echo "test.sh: dnsmasq on 127.0.0.1:$TRAWL_DNSMASQ_PORT, syslog forwarded to 127.0.0.1:$TRAWL_SYSLOG_PORT"
fi
