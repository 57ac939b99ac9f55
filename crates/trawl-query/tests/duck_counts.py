#!/usr/bin/env python3
r"""DuckDB's GROUP BY col over a Zeek TSV or JSON file, its text read as the query language reads it
(`-`/NULL as unset, `(empty)` as empty, `\xNN` decoded in TSV). Prints `count hex(value)` or `count NULL`.
usage: duck_counts.py FILE COLUMN tsv|json"""
import gzip, re, sys, duckdb
path, col, mode = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
if mode == "tsv":
    # Header lines are taken out first: read_csv's `skip` and its sniffer disagree on what
    # to skip, and rows after a second header block must stay.
    import os, tempfile
    opener = gzip.open if path.endswith(".gz") else open
    fields = None
    tmp = tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False)
    with opener(path, "rb") as f:
        for line in f:
            if line.startswith(b"#"):
                if line.startswith(b"#fields") and fields is None:
                    fields = line.rstrip(b"\n").decode().split("\t")[1:]
                continue
            tmp.write(line)
    tmp.close()
    cols = "{" + ",".join(f"'{x}': 'VARCHAR'" for x in fields) + "}"
    src = (f"read_csv('{tmp.name}', delim='\\t', header=false, auto_detect=false, columns={cols}, "
           f"quote='', escape='', nullstr='-', null_padding=true)")
else:
    src = f"read_json('{path}', format='newline_delimited', columns={{\"{col}\": 'VARCHAR'}})"
def norm(v):
    if v is None:
        return None
    b = v.encode("utf-8", "surrogateescape")
    if mode == "tsv":
        if b == b"(empty)":
            return b""
        b = re.sub(rb"\\x([0-9a-fA-F]{2})|\\\\", lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\", b)
    return b
out = {}
for v, c in con.execute(f'SELECT "{col}", count(*) FROM {src} GROUP BY ALL').fetchall():
    k = norm(v)
    out[k] = out.get(k, 0) + c
for k, c in out.items():
    print(c, "NULL" if k is None else k.hex())
if mode == "tsv":
    os.unlink(tmp.name)
