#!/usr/bin/env python3
"""Name files for `trawl score` benchmarks, from the labelled lists of the shared folder.

usage: score_names.py SHARED OUT_DIR

Writes into OUT_DIR:
  all.txt    every distinct name of SHARED/domains/{benign,phish,dga}.tsv (first column, about
             351k), classes interleaved in a fixed shuffled order;
  98k.txt    the first 98,000 lines of all.txt;
  dirty.txt  98k.txt with what a DNS log also carries, at about the shares seen in the query pool
             of SHARED/bench (a real capture: 22% reverse-DNS there, fewer here): 12% reverse-DNS
             names (in-addr.arpa, ip6.arpa), 1% IP literals, 1% blank lines, 1.5% DNS-SD/SRV
             names with underscores (illegal: reported), 0.5% "-" (Zeek's unset field), 2% upper
             case or a trailing dot, 1% CRLF endings, 0.5% trailing spaces, and a few non-UTF-8
             bytes, over-long labels and over-long names.
Deterministic: the same lists give the same files."""
import os, random, sys

SHARED, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
names, seen = [], set()
for f in ('benign.tsv', 'phish.tsv', 'dga.tsv'):
    with open(os.path.join(SHARED, 'domains', f), encoding='utf-8') as fh:
        for line in fh:
            n = line.rstrip('\n').split('\t', 1)[0]
            if n and n not in seen:
                seen.add(n)
                names.append(n)
rnd = random.Random(14)
rnd.shuffle(names)


def write(path, lines):
    with open(path, 'wb') as fh:
        fh.write(b''.join(lines))


write(os.path.join(OUT, 'all.txt'), [n.encode() + b'\n' for n in names])
base = names[:98_000]
write(os.path.join(OUT, '98k.txt'), [n.encode() + b'\n' for n in base])

pool = open(os.path.join(SHARED, 'bench', 'query_pool.txt'), encoding='utf-8').read().split('\n')
srv = [q for q in pool if '_' in q] or ['_ldap._tcp.dc._msdcs.corp.example']


def rev4():
    return '.'.join(str(rnd.randrange(256)) for _ in range(4)) + '.in-addr.arpa'


def rev6():
    return '.'.join(rnd.choice('0123456789abcdef') for _ in range(32)) + '.ip6.arpa'


def ip():
    if rnd.random() < 0.8:
        return '.'.join(str(rnd.randrange(256)) for _ in range(4))
    return '2001:db8::' + format(rnd.randrange(65536), 'x')


out = []
for n in base:
    r = rnd.random()
    line = n.encode()
    # Extra lines go before the name; altered names replace it.
    if r < 0.12:
        out.append((rev4() if rnd.random() < 0.85 else rev6()).encode() + b'\n')
    elif r < 0.13:
        out.append(ip().encode() + b'\n')
    elif r < 0.14:
        out.append(b'\n')
    elif r < 0.155:
        out.append(rnd.choice(srv).encode() + b'\n')
    elif r < 0.16:
        out.append(b'-\n')
    elif r < 0.1602:
        out.append(b'a' * 70 + b'.' + line + b'\n')
    elif r < 0.1604:
        out.append(b'.'.join([b'x' * 60] * 5) + b'.com\n')
    elif r < 0.1804:
        line = (n.upper() if rnd.random() < 0.5 else n + '.').encode()
    elif r < 0.1904:
        line += b'\r'
    elif r < 0.1954:
        line += b'  '
    elif r < 0.1956:
        line = line[:3] + b'\xff\xfe' + line[3:]
    out.append(line + b'\n')
write(os.path.join(OUT, 'dirty.txt'), out)
for f in ('all.txt', '98k.txt', 'dirty.txt'):
    p = os.path.join(OUT, f)
    print(f'{p}: {sum(1 for _ in open(p, "rb"))} lines')
