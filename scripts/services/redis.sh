# Sourced by scripts/test.sh: a throw-away Redis on 127.0.0.1 for trawl-enrich's shared score
# cache test. No persistence; stopped by test.sh through $SERVICE_DIR/redis.pid.
ensure_apt redis-server
REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$SERVICE_DIR/redis.log" 2>&1 &
echo $! >"$SERVICE_DIR/redis.pid"
wait_port "$REDIS_PORT"
export TRAWL_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
echo "test.sh: redis on 127.0.0.1:$REDIS_PORT"
