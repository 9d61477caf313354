#!/usr/bin/env python3
"""Optimizer peer: the decide-now commitment LP of capplan's slice optimizer
(src/plan/mod.rs, tests/plan_verify.rs::solve_lp), built as sparse arrays and solved by HiGHS.

    optimizer_highs.py PROBLEM.json [--out RESULTS.json] [--levels CAPPLAN_LEVELS.json]
        [--solver choose|simplex|ipm|pdlp] [--threads N] [--no-presolve] [--log]

Per pool (format: optimizer_problem.md): hours t = 0..T, S paths, residual
R_{s,t} = max(0, D_{s,t} − E_t); per term the offer with the lowest effective rate (ties:
smallest id); one term ≥ T is "long", one shorter term is "short", two terms = short + long.
Blocks k of the short term's length (the long term's if only long); x3 covers blocks
k < ceil(min(L3, T) / block).

    min  r3·L3·x3 + Σ_k r1·L1·x1_k + (p/S) Σ_{s,t} o_{s,t}
    s.t. o_{s,t} + x3·[k(t) < inside] + x1_{k(t)} ≥ R_{s,t}      (one row per (s, t))
         x3, x1_k, o_{s,t} ≥ 0      (x3 absent without a long offer, x1 without a short one)

Stdout: one JSON line with the totals (objective sum, seconds: read / build / solve / total);
--out writes per-pool results (objective, objective_eval, x3, x1, status, seconds).
objective_eval re-evaluates the expected cost of the LP's levels directly (numpy), the same
function that --levels applies to capplan's levels, so the gap is computed in one place:
gap = (capplan − lp) / max(|lp|, 1).
"""

import argparse
import json
import os
import sys
import time
from decimal import Decimal

import numpy as np


# ---------------------------------------------------------------- problem file

def _dec(v) -> Decimal:
    return Decimal(str(v))


