#!/usr/bin/env python3
"""Alert latency under load, for bench/alert.sh.

Feeds `trawl run` Zeek dns.log TSV at a paced rate (default 10,000 records/s) through a source
(stdin, or a followed folder), each record stamped with its send time in `ts`; one record in
EVERY is a TXT lookup with a unique uid, which the rule `qtype_name == "TXT"` turns into an alert
for a webhook. A receiver here notes each request's arrival; the latency of an alert is arrival
minus the record's `ts` (the moment it was written into trawl's input).

  alert_latency.py TRAWL_BIN --source stdin|folder [--rate 10000] [--seconds 30] [--every 100]
                   [--batch-size 10000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\n"
)
NAMES = ["github.com", "www.google.com", "outlook.office365.com", "update.googleapis.com",
         "www.wikipedia.org", "api.slack.com", "debian.map.fastlydns.net", "www.bbc.co.uk"]

latencies = []
seen = set()
dupes = 0
lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        global dupes
        try:
            a = json.loads(body)
            with lock:
                if a["id"] in seen:
                    dupes += 1
                seen.add(a["id"])
                latencies.append(now - float(a["ts"]))
        except Exception as e:  # noqa: BLE001 - a bad body is counted, not fatal
            print("bad body:", e, file=sys.stderr)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trawl")
    ap.add_argument("--source", choices=["stdin", "folder"], default="stdin")
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=0,
                    help="trawl run's batch_size (0: trawl's default)")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="trawl-alert-bench-")
    logs = os.path.join(work, "logs")
    os.makedirs(os.path.join(logs, "current"))
    if args.source == "stdin":
        source = '[sources.in]\ntype = "stdin"\n'
    else:
        source = f'[sources.zeek]\ntype = "folder"\npath = "{logs}"\n'
    cfg = os.path.join(work, "trawl.toml")
    with open(cfg, "w") as f:
        f.write(f'''state_dir = "{work}/state"
{f"batch_size = {args.batch_size}" if args.batch_size else ""}
{source}
[sinks.out]
type = "files"
dir = "{work}/out"
[alerts]
pivot = "https://kibana.example/app/discover#/?q=uid:{{uid}}"
[alerts.rules.txt]
log = "dns"
when = 'qtype_name == "TXT"'
key = ["uid"]
severity = "high"
[alerts.destinations.hook]
type = "webhook"
url = "http://127.0.0.1:{srv.server_address[1]}/hook"
''')
    err = open(os.path.join(work, "trawl.err"), "w")
    proc = subprocess.Popen([args.trawl, "run", "--config", cfg],
                            stdin=subprocess.PIPE if args.source == "stdin" else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err,
                            env=dict(os.environ, TRAWL_LOG="warn"))
    if args.source == "stdin":
        out = proc.stdin
    else:
        out = open(os.path.join(logs, "current", "dns.log"), "w")
    out.write(HEADER.encode() if args.source == "stdin" else HEADER)
    time.sleep(1.0 if args.source == "stdin" else 2.0)  # start-up (model, store), not measured

    tick = 0.01
    per_tick = max(1, int(args.rate * tick))
    total = int(args.rate * args.seconds)
    sent = alerts = 0
    start = time.time()
    while sent < total:
        now = time.time()
        lines = []
        for _ in range(per_tick):
            i = sent
            txt = i % args.every == args.every - 1
            if txt:
                alerts += 1
            q = f"t{i}.example.org" if txt else NAMES[i % len(NAMES)]
            lines.append(f"{now:.6f}\tC{i}\t192.168.{(i >> 8) & 255}.{i & 255}\t{1024 + i % 60000}\t"
                         f"192.168.1.1\t53\tudp\t{q}\t{'TXT' if txt else 'A'}\tNOERROR\n")
            sent += 1
        data = "".join(lines)
        out.write(data.encode() if args.source == "stdin" else data)
        out.flush()
        next_at = start + (sent / args.rate)
        delay = next_at - time.time()
        if delay > 0:
            time.sleep(delay)
    fed = time.time() - start
    deadline = time.time() + 30
    while time.time() < deadline:
        with lock:
            if len(seen) >= alerts:
                break
        time.sleep(0.05)
    if args.source == "stdin":
        out.close()
    else:
        out.close()
        proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    srv.shutdown()
    lat = sorted(latencies)
    if not lat:
        print("no alert arrived; see", err.name)
        sys.exit(1)
    ms = lambda x: f"{x * 1000:.0f}"
    bs = f"{args.batch_size:,}" if args.batch_size else "default"
    print(f"| {args.source} | {bs} | {sent / fed:,.0f} | {alerts} | {len(seen)} | {dupes} | "
          f"{ms(pct(lat, 50))} | {ms(pct(lat, 90))} | {ms(pct(lat, 99))} | {ms(lat[-1])} |")
    with open(err.name) as f:
        tail = [l.strip() for l in f if "records in" in l]
    if tail:
        print(f"({args.source}: {tail[-1]})", file=sys.stderr)


if __name__ == "__main__":
    main()
