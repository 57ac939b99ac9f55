#!/usr/bin/env python3
"""Writes trawl's bundled sample logs: a small lab network seen by Zeek over two hours, in Zeek's
archive layout (dated folder with hourly rotated .log.gz files, plus current/), and one JSON log.

The story in the data (for the README and the tests):
  - alice-laptop (192.168.1.10) looks up a phishing host on 000webhostapp.com and fetches a page;
  - bob-desktop (192.168.1.11) downloads invoice.exe (files.log: application/x-dosexec);
  - at 10:05, 192.168.1.11 is leased to carol-phone instead, which then looks up DGA-like names;
  - fbsd-build (192.168.1.20, FreeBSD) sends a Windows browser user-agent, and runs Java 1.7.0_10.
Deterministic: the same script always writes the same bytes.  usage: make_samples.py [OUT_DIR]"""
import gzip, io, os, random, sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "samples")
rnd = random.Random(7)
T0 = 1763629200.0  # 2025-11-20 09:00:00 UTC
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

SCHEMAS = {
    "conn": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents",
             "time string addr port addr port enum string interval count count string bool bool count string count count count count set[string]"),
    "dns": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected",
            "time string addr port addr port enum count interval string count string count string count string bool bool bool bool count vector[string] vector[interval] bool"),
    "http": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer version user_agent request_body_len response_body_len status_code status_msg tags resp_fuids resp_mime_types",
             "time string addr port addr port count string string string string string string count count count string set[enum] vector[string] vector[string]"),
    "files": ("ts fuid uid id.orig_h id.orig_p id.resp_h id.resp_p source depth analyzers mime_type filename duration is_orig seen_bytes total_bytes missing_bytes md5 sha1 sha256",
              "time string string addr port addr port string count set[string] string string interval bool count count count string string string"),
    "dhcp": ("ts uids client_addr server_addr mac host_name domain requested_addr assigned_addr lease_time msg_types duration",
             "time set[string] addr addr string string string addr addr interval vector[string] interval"),
    "software": ("ts host host_p software_type name version.major version.minor version.minor2 version.minor3 version.addl unparsed_version",
                 "time addr port enum string count count count count string string"),
    "known_devices": ("ts mac dhcp_host_name", "time string string"),
}

HOSTS = {  # ip: (mac, name)
    "192.168.1.10": ("aa:bb:cc:00:00:10", "alice-laptop"),
    "192.168.1.11": ("aa:bb:cc:00:00:11", "bob-desktop"),
    "192.168.1.20": ("aa:bb:cc:00:00:20", "fbsd-build"),
}
CAROL = ("aa:bb:cc:00:00:33", "carol-phone")
RESOLVER, ROUTER = "192.168.1.1", "192.168.1.1"
BENIGN = [("www.google.com", "142.250.74.36"), ("github.com", "140.82.121.4"),
          ("outlook.office365.com", "52.97.146.162"), ("www.wikipedia.org", "185.15.59.224"),
          ("api.slack.com", "3.120.175.131"), ("debian.map.fastlydns.net", "151.101.2.132"),
          ("pkg.freebsd.org", "96.47.72.84"), ("update.googleapis.com", "142.250.185.99"),
          ("ocsp.digicert.com", "93.184.220.29"), ("www.bbc.co.uk", "151.101.0.81")]
PHISH = ("paypal-login.secure-verify.000webhostapp.com", "145.14.145.67")
DOWNLOAD = ("updates.example-cdn.net", "203.0.113.50")
DGA = ["qxvkzjwpterb.net", "mzkfhqlwxpnd.com", "bvtrqowzkxle.org", "hjzqpxwvkmrt.info", "wkqzxvbnrtpl.biz"]
UA = {"192.168.1.10": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      "192.168.1.11": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
      "192.168.1.20": "pkg/1.20.9 (FreeBSD 13.3-RELEASE amd64)"}
WIN_UA = UA["192.168.1.11"]

logs = {k: [] for k in SCHEMAS}
# Originator port of each connection, by uid: dns, http and files rows name the port of theirs.
PORT = {}


def uid(p="C"):
    return p + "".join(rnd.choice(B62) for _ in range(17 if p == "C" else 16))


def ts(t):
    return "%.6f" % t


