#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests need, starts the
# services they use on 127.0.0.1 only, then runs formatting, lints and `cargo test`.
#
#   scripts/test.sh            everything
#   scripts/test.sh -p trawl   extra arguments go to `cargo test`
#
# Tests that need ../shared read it through TRAWL_SHARED (set here when ../shared exists);
# without it they say they skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TRAWL_SHARED:-}" ] && [ -d ../shared ]; then
    TRAWL_SHARED="$(cd ../shared && pwd)"
fi
if [ -n "${TRAWL_SHARED:-}" ]; then
    export TRAWL_SHARED
    echo "test.sh: TRAWL_SHARED=$TRAWL_SHARED"
else
    echo "test.sh: no ../shared: tests that need it will say they skipped"
fi

# Installs the Debian packages given that are missing.
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# What the tests use beyond the Rust toolchain.
ensure_apt gzip zstd

# Installs the PyPI packages given that are missing into one venv, cached under
# ~/.cache/trawl-venv (TRAWL_VENV overrides) so the system Python is left alone; exports
# TRAWL_PYTHON, the venv's interpreter, for tests that run Python peers (DuckDB, aiosmtpd).
ensure_pip() {
    local venv="${TRAWL_VENV:-$HOME/.cache/trawl-venv}"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -c 'import venv, ensurepip' 2>/dev/null || ensure_apt python3-venv || return 1
        python3 -m venv "$venv" || return 1
    fi
    local missing=()
    for pkg in "$@"; do
        "$venv/bin/pip" show -q "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        "$venv/bin/pip" install -q "${missing[@]}" || return 1
    fi
    export TRAWL_PYTHON="$venv/bin/python"
}

# Services the integration tests talk to: each scripts/services/NAME.sh installs its service,
# starts it on 127.0.0.1 and exports how to reach it (e.g. TRAWL_REDIS_URL); a test whose
# variable is unset says it skipped. They are stopped when this script exits.
SERVICE_DIR="$(mktemp -d -t trawl-services.XXXXXX)"
export SERVICE_DIR
cleanup() {
    for pidfile in "$SERVICE_DIR"/*.pid; do
        [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$SERVICE_DIR"
}
trap cleanup EXIT
# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Waits until 127.0.0.1:PORT accepts connections (up to $2 seconds, default 30).
wait_port() {
    for _ in $(seq 1 $((${2:-30} * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "test.sh: nothing listens on 127.0.0.1:$1" >&2
    return 1
}
if [ "${TRAWL_NO_SERVICES:-}" != 1 ]; then
    for svc in scripts/services/*.sh; do
        [ -e "$svc" ] || continue
        echo "test.sh: starting $(basename "$svc" .sh)"
        # shellcheck source=/dev/null
        . "$svc"
    done
fi

echo "test.sh: cargo fmt --check"
cargo fmt --all -- --check
echo "test.sh: cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "test.sh: cargo test"
cargo test --workspace "$@"
