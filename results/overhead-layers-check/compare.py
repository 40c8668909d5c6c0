#!/usr/bin/env python3
"""Prints the delayed rows of the four overhead runs in this folder side by
side (old = 8a5bdcf, new = 964ff30, alternating old, new, old, new)."""
import os
HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = ["old", "new", "old2", "new2"]

def rows(run):
    d = {}
    for line in open(os.path.join(HERE, run, "overhead.md")):
        c = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(c) >= 8 and c[1] in ("delayed", "delayed_owned", "rayon_inline"):
            try:
                d[(c[0], c[1], c[2])] = (float(c[5]), float(c[6]), float(c[7]))
            except ValueError:
                pass
    return d

data = {r: rows(r) for r in RUNS}
print("| shape | system | workers | build ns/node old, old2 | new, new2 | compute ns/task old, old2 | new, new2 | peak B/node old | new |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for k in data["old"]:
    o1, o2, n1, n2 = (data[r][k] for r in ["old", "old2", "new", "new2"])
    print(f"| {k[0]} | {k[1]} | {k[2]} | {o1[0]}, {o2[0]} | {n1[0]}, {n2[0]} | {o1[1]}, {o2[1]} | {n1[1]}, {n2[1]} | {o1[2]} | {n1[2]} |")