def conn(t, o, r, rp, proto, service, ob, rb, u=None):
    u = u or uid()
    dur = rnd.uniform(0.001, 0.3) if proto == "udp" else rnd.uniform(0.05, 4.0)
    hist = "Dd" if proto == "udp" else "ShADadFf"
    state = "SF"
    PORT[u] = str(rnd.randint(32768, 60999))
    logs["conn"].append((t, [ts(t), u, o, PORT[u], r, str(rp), proto, service or "-",
                             "%.6f" % dur, str(ob), str(rb), state, "T", "F", "0", hist,
                             str(max(1, ob // 500)), str(ob + 40), str(max(1, rb // 500)), str(rb + 40), "(empty)"]))
    return u


def same_port(u):
    """The connection's originator port. Still draws the number rows used to draw, so every
    other value of the samples stays as it was."""
    rnd.randint(32768, 60999)
    return PORT[u]


def dns(t, client, name, answer=None, qtype="A", rcode="NOERROR"):
    u = conn(t, client, RESOLVER, 53, "udp", "dns", 40 + len(name), 80 if answer else 40)
    answers = ",".join(answer) if answer else "-"
    ttls = ",".join("%.6f" % rnd.choice([60, 300, 3600]) for _ in answer) if answer else "-"
    logs["dns"].append((t, [ts(t), u, client, same_port(u), RESOLVER, "53", "udp",
                            str(rnd.randint(1, 65535)), "%.6f" % rnd.uniform(0.001, 0.05), name, "1", "C_INTERNET",
                            "1" if qtype == "A" else "28", qtype, "0" if rcode == "NOERROR" else "3", rcode,
                            "F", "F", "T", "T", "0", answers, ttls, "F"]))


def http(t, client, host, ip, uri, ua, mime="text/html", size=None, status=200, fuid=None):
    size = size or rnd.randint(800, 40000)
    u = conn(t, client, ip, 80, "tcp", "http", rnd.randint(300, 900), size + 400)
    fuid = fuid or uid("F")
    logs["http"].append((t, [ts(t), u, client, same_port(u), ip, "80", "1", "GET", host, uri, "-",
                             "1.1", ua, "0", str(size), str(status), "OK", "(empty)", fuid, mime]))
    return u, fuid, size


def files(t, fuid, u, client, ip, mime, name, size):
    md5 = "%032x" % rnd.getrandbits(128)
    sha1 = "%040x" % rnd.getrandbits(160)
    sha256 = "%064x" % rnd.getrandbits(256)
    logs["files"].append((t + 0.2, [ts(t + 0.2), fuid, u, ip, "80", client, same_port(u), "HTTP", "0",
                                    "MD5,SHA1,SHA256", mime, name, "%.6f" % rnd.uniform(0.01, 0.5), "F",
                                    str(size), str(size), "0", md5, sha1, sha256]))


def dhcp(t, ip, mac, name, lease=3600.0):
    u = conn(t, ip, ROUTER, 67, "udp", "dhcp", 300, 300)
    logs["dhcp"].append((t, [ts(t), u, ip, ROUTER, mac, name, "lab.internal", ip, ip, "%.6f" % lease,
                             "DISCOVER,OFFER,REQUEST,ACK", "%.6f" % rnd.uniform(0.01, 0.2)]))
    logs["known_devices"].append((t, [ts(t), mac, name]))


# 09:00 leases
for i, (ip, (mac, name)) in enumerate(HOSTS.items()):
    dhcp(T0 + 5 + i, ip, mac, name)
# carol takes .11 once bob's lease has run out
dhcp(T0 + 3900, "192.168.1.11", *CAROL)

# background browsing over two hours
t = T0 + 20
while t < T0 + 7200:
    client = rnd.choice(["192.168.1.10", "192.168.1.11", "192.168.1.20"])
    name, ip = rnd.choice(BENIGN)
    dns(t, client, name, [ip])
    if rnd.random() < 0.3:
        http(t + 0.1, client, name, ip, rnd.choice(["/", "/index.html", "/api/v1/status", "/favicon.ico"]), UA[client])
    t += rnd.uniform(20, 70)

# alice and the phishing page
dns(T0 + 720, "192.168.1.10", PHISH[0], [PHISH[1]])
http(T0 + 721, "192.168.1.10", PHISH[0], PHISH[1], "/signin/verify.php?session=8821", UA["192.168.1.10"])
# bob downloads an executable
dns(T0 + 1800, "192.168.1.11", DOWNLOAD[0], [DOWNLOAD[1]])
u, f, size = http(T0 + 1801, "192.168.1.11", DOWNLOAD[0], DOWNLOAD[1], "/dl/invoice.exe", WIN_UA,
                  mime="application/x-dosexec", size=482304)
files(T0 + 1801, f, u, "192.168.1.11", DOWNLOAD[1], "application/x-dosexec", "invoice.exe", size)
u, f, size = http(T0 + 2400, "192.168.1.10", "www.bbc.co.uk", "151.101.0.81", "/report.pdf", UA["192.168.1.10"],
                  mime="application/pdf", size=120331)
files(T0 + 2400, f, u, "192.168.1.10", "151.101.0.81", "application/pdf", "report.pdf", size)
# the FreeBSD build host with a Windows browser user-agent, and old Java
http(T0 + 3000, "192.168.1.20", "www.wikipedia.org", "185.15.59.224", "/", WIN_UA)
logs["software"].append((T0 + 3001, [ts(T0 + 3001), "192.168.1.20", "-", "HTTP::BROWSER", "Java", "1", "7", "0", "10",
                                     "-", "Java/1.7.0_10"]))
logs["software"].append((T0 + 3002, [ts(T0 + 3002), "192.168.1.20", "-", "HTTP::BROWSER", "pkg", "1", "20", "9", "-",
                                     "-", UA["192.168.1.20"]]))
logs["software"].append((T0 + 3003, [ts(T0 + 3003), "192.168.1.10", "-", "HTTP::BROWSER", "Safari", "17", "5", "-", "-",
                                     "-", UA["192.168.1.10"]]))
# carol's phone and a DGA burst (NXDOMAIN)
for i, name in enumerate(DGA):
    dns(T0 + 4200 + i * 2, "192.168.1.11", name, None, rcode="NXDOMAIN")
# Lease renewals every half hour, as DHCP clients renew at half the lease time, so every record
# keeps its workstation; bob's lease is not renewed (.11 goes to carol at 10:05). Drawn from a
# generator of their own so the records above keep their values.
rnd, main_rnd = random.Random(8), rnd
for k in range(1, 4):
    for i, ip in enumerate(("192.168.1.10", "192.168.1.20")):
        dhcp(T0 + 1800 * k + i, ip, *HOSTS[ip])
dhcp(T0 + 3900 + 1800, "192.168.1.11", *CAROL)
rnd = main_rnd


def block(path, rows, opened):
    fields, types = SCHEMAS[path]
    out = io.StringIO()
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
    out.write("#path\t%s\n#open\t%s\n" % (path, opened))
    out.write("#fields\t" + fields.replace(" ", "\t") + "\n#types\t" + types.replace(" ", "\t") + "\n")
    for _, r in sorted(rows, key=lambda x: x[0]):
        out.write("\t".join(r) + "\n")
    return out.getvalue()


def stamp(t):
    import time
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(t))


zeek = os.path.join(OUT, "zeek")
day = os.path.join(zeek, "2025-11-20")
cur = os.path.join(zeek, "current")
os.makedirs(day, exist_ok=True)
os.makedirs(cur, exist_ok=True)
for path, rows in logs.items():
    for h in range(2):
        lo, hi = T0 + h * 3600, T0 + (h + 1) * 3600
        part = [r for r in rows if lo <= r[0] < hi]
        if not part:
            continue
        text = block(path, part, stamp(lo)) + "#close\t%s\n" % stamp(hi)
        name = "%s.%02d:00:00-%02d:00:00.log.gz" % (path, 9 + h, 10 + h)
        with open(os.path.join(day, name), "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
                g.write(text.encode())
# current/: the hour being written now (no #close yet)
t = T0 + 7200 + 10
cur_logs = {k: [] for k in SCHEMAS}
saved, logs = logs, cur_logs
for i in range(12):
    client = rnd.choice(["192.168.1.10", "192.168.1.11"])
    name, ip = rnd.choice(BENIGN)
    dns(t + i * 45, client, name, [ip])
for path in ("conn", "dns"):
    with open(os.path.join(cur, path + ".log"), "w") as f:
        f.write(block(path, logs[path], stamp(T0 + 7200)))

# The same DNS records as Zeek JSON (JSON-streaming style, with _path and ISO 8601 ts).
import datetime, json
dns_fields, dns_types = SCHEMAS["dns"]
os.makedirs(os.path.join(OUT, "zeek-json"), exist_ok=True)
with open(os.path.join(OUT, "zeek-json", "dns.json"), "w") as f:
    for t, r in sorted(saved["dns"], key=lambda x: x[0])[:40]:
        obj = {"_path": "dns"}
        for k, ty, v in zip(dns_fields.split(), dns_types.split(), r):
            if v == "-":
                continue
            if ty == "time":
                obj[k] = datetime.datetime.fromtimestamp(float(v), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            elif ty in ("count", "port"):
                obj[k] = int(v)
            elif ty == "interval":
                obj[k] = float(v)
            elif ty == "bool":
                obj[k] = v == "T"
            elif ty.startswith("vector["):
                obj[k] = [float(x) for x in v.split(",")] if "interval" in ty else v.split(",")
            else:
                obj[k] = v
        f.write(json.dumps(obj, separators=(",", ":")) + "\n")
print("wrote samples under", os.path.abspath(OUT))
