#!/usr/bin/env python3
"""Writes example problem files in the optimizer_problem.md format (for smoke tests of
optimizer_highs.py; the benchmark's own problems come from the Rust side).

    optimizer_make_example.py OUT.json --kind small   [--seed N]
    optimizer_make_example.py OUT.json --kind bench   [--paths S] [--pools N] [--inline]

small: one random pool (2–3 year blocks of 20–66 h, 1–4 paths, 1y and/or 3y offers, p = 1,
sometimes existing coverage), like tests/plan_verify.rs's instances (not bit-identical).
bench: the path() of capplan's benches/optimizer.rs (SplitMix64, seed 42, T = 26,280,
1y-partial 0.0602 / 3y-partial 0.0412, p = 0.096): --pools 1 --paths S = one pool of S paths
(the bench uses 200); --pools N = N single-path pools with levels 5 + (i mod 50) (the bench
draws these after the 200-path pool, so its values differ from this file's unless the Rust side
writes them). Demand goes to OUT.bin (raw f64 little-endian) unless --inline.
"""

import argparse
import json
import math
import os
import random

import numpy as np

M = (1 << 64) - 1
T = 26_280


class Rng:
    def __init__(self, seed):
        self.s = seed & M

    def unit(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return ((z ^ (z >> 31)) >> 11) / float(1 << 53)


def bench_path(rng, level):
    growth = 0.3 * (rng.unit() - 0.3)
    out = np.empty(T)
    for h in range(T):
        day = (h % 24) / 24.0 * math.tau
        week = 0.8 if (h // 24) % 7 >= 5 else 1.0
        v = (level * (1.0 + growth * h / T) * week * (1.0 + 0.3 * math.sin(day))
             * (1.0 + 0.1 * (rng.unit() - 0.5)))
        out[h] = max(v, 0.0)
    return out


BENCH_OFFERS = [
    {"id": "1y-partial", "term_hours": 8760, "effective_hourly": "0.0602"},
    {"id": "3y-partial", "term_hours": 26280, "effective_hourly": "0.0412"},
]


def small(seed):
    r = random.Random(seed)
    year, blocks, paths = r.randint(20, 66), r.choice([2, 3]), r.randint(1, 4)
    t = year * blocks
    base = 2 + 8 * r.random()
    demand = []
    for _ in range(paths):
        trend, level = (r.random() - 0.3) * 4 / t, base * (0.6 + 0.8 * r.random())
        row = []
        for h in range(t):
            v = level + trend * h * level + 3 * math.sin(h * 0.7) * r.random() + 2 * (r.random() - .5)
            if r.randrange(10) == 0:
                v = 0.0
            if r.randrange(15) == 0:
                v += 6 * r.random()
            row.append(round(max(v, 0.0), 6))
        demand.append(row)
    offers = []
    which = r.randrange(5)
    if which != 3:
        offers.append({"id": "1y", "term_hours": year, "effective_hourly": f"{r.randint(300, 1099) / 1000}"})
    if which != 4:
        offers.append({"id": "3y", "term_hours": 3 * year, "effective_hourly": f"{r.randint(200, 799) / 1000}"})
    pool = {"id": f"small-{seed}", "hours": t, "on_demand_hourly": "1", "offers": offers,
            "demand": demand}
    if r.randrange(3) == 0:
        e = round(base * 0.4)
        pool["existing"] = [e if h < t // 2 else 0.0 for h in range(t)]
    return {"format": "capplan-compare-optimizer/1", "pools": [pool]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--kind", choices=["small", "bench"], default="small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--paths", type=int, default=1)
    ap.add_argument("--pools", type=int, default=1)
    ap.add_argument("--inline", action="store_true")
    a = ap.parse_args()
    if a.kind == "small":
        doc = small(a.seed)
    else:
        rng = Rng(42)
        if a.pools == 1:
            demand = [np.stack([bench_path(rng, 120.0) for _ in range(a.paths)])]
        else:
            demand = [bench_path(rng, 5.0 + (i % 50))[None, :] for i in range(a.pools)]
        pools = []
        binpath = os.path.splitext(a.out)[0] + ".bin"
        offset = 0
        if not a.inline:
            with open(binpath, "wb") as f:
                for d in demand:
                    f.write(d.astype("<f8").tobytes())
        for i, d in enumerate(demand):
            p = {"id": f"pool-{i}", "hours": T, "paths": int(d.shape[0]),
                 "on_demand_hourly": "0.096", "offers": BENCH_OFFERS}
            if a.inline:
                p["demand"] = d.tolist()
            else:
                p["demand_f64le"] = {"file": os.path.basename(binpath), "offset": offset}
                offset += d.size
            pools.append(p)
        doc = {"format": "capplan-compare-optimizer/1", "pools": pools}
    with open(a.out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
