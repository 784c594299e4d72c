#!/usr/bin/env python
"""Counts and a checksum of the Rotten Tomatoes split made by the reference rule.

    python scripts/rt_checksum.py rotten_tomatoes_corpus_full.csv.bz2

Runs ../shared/reference/rt_split.py, reads its TSV back (undoing its backslash escapes),
and prints per split the row count and sha256 over "label\\tmovie\\ttext\\n" lines in file
order: the figures `bertrs-data`'s test pins.
"""
import csv
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1]
with tempfile.TemporaryDirectory() as d:
    tsv = os.path.join(d, "rt.tsv")
    subprocess.run([sys.executable, os.path.join(HERE, "../../shared/reference/rt_split.py"), src, tsv], check=True)
    hashes, counts = {}, {}
    with open(tsv, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"):
            s = row["split"]
            hashes.setdefault(s, hashlib.sha256())
            hashes[s].update(f"{row['label']}\t{row['movie']}\t{row['text']}\n".encode("utf-8"))
            counts[s] = counts.get(s, 0) + 1
for s in ("train", "dev", "test"):
    print(s, counts[s], hashes[s].hexdigest())
