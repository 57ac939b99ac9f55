#!/usr/bin/env python3
"""Build a Zeek log archive of about 1 GB (uncompressed) for `trawl pivot` benchmarks.

usage: pivot_data.py CORPUS OUT [REPLICAS]   (default 24 replicas: one day, about 1.0 GB)

Each replica is one hour of Zeek's dated archive layout (OUT/2018-03-24/dns.17:00:00-18:00:00.log
...): every TSV log of the real WRCCDC 2018 capture in CORPUS/brimdata-zed-sample-data/zeek-default
(Zeek 6.2, CC-BY-SA 4.0; 32 log types: dns, ssl, x509, weird, notice, smtp, pe, ocsp ...), shifted
by one hour per replica, with uids and file ids remapped per replica (as gen_dns.py does). That
capture's conn, http and files logs were too large for the corpus, so they are synthesised from it
and marked as such here:
  - conn: one record per uid seen in any log, with that log's addresses, ports and protocol;
  - http + files: for connections to port 80, one GET with a response file (a new fuid, random
    MD5/SHA-1/SHA-256) linked by resp_fuids / uid, the way Zeek writes them.
Addresses, names and certificate fingerprints are kept, so an address or a certificate recurs
every hour as it would on a real network. Deterministic: the same arguments give the same files.
Prints one line per replica and, at the end, a uid, a file hash and a name to pivot on."""
import gzip, os, random, string, sys

CORPUS, OUT = sys.argv[1], sys.argv[2]
REPL = int(sys.argv[3]) if len(sys.argv) > 3 else 24
SRC = os.path.join(CORPUS, 'brimdata-zed-sample-data', 'zeek-default')
rnd = random.Random(7)
B62 = string.digits + string.ascii_letters
HEX = '0123456789abcdef'


def rid(prefix):
    return prefix + ''.join(rnd.choices(B62, k=17))


def rhex(n):
    return ''.join(rnd.choices(HEX, k=n))


def load(path):
    hdr, rows = [], []
    with gzip.open(path, 'rt', encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#'):
                if not line.startswith('#close') and not rows:
                    hdr.append(line)
            elif line:
                rows.append(line.split('\t'))
    fields = next(l for l in hdr if l.startswith('#fields')).split('\t')[1:]
    return hdr, fields, rows


logs = {}
for name in sorted(os.listdir(SRC)):
    if name.endswith('.log.gz'):
        logs[name[:-7]] = load(os.path.join(SRC, name))

# --- conn, synthesised: one record per uid, from the first record that names it.
seen = {}
for typ, (hdr, fields, rows) in logs.items():
    if 'uid' not in fields or 'id.resp_p' not in fields:
        continue
    ix = [fields.index(f) for f in ('ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p')]
    pi = fields.index('proto') if 'proto' in fields else None
    for r in rows:
        ts, uid, oh, op, rh, rp = (r[i] for i in ix)
        if uid == '-' or ts.startswith('X'):
            continue
        proto = r[pi] if pi is not None and r[pi] in ('tcp', 'udp', 'icmp') else (
            'udp' if typ in ('dns', 'ntp', 'snmp', 'syslog', 'dhcp') else 'tcp')
        service = typ if typ in ('dns', 'ssl', 'smtp', 'ssh', 'rdp', 'ntp', 'snmp', 'ftp', 'kerberos',
                                 'dce_rpc', 'ldap_search', 'modbus', 'rfb', 'syslog', 'ntlm') else '-'
        prev = seen.get(uid)
        if prev is None or float(ts) < float(prev[0]):
            seen[uid] = (ts, uid, oh, op, rh, rp, proto, service.replace('_search', ''))
conn_fields = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service',
               'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp',
               'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes',
               'tunnel_parents']
conn_types = ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'interval', 'count',
              'count', 'string', 'bool', 'bool', 'count', 'string', 'count', 'count', 'count', 'count',
              'set[string]']
conn_rows = []
for ts, uid, oh, op, rh, rp, proto, service in sorted(seen.values(), key=lambda v: float(v[0])):
    ob, rb = rnd.randint(40, 4000), rnd.randint(0, 90000)
    op_, rp_ = ob // 500 + 1, rb // 1400 + 1
    state = rnd.choice(['SF', 'SF', 'SF', 'S0', 'RSTO', 'SH'])
    conn_rows.append([ts, uid, oh, op, rh, rp, proto, service, '%.6f' % rnd.uniform(0.0005, 30),
                      str(ob), str(rb), state, 'T' if oh.startswith('10.') else 'F',
                      'T' if rh.startswith('10.') else 'F', '0',
                      'ShADadFf' if proto == 'tcp' else 'Dd', str(op_), str(ob + 40 * op_), str(rp_),
                      str(rb + 40 * rp_), '(empty)'])


def header(path, fields, types):
    return ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-',
            '#path\t' + path, '#open\t2018-03-24-17-00-00', '#fields\t' + '\t'.join(fields),
            '#types\t' + '\t'.join(types)]


logs['conn'] = (header('conn', conn_fields, conn_types), conn_fields, conn_rows)

# --- http + files, synthesised for connections to port 80.
http_fields = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'trans_depth', 'method',
               'host', 'uri', 'referrer', 'version', 'user_agent', 'origin', 'request_body_len',
               'response_body_len', 'status_code', 'status_msg', 'info_code', 'info_msg', 'tags',
               'username', 'password', 'proxied', 'orig_fuids', 'orig_filenames', 'orig_mime_types',
               'resp_fuids', 'resp_filenames', 'resp_mime_types']
http_types = ['time', 'string', 'addr', 'port', 'addr', 'port', 'count', 'string', 'string', 'string',
              'string', 'string', 'string', 'string', 'count', 'count', 'count', 'string', 'count',
              'string', 'set[enum]', 'string', 'string', 'set[string]', 'vector[string]',
              'vector[string]', 'vector[string]', 'vector[string]', 'vector[string]', 'vector[string]']
