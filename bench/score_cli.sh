#!/usr/bin/env bash
# `trawl score` end to end (names on stdin, TSV or JSON out) against the scorer library's own
# speed, in the same run: the peer is the `throughput` example of trawl-score (Model::score over
# the same names already in memory, one thread, best of 7 rounds; run free and pinned to core
# 0), and CLI names/s divided by it is the figure. The commands run in turns, RUNS rounds, and
# each keeps its best time: on this shared 2-core machine the load changes within seconds, and
# a best-of in turns is what stays comparable between commands (the median is printed too).
# "one core" rows are pinned with taskset -c 0 (the reading thread shares that core) and
# compared with the pinned library; the others use every core.
# Needs TRAWL_SHARED and python3. Names files (about 351k distinct names of shared/domains, a
# 98k subset, and that subset with blank, invalid, IP and reverse-DNS lines: see
# bench/score_names.py) are cached under $TMPDIR/trawl-bench/score.
#
#   TRAWL_SHARED=/work/shared bash bench/score_cli.sh
#   RUNS=3 BASELINE=/tmp/trawl-old TRAWL_SHARED=/work/shared bash bench/score_cli.sh  # + another build
#   TRAWL=/tmp/trawl-new ...                                  # this build instead of target/release
set -euo pipefail
: "${TRAWL_SHARED:?set TRAWL_SHARED to the shared data folder}"
RUNS=${RUNS:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${TMPDIR:-/tmp}/trawl-bench/score
LIB=$ROOT/target/release/examples/throughput

[[ -s $W/all.txt && -s $W/98k.txt && -s $W/dirty.txt ]] ||
  python3 "$ROOT/bench/score_names.py" "$TRAWL_SHARED" "$W" >&2
(cd "$ROOT" && cargo build --release -q -p trawl-score --example throughput)
if [[ -z ${TRAWL:-} ]]; then
  (cd "$ROOT" && cargo build --release -q -p trawl)
  TRAWL=$ROOT/target/release/trawl
fi

# Honest speed: a line out for every name in (bad names are reported on stderr instead).
for f in all 98k; do
  n_in=$(wc -l < "$W/$f.txt")
  n_out=$("$TRAWL" score < "$W/$f.txt" | wc -l)
  [[ $n_in == "$n_out" ]] || { echo "$f.txt: $n_in names in, $n_out lines out" >&2; exit 1; }
done

python3 - "$W" "$TRAWL" "$LIB" "$RUNS" "${BASELINE:-}" <<'PY'
import os, re, statistics, subprocess, sys, time
W, TRAWL, LIB, RUNS, BASE = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
lines = {f: sum(1 for _ in open(f"{W}/{f}.txt", "rb")) for f in ("all", "98k", "dirty")}
one = ["taskset", "-c", "0"]
# label, input file (None: no stdin), argv
cmds = [
    ("trawl score < all.txt (TSV)", "all", [TRAWL, "score"]),
    ("trawl score < all.txt (TSV), one core", "all", one + [TRAWL, "score"]),
    ("cat all.txt | trawl score (TSV, pipe)", "all", ["sh", "-c", f"cat {W}/all.txt | {TRAWL} score"]),
    ("trawl score < 98k.txt (TSV)", "98k", [TRAWL, "score"]),
    ("trawl score < 98k.txt (TSV), one core", "98k", one + [TRAWL, "score"]),
    ("trawl score < dirty.txt (TSV, 14% blank/bad/IP/reverse)", "dirty", [TRAWL, "score"]),
    ("trawl score --format json < all.txt", "all", [TRAWL, "score", "--format", "json"]),
    ("trawl score --format json < all.txt, one core", "all", one + [TRAWL, "score", "--format", "json"]),
    ("trawl score example.com (start-up)", None, [TRAWL, "score", "example.com"]),
]
if BASE:
    cmds += [
        ("baseline: trawl score < all.txt (TSV)", "all", [BASE, "score"]),
        ("baseline: trawl score < all.txt (TSV), one core", "all", one + [BASE, "score"]),
        ("baseline: trawl score --format json < all.txt", "all", [BASE, "score", "--format", "json"]),
        ("baseline: trawl score example.com (start-up)", None, [BASE, "score", "example.com"]),
    ]
times = {c[0]: [] for c in cmds}
lib = {(f, pin): [] for f in ("all", "98k") for pin in (False, True)}
load = [open("/proc/loadavg").read().split()[:3]]
for r in range(RUNS):
    for f, pin in lib:
        argv = (one if pin else []) + [LIB, f"{W}/{f}.txt"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        lib[f, pin].append(float(out.split()[0]))
    for label, f, argv in cmds:
        # Start-up is short: the best of several runs each round.
        for _ in range(1 if f else 5):
            stdin = open(f"{W}/{f}.txt", "rb") if f and argv[0] != "sh" else subprocess.DEVNULL
            t = time.perf_counter()
            subprocess.run(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - t)
    print(f"round {r + 1}/{RUNS} done", file=sys.stderr)
load.append(open("/proc/loadavg").read().split()[:3])
best = {k: max(v) for k, v in lib.items()}
for pin in (False, True):
    best["dirty", pin] = best["98k", pin]  # dirty.txt has non-UTF-8 lines the example cannot read
    print(f"library{' pinned to core 0' if pin else ''} (throughput example, Model::score, one "
          f"thread, best of {RUNS} x 7 rounds): all.txt {best['all', pin] / 1e6:.2f} M names/s, "
          f"98k.txt {best['98k', pin] / 1e6:.2f} M names/s (medians "
          f"{statistics.median(lib['all', pin]) / 1e6:.2f} / {statistics.median(lib['98k', pin]) / 1e6:.2f})")
print()
print("CLI / library: against the pinned library for one-core rows, the free one otherwise.")
print()
print(f"| command | best s | M names/s (best) | M names/s (median) | CLI / library |")
print("|---|---|---|---|---|")
for label, f, argv in cmds:
    t = times[label]
    peer = best.get((f, argv[0] == "taskset"))
    if f is None:
        print(f"| {label} | {min(t) * 1000:.1f} ms (median {statistics.median(t) * 1000:.1f}) | | | |")
        continue
    rate, med = lines[f] / min(t), lines[f] / statistics.median(t)
    print(f"| {label} | {min(t):.3f} | {rate / 1e6:.2f} | {med / 1e6:.2f} | {rate / peer:.2f} |")
print()
print(f"load average before {' '.join(load[0])}, after {' '.join(load[1])}; "
      f"lines: all.txt {lines['all']}, 98k.txt {lines['98k']}, dirty.txt {lines['dirty']}")
PY
