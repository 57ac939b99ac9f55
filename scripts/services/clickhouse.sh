# Sourced by scripts/test.sh: a private ClickHouse server (Debian's 18.16) on 127.0.0.1 for the
# trawl-sinks tests. Its config, data, tmp and logs live under $SERVICE_DIR/clickhouse; the pid
# goes to $SERVICE_DIR/clickhouse.pid so test.sh stops it. Exports TRAWL_CLICKHOUSE_URL.
# Uses ensure_apt, free_port and wait_port from test.sh.

ensure_apt clickhouse-server clickhouse-client

ch_dir="$SERVICE_DIR/clickhouse"
mkdir -p "$ch_dir"/{data,tmp,log,user_files,format_schemas}
ch_http=$(free_port)
ch_tcp=$(free_port)
cat >"$ch_dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$ch_dir/log/clickhouse-server.log</log>
        <errorlog>$ch_dir/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$ch_http</http_port>
    <tcp_port>$ch_tcp</tcp_port>
    <path>$ch_dir/data/</path>
    <tmp_path>$ch_dir/tmp/</tmp_path>
    <user_files_path>$ch_dir/user_files/</user_files_path>
    <format_schema_path>$ch_dir/format_schemas/</format_schema_path>
    <users_config>$ch_dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <mlock_executable>false</mlock_executable>
</yandex>
EOF
cat >"$ch_dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
EOF
# The server resolves relative paths against its working directory: run it from its own.
(cd "$ch_dir" && exec clickhouse-server --config-file="$ch_dir/config.xml" \
    >"$ch_dir/log/stdout.log" 2>&1) &
echo $! >"$SERVICE_DIR/clickhouse.pid"
if wait_port "$ch_http" 60; then
    export TRAWL_CLICKHOUSE_URL="http://127.0.0.1:$ch_http/"
    echo "test.sh: clickhouse on $TRAWL_CLICKHOUSE_URL"
else
    echo "test.sh: clickhouse did not start; its tests will say they skipped" >&2
    tail -n 20 "$ch_dir/log/stdout.log" "$ch_dir/log/clickhouse-server.err.log" >&2 || true
fi
