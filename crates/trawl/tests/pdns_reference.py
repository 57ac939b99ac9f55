"""Passive DNS facts computed without trawl, from Zeek dns logs (TSV with its header, or JSON
lines; gzip too), by the rules trawl-pdns documents. Prints one JSON object a fact, sorted.

usage: pdns_reference.py FILE...
"""
import datetime
import gzip
import ipaddress
import json
import re
import sys
from collections import defaultdict

LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
CHAINS = {"A", "AAAA", "CNAME", "HTTPS", "SVCB", "ANY"}
ESC = re.compile(rb"\\x([0-9a-fA-F]{2})")


def text(raw):
    """Zeek's \\xNN escapes decoded, as UTF-8 (lossy)."""
    b = raw.encode("utf-8", "surrogateescape")
    return ESC.sub(lambda m: bytes([int(m.group(1), 16)]), b).decode("utf-8", "replace")


def name(s):
    s = s[:-1] if s.endswith(".") else s
    return s.translate(LOWER)


def epoch(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
        try:
            return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def records(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
        sep, setsep, unset, empty = "\t", ",", "-", "(empty)"
        fields = types = path = None
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            if line.startswith("{"):
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if len(r) == 1 and isinstance(next(iter(r.values())), dict):
                    r = next(iter(r.values()))
                yield r
                continue
            if line.startswith("#"):
                if line.startswith("#separator "):
                    sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
                    continue
                key, _, val = line.partition(sep)
                if key == "#set_separator":
                    setsep = val
                elif key == "#unset_field":
                    unset = val
                elif key == "#empty_field":
                    empty = val
                elif key == "#fields":
                    fields = val.split(sep)
                elif key == "#types":
                    types = val.split(sep)
                elif key == "#path":
                    path = val
                continue
            if not fields or not types:
                continue
            r = {} if path is None else {"_path": path}
            for field, ty, v in zip(fields, types, line.split(sep)):
                if v == unset:
                    continue
                if ty.startswith(("set[", "vector[")):
                    r[field] = [] if v == empty else [text(x) for x in v.split(setsep)]
                elif ty == "bool":
                    r[field] = v == "T"
                elif ty == "count":
                    r[field] = int(v) if v.isdigit() else v
                elif v == empty:
                    r[field] = ""  # Zeek writes an empty string as the empty marker
                else:
                    r[field] = text(v)
            yield r


def facts(r):
    if r.get("_path", "dns") != "dns":
        return
    q, ts = r.get("query"), epoch(r.get("ts"))
    if not isinstance(q, str) or q in ("", "-") or ts is None:
        return
    if r.get("rejected") is True:
        return
    rcode = r.get("rcode_name")
    if not isinstance(rcode, str) or rcode in ("", "-"):
        return
    qt = r.get("qtype_name")
    if isinstance(qt, str) and qt not in ("", "-"):
        qtype = qt.upper()
    elif isinstance(r.get("qtype"), int):
        qtype = "TYPE%d" % r["qtype"]
    else:
        return
    t = int(ts // 1)
    query = name(q)
    answers = [a for a in (r.get("answers") or []) if isinstance(a, str) and a and not a.startswith("<")]
    if rcode == "NXDOMAIN":
        yield (query, qtype, "NXDOMAIN", t)
        return
    if rcode != "NOERROR":
        return
    if not answers:
        yield (query, qtype, "NODATA", t)
        return
    owner = query
    for a in answers:
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            ip = None
        if ip is not None:
            yield (owner, "A" if ip.version == 4 else "AAAA", str(ip), t)
        elif qtype in CHAINS:
            target = name(a)
            yield (owner, "CNAME", target, t)
            owner = target
        else:
            yield (query, qtype, name(a) if qtype in ("PTR", "NS", "MX", "SRV") else a, t)


def main(paths):
    seen = defaultdict(lambda: [None, None, 0])
    for path in paths:
        for rec in records(path):
            for rrname, rrtype, rdata, t in facts(rec):
                s = seen[(rrname, rrtype, rdata)]
                s[0] = t if s[0] is None else min(s[0], t)
                s[1] = t if s[1] is None else max(s[1], t)
                s[2] += 1
    for (rrname, rrtype, rdata), (first, last, count) in sorted(seen.items()):
        print(json.dumps({"rrname": rrname, "rrtype": rrtype, "rdata": rdata,
                          "time_first": first, "time_last": last, "count": count}))


if __name__ == "__main__":
    main(sys.argv[1:])
