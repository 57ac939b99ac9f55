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

# What the tests use beyond the Rust toolchain (services on 127.0.0.1 join here as they come).
ensure_apt gzip zstd

echo "test.sh: cargo fmt --check"
cargo fmt --all -- --check
echo "test.sh: cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "test.sh: cargo test"
cargo test --workspace "$@"
