#!/usr/bin/env python3
"""Prints where the original Last.fm libketama places each key, as CSV: key,node.

    ketama_classic.py HOST:PORT[=WEIGHT]... < keys.txt > out.csv

Needs the `ketama` package from PyPI (Python bindings that compile libketama's own C source);
scripts/vectors/generate installs it into a temporary folder. libketama reads its servers
from a file of "address<TAB>memory" lines; the weight is written as the memory.
"""
import os
import sys
import tempfile

import ketama

servers = []
for spec in sys.argv[1:]:
    address, _, weight = spec.partition("=")
    servers.append((address, int(weight or "1")))
if not servers:
    sys.exit("usage: ketama_classic.py HOST:PORT[=WEIGHT]... < keys")

with tempfile.NamedTemporaryFile("w", suffix=".servers", delete=False) as f:
    for address, weight in servers:
        f.write(f"{address}\t{weight}\n")
    path = f.name
try:
    continuum = ketama.Ketama(path)
    keys = sys.stdin.buffer.read().split(b"\n")
    if keys and keys[-1] == b"":
        keys.pop()  # the newline that ends the last line
    # Keys go in as bytes: for str keys the binding passes the character count as the length,
    # which truncates multi-byte UTF-8 keys before libketama hashes them.
    out = [b"key,node"] + [key + b"," + continuum.get_server(key)[1].encode() for key in keys]
    sys.stdout.buffer.write(b"\n".join(out) + b"\n")
finally:
    os.unlink(path)