files_fields = ['ts', 'fuid', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'source',
                'depth', 'analyzers', 'mime_type', 'filename', 'duration', 'local_orig', 'is_orig',
                'seen_bytes', 'total_bytes', 'missing_bytes', 'overflow_bytes', 'timedout',
                'parent_fuid', 'md5', 'sha1', 'sha256', 'extracted', 'extracted_cutoff',
                'extracted_size']
files_types = ['time', 'string', 'string', 'addr', 'port', 'addr', 'port', 'string', 'count',
               'set[string]', 'string', 'string', 'interval', 'bool', 'bool', 'count', 'count', 'count',
               'count', 'bool', 'string', 'string', 'string', 'string', 'string', 'bool', 'count']
objects = [('/', 'text/html'), ('/index.html', 'text/html'), ('/images/logo.png', 'image/png'),
           ('/js/app.js', 'application/javascript'), ('/downloads/setup.exe', 'application/x-dosexec'),
           ('/docs/report.pdf', 'application/pdf'), ('/favicon.ico', 'image/x-icon')]
agents = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.181 Safari/537.36',
          'Mozilla/5.0 (X11; Linux x86_64; rv:59.0) Gecko/20100101 Firefox/59.0',
          'Microsoft-CryptoAPI/10.0', 'curl/7.58.0', 'Wget/1.19.4 (linux-gnu)']
web = [c for c in conn_rows if c[5] == '80' and c[6] == 'tcp']
http_rows, files_rows = [], []
for c in web:
    uri, mime = rnd.choice(objects)
    size = rnd.randint(200, 900000)
    fuid = rid('F')
    t = float(c[0]) + rnd.uniform(0.01, 0.5)
    http_rows.append(['%.6f' % t, c[1], c[2], c[3], c[4], c[5], '1', 'GET', c[4], uri, '-', '1.1',
                      rnd.choice(agents), '-', '0', str(size), '200', 'OK', '-', '-', '(empty)', '-',
                      '-', '-', '-', '-', '-', fuid, '-', mime])
    files_rows.append(['%.6f' % (t + 0.05), fuid, c[1], c[4], c[5], c[2], c[3], 'HTTP', '0',
                       'MD5,SHA1,SHA256', mime, uri.rsplit('/', 1)[-1] or '-', '%.6f' % rnd.uniform(0, 2),
                       '-', 'F', str(size), str(size), '0', '0', 'F', '-', rhex(32), rhex(40), rhex(64),
                       '-', '-', '-'])
logs['http'] = (header('http', http_fields, http_types), http_fields, http_rows)
logs['files'] = (header('files', files_fields, files_types), files_fields, files_rows)

# --- replicas
ID_FIELDS = {'uid': 'C', 'conn_uids': 'C', 'fuid': 'F', 'parent_fuid': 'F', 'fuids': 'F',
             'orig_fuids': 'F', 'resp_fuids': 'F', 'cert_chain_fuids': 'F',
             'client_cert_chain_fuids': 'F'}
HASH_FIELDS = ('md5', 'sha1', 'sha256')
T0 = 1521910800  # 2018-03-24 17:00:00 UTC, the hour the capture starts in
total = 0
example = {}
for r in range(REPL):
    umap = {}

    def remap(v, prefix):
        if v in ('-', '(empty)'):
            return v
        out = []
        for x in v.split(','):
            y = umap.get(x)
            if y is None:
                y = umap[x] = rid(prefix)
            out.append(y)
        return ','.join(out)

    start = T0 + r * 3600
    day = '%04d-%02d-%02d' % __import__('time').gmtime(start)[:3]
    h0 = __import__('time').gmtime(start)[3]
    folder = os.path.join(OUT, day)
    os.makedirs(folder, exist_ok=True)
    size = 0
    for typ, (hdr, fields, rows) in sorted(logs.items()):
        cols = [(i, ID_FIELDS[f]) for i, f in enumerate(fields) if f in ID_FIELDS]
        if typ in ('pe', 'ocsp', 'x509') and 'id' in fields:
            cols.append((fields.index('id'), 'F'))
        hcols = [i for i, f in enumerate(fields) if f in HASH_FIELDS] if r > 0 else []
        time_cols = [i for i, f in enumerate(fields) if f == 'ts']
        name = '%s.%02d:00:00-%02d:00:00.log' % (typ, h0, (h0 + 1) % 24)
        path = os.path.join(folder, name)
        with open(path, 'w', encoding='utf-8', errors='surrogateescape', newline='\n') as f:
            for l in hdr:
                if l.startswith('#open'):
                    l = '#open\t%04d-%02d-%02d-%02d-00-00' % (__import__('time').gmtime(start)[:4])
                f.write(l + '\n')
            off = r * 3600
            for row in rows:
                row = list(row)
                for i in time_cols:
                    try:
                        row[i] = '%.6f' % (float(row[i]) + off)
                    except ValueError:
                        pass
                for i, p in cols:
                    row[i] = remap(row[i], p)
                for i in hcols:
                    if row[i] != '-':
                        row[i] = rhex(len(row[i]))
                f.write('\t'.join(row) + '\n')
            f.write('#close\t%04d-%02d-%02d-%02d-00-00\n' % (__import__('time').gmtime(start + 3600)[:4]))
        size += os.path.getsize(path)
        if r == REPL // 2 and typ == 'files' and rows:
            example['files'] = path
    total += size
    print('replica %d: %s %02d:00, %.1f MB' % (r, day, h0, size / 1e6), flush=True)
print('total %.1f MB in %d files' % (total / 1e6, REPL * len(logs)))
