"""Report figures computed without trawl: traffic and DNS figures of one period from Zeek
conn and dns logs (TSV or JSON lines, gzip too), by the rules trawl-report documents.

usage: report_reference.py START END NETWORKS_CFG DOMAINS_JSON FILE...

START/END: the period in epoch seconds. NETWORKS_CFG: the local subnets (zeekctl format).
DOMAINS_JSON: {name: [registered_domain, public_suffix]} (the Public Suffix List is not
re-implemented here). Prints one JSON object.
"""
import ipaddress
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pdns_reference import epoch, name, records  # noqa: E402

TOP = 10


def addr(v):
    try:
        a = ipaddress.ip_address(v.strip("[]")) if isinstance(v, str) else None
    except ValueError:
        return None
    if a is not None and a.is_unspecified:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        return a.ipv4_mapped
    return a


def ip_key(a):
    return (a.version, int(a))


def num(v):
    if isinstance(v, bool):
        return 0
    if isinstance(v, (int, float)):
        return max(int(v), 0)
    try:
        return max(int(float(v)), 0)
    except (TypeError, ValueError):
        return 0


def main():
    start, end, nets_cfg, domains_json = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    files = sys.argv[5:]
    nets = []
    for line in open(nets_cfg):
        line = line.split("#")[0].strip()
        if line:
            nets.append(ipaddress.ip_network(line.split()[0], strict=False))
    domains = json.load(open(domains_json))

    def local(a):
        return any(a.version == n.version and a in n for n in nets)

    length = end - start
    per = {"cur": defaultdict(int), "prev": defaultdict(int)}
    hosts = defaultdict(lambda: [0, 0, 0])  # sent, received, connections
    services = defaultdict(lambda: [0, 0])
    ports = defaultdict(lambda: [0, 0])
    states = defaultdict(int)
    names = defaultdict(lambda: [0, set()])
    prev_names = set()
    clients = defaultdict(lambda: [0, 0])
    for f in files:
        base = os.path.basename(f).split(".")[0]
        for r in records(f):
            kind = r.get("_path") or base
            if kind not in ("conn", "dns"):
                continue
            ts = epoch(r.get("ts"))
            if ts is None:
                continue
            if start <= ts < end:
                which = "cur"
            elif start - length <= ts < start:
                which = "prev"
            else:
                continue
            h = per[which]
            if kind == "conn":
                ob, rb = num(r.get("orig_bytes")), num(r.get("resp_bytes"))
                o, d = addr(r.get("id.orig_h")), addr(r.get("id.resp_h"))
                h["connections"] += 1
                h["bytes"] += ob + rb
                if o is not None and d is not None:
                    lo, ld = local(o), local(d)
                    if lo and not ld:
                        h["bytes_out"] += ob
                        h["bytes_in"] += rb
                    elif ld and not lo:
                        h["bytes_out"] += rb
                        h["bytes_in"] += ob
                if which != "cur":
                    continue
                for a, sent, got in ((o, ob, rb), (d, rb, ob)):
                    if a is not None:
                        x = hosts[a]
                        x[0] += sent
                        x[1] += got
                        x[2] += 1
                svc = r.get("service")
                svc = svc if isinstance(svc, str) and svc not in ("", "-") else "-"
                services[svc][0] += 1
                services[svc][1] += ob + rb
                port = r.get("id.resp_p")
                if port is not None and port != "-":
                    proto = r.get("proto") if isinstance(r.get("proto"), str) else ""
                    k = "%d/%s" % (num(port), proto)
                    ports[k][0] += 1
                    ports[k][1] += ob + rb
                st = r.get("conn_state")
                states[st if isinstance(st, str) else ""] += 1
            else:
                q = r.get("query")
                if not isinstance(q, str):
                    continue
                q = name(q)
                if q in ("", "-"):
                    continue
                rc = r.get("rcode_name")
                if isinstance(rc, str):
                    nx = rc.upper() == "NXDOMAIN"
                else:
                    nx = num(r.get("rcode")) == 3
                h["dns_queries"] += 1
                h["nxdomain"] += int(nx)
                if which == "prev":
                    prev_names.add(q)
                    continue
                names[q][0] += 1
                c = addr(r.get("id.orig_h"))
                if c is not None:
                    names[q][1].add(c)
                    clients[c][0] += 1
                    clients[c][1] += int(nx)
    cur = per["cur"]
    headline = {
        "connections": cur["connections"],
        "bytes": cur["bytes"],
        "bytes_out": cur["bytes_out"],
        "bytes_in": cur["bytes_in"],
        "local_hosts": sum(1 for a in hosts if local(a)),
        "dns_queries": cur["dns_queries"],
        "dns_names": len(names),
        "dns_clients": len(clients),
        "nxdomain": cur["nxdomain"],
    }

    def talkers(pred):
        rows = [(a, x) for a, x in hosts.items() if pred(a)]
        rows.sort(key=lambda t: (-(t[1][0] + t[1][1]), ip_key(t[0])))
        return [[str(a), x[0] + x[1], x[0], x[1], x[2]] for a, x in rows[:TOP]]

    def usage(m):
        rows = sorted(m.items(), key=lambda t: (-t[1][0], t[0]))
        return [[k, v[0], v[1]] for k, v in rows[:TOP]]

    def group(q):
        """Names nobody registers: one row a kind (trawl-report's rule)."""
        if q in ("in-addr.arpa", "ip6.arpa") or q.endswith((".in-addr.arpa", ".ip6.arpa")):
            return "(reverse DNS)", "arpa"
        try:
            ipaddress.ip_address(q)
            return "(IP literals)", "(none)"
        except ValueError:
            pass
        if "." not in q:
            return "(single-label names)", "(none)"
        return None

    doms = defaultdict(lambda: [0, 0, set(), ""])
    for q, (n, cs) in names.items():
        reg, suffix = group(q) or domains.get(q) or [None, None]
        if not reg:
            reg, suffix = q, q.rsplit(".", 1)[-1]
        d = doms[reg]
        d[0] += n
        d[1] += 1
        d[2] |= cs
        d[3] = suffix
    tlds = defaultdict(lambda: [0, 0])
    for d in doms.values():
        tlds[d[3]][0] += d[0]
        tlds[d[3]][1] += 1
    top_domains = sorted(doms.items(), key=lambda t: (-t[1][0], t[0]))[:TOP]
    top_tlds = sorted(tlds.items(), key=lambda t: (-t[1][0], t[0]))[:TOP]
    nx = sorted(
        ((c, v) for c, v in clients.items() if v[1] > 0), key=lambda t: (-t[1][1], ip_key(t[0]))
    )[:TOP]
    out = {
        "headline": headline,
        "previous_connections": per["prev"]["connections"],
        "previous_dns_queries": per["prev"]["dns_queries"],
        "local_talkers": talkers(local),
        "remote_talkers": talkers(lambda a: not local(a)),
        "services": usage(services),
        "ports": usage(ports),
        "states": dict(states),
        "top_domains": [[k, v[0], v[1], len(v[2])] for k, v in top_domains],
        "top_tlds": [[k, v[0], v[1]] for k, v in top_tlds],
        "nxdomain_clients": [[str(c), v[0], v[1]] for c, v in nx],
        "new_names": len([q for q in names if q not in prev_names]) if per["prev"]["dns_queries"] else None,
    }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