def _vector(spec, base_dir, count, what):
    """An inline list, or {"file": ..., "offset": values} of raw little-endian f64."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        path = os.path.join(base_dir, spec["file"])
        offset = int(spec.get("offset", 0))
        arr = np.fromfile(path, dtype="<f8", count=count, offset=8 * offset)
        if arr.size != count:
            raise SystemExit(f"{what}: {path} has {arr.size} values at offset {offset}, "
                             f"expected {count}")
        return arr.astype(np.float64, copy=False)
    arr = np.asarray(spec, dtype=np.float64).reshape(-1)
    if arr.size != count:
        raise SystemExit(f"{what}: {arr.size} values, expected {count}")
    return arr


def load_pools(path):
    with open(path) as f:
        doc = json.load(f)
    base = os.path.dirname(os.path.abspath(path))
    pools = doc["pools"] if "pools" in doc else [doc]
    out = []
    for i, p in enumerate(pools):
        hours = int(p["hours"])
        demand_spec = p.get("demand", p.get("demand_f64le"))
        if isinstance(demand_spec, list) and demand_spec and isinstance(demand_spec[0], list):
            paths = len(demand_spec)
        else:
            paths = int(p.get("paths", 1))
        d = _vector(demand_spec, base, paths * hours, f"pool {i} demand").reshape(paths, hours)
        e = _vector(p.get("existing", p.get("existing_f64le")), base, hours, f"pool {i} existing")
        if not np.all(np.isfinite(d)) or (d < 0).any():
            raise SystemExit(f"pool {i}: demand must be finite and >= 0")
        out.append({
            "id": str(p.get("id", i)),
            "hours": hours,
            "demand": d,
            "existing": e,
            "p": _dec(p["on_demand_hourly"]),
            "offers": [{"id": str(o["id"]), "term_hours": int(o["term_hours"]),
                        "rate": _dec(o["effective_hourly"])} for o in p["offers"]],
        })
    return out


# ---------------------------------------------------------------- structure (mirrors PoolProblem::new)

def structure(pool):
    hours = pool["hours"]
    best = {}
    for o in pool["offers"]:
        if o["term_hours"] <= 0:
            raise SystemExit(f"offer {o['id']}: term of 0 hours")
        b = best.get(o["term_hours"])
        if b is None or (o["rate"], o["id"]) < (b["rate"], b["id"]):
            best[o["term_hours"]] = o
    terms = sorted(best)
    short = long = None
    if len(terms) == 1:
        if terms[0] >= hours:
            long = best[terms[0]]
        else:
            short = best[terms[0]]
    elif len(terms) == 2:
        short, long = best[terms[0]], best[terms[1]]
        if long["term_hours"] % short["term_hours"] != 0:
            raise SystemExit("the longer term must be a whole multiple of the shorter")
    elif len(terms) > 2:
        raise SystemExit("at most two distinct terms per pool")
    block = short["term_hours"] if short else (long["term_hours"] if long else hours)
    blocks = -(-hours // block)
    inside = -(-min(long["term_hours"], hours) // block) if long else 0
    residual = pool["demand"]
    if pool["existing"] is not None:
        residual = np.maximum(residual - pool["existing"][None, :], 0.0)
    return {"short": short, "long": long, "block": block, "blocks": blocks, "inside": inside,
            "residual": np.ascontiguousarray(residual, dtype=np.float64)}


def expected_cost(pool, st, x3, x1):
    """r3·L3·x3 + Σ_k r1·L1·x1_k + p·mean_s Σ_t (R_{s,t} − c_{k(t)})⁺ (float64)."""
    hours, block = pool["hours"], st["block"]
    k_of_t = np.arange(hours) // block
    cov_block = np.zeros(st["blocks"])
    cost = 0.0
    if st["long"]:
        cov_block[: st["inside"]] += x3
        cost += float(st["long"]["rate"]) * st["long"]["term_hours"] * x3
    if st["short"]:
        x1 = np.asarray(x1, dtype=np.float64)
        cov_block += x1
        cost += float(st["short"]["rate"]) * st["short"]["term_hours"] * float(x1.sum())
    over = np.maximum(st["residual"] - cov_block[k_of_t][None, :], 0.0)
    return cost + float(pool["p"]) * float(over.sum()) / st["residual"].shape[0]


# ---------------------------------------------------------------- the LP

def quiet_highspy():
    """Imports highspy and creates the first Highs with fd 1 pointed at stderr: its banner is
    printed once per process to stdout, which must carry only the JSON line."""
    import highspy
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        version = highspy.Highs().version()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    return highspy, version


def build_lp(pool, st):
    import highspy
    R = st["residual"]
    S, T = R.shape
    n_rows = S * T
    k_of_t = np.arange(T, dtype=np.int64) // st["block"]
    has_long, has_short = st["long"] is not None, st["short"] is not None
    n_x1 = st["blocks"] if has_short else 0
    n_lead = int(has_long) + n_x1              # x3 first, then x1_0..x1_{K-1}, then o
    n_col = n_lead + n_rows

    cost = np.empty(n_col)
    starts, indices = [0], []
    rows_t = np.tile(np.arange(T, dtype=np.int64), S)          # t of row i = s*T + t
    all_rows = np.arange(n_rows, dtype=np.int64)
    if has_long:
        cost[0] = float(st["long"]["rate"]) * st["long"]["term_hours"]
        idx = all_rows[k_of_t[rows_t] < st["inside"]]
        indices.append(idx)
        starts.append(starts[-1] + idx.size)
    for k in range(n_x1):
        cost[int(has_long) + k] = float(st["short"]["rate"]) * st["short"]["term_hours"]
        idx = all_rows[k_of_t[rows_t] == k]
        indices.append(idx)
        starts.append(starts[-1] + idx.size)
    cost[n_lead:] = float(pool["p"]) / S
    lead_nnz = starts[-1]
    start = np.concatenate([np.asarray(starts, dtype=np.int64),
                            lead_nnz + 1 + np.arange(n_rows, dtype=np.int64)])
    index = np.concatenate(indices + [all_rows]) if indices else all_rows
    value = np.ones(index.size)

    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_rows
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.full(n_col, highspy.kHighsInf)
    lp.row_lower_ = R.reshape(-1)
    lp.row_upper_ = np.full(n_rows, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = value
    return lp, int(has_long), n_x1


def solve_pool(pool, args, levels=None):
    import highspy
    t0 = time.perf_counter()
    st = structure(pool)
    lp, n3, n1 = build_lp(pool, st)
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(args.log))
    h.setOptionValue("solver", args.solver)
    h.setOptionValue("presolve", "off" if args.no_presolve else "on")
    if args.threads:
        h.setOptionValue("threads", int(args.threads))
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    col = np.asarray(h.getSolution().col_value[: n3 + n1])
    x3 = float(col[0]) if n3 else 0.0
    x1 = [float(v) for v in col[n3:n3 + n1]]
    obj = float(h.getInfo().objective_function_value)
    res = {
        "id": pool["id"], "hours": pool["hours"], "paths": int(st["residual"].shape[0]),
        "status": status, "objective": obj, "objective_eval": expected_cost(pool, st, x3, x1),
        "x3": x3, "x1": x1,
        "long_offer": st["long"]["id"] if st["long"] else None,
        "short_offer": st["short"]["id"] if st["short"] else None,
        "rows": lp.num_row_, "cols": lp.num_col_,
        "seconds_build": t1 - t0, "seconds_solve": t2 - t1,
    }
    if levels is not None:
        c = expected_cost(pool, st, float(levels.get("three_year", 0.0)),
                          levels.get("one_year", []) if st["short"] else [])
        res["capplan_objective_eval"] = c
        res["gap"] = (c - res["objective_eval"]) / max(abs(res["objective_eval"]), 1.0)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("problem")
    ap.add_argument("--out", help="per-pool results (JSON)")
    ap.add_argument("--levels", help='capplan levels: {"pools":[{"id","three_year","one_year"}]}')
    ap.add_argument("--solver", default="choose", choices=["choose", "simplex", "ipm", "pdlp"])
    ap.add_argument("--threads", type=int, default=0, help="HiGHS threads (0 = its default)")
    ap.add_argument("--no-presolve", action="store_true")
    ap.add_argument("--log", action="store_true", help="show HiGHS's log (stderr-ish)")
    a = ap.parse_args()
    _, version = quiet_highspy()

    t0 = time.perf_counter()
    pools = load_pools(a.problem)
    lv = None
    if a.levels:
        with open(a.levels) as f:
            d = json.load(f)
        lv = {str(p["id"]): p for p in (d["pools"] if "pools" in d else [d])}
    t_read = time.perf_counter() - t0
    results = []
    for p in pools:
        results.append(solve_pool(p, a, None if lv is None else lv.get(p["id"])))
    total = time.perf_counter() - t0
    summary = {
        "engine": "highs", "version": version, "solver": a.solver,
        "pools": len(results),
        "not_optimal": sum(r["status"] != "Optimal" for r in results),
        "objective": sum(r["objective"] for r in results),
        "objective_eval": sum(r["objective_eval"] for r in results),
        "seconds_read": round(t_read, 4),
        "seconds_build": round(sum(r["seconds_build"] for r in results), 4),
        "seconds_solve": round(sum(r["seconds_solve"] for r in results), 4),
        "seconds_total": round(total, 4),
    }
    if len(results) == 1:
        summary.update(x3=results[0]["x3"], x1=results[0]["x1"],
                       rows=results[0]["rows"], cols=results[0]["cols"])
    if lv is not None:
        gaps = [r["gap"] for r in results if "gap" in r]
        with_lv = [r for r in results if "gap" in r]
        cap = sum(r["capplan_objective_eval"] for r in with_lv)
        ref = sum(r["objective_eval"] for r in with_lv)
        summary["capplan_objective_eval"] = cap
        summary["gap_max_abs"] = max((abs(g) for g in gaps), default=None)
        summary["gap_total"] = (cap - ref) / max(abs(ref), 1.0) if with_lv else None
        summary["levels_missing"] = len(results) - len(gaps)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"summary": summary, "pools": results}, f, indent=1)
    print(json.dumps(summary))
    return 0 if summary["not_optimal"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
