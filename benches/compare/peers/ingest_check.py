#!/usr/bin/env python3
"""Checks that two ingest outputs agree: peer CSVs (ServiceName,RegionId,SkuId,hour,
ConsumedQuantity) or capplan's `ingest --out X.csv` (service,region,sku,unit,timestamp,value,..).
capplan fills empty hour buckets with 0, so rows present in only one file must be 0 there.

    ingest_check.py A.csv B.csv [--rtol 1e-9]
Prints one JSON line {"rows_a","rows_b","matched","only_a","only_b","max_rel_diff","ok"};
exit status 1 if they disagree.
"""

import argparse
import json
import sys

import polars as pl

CAPPLAN = {"service": "ServiceName", "region": "RegionId", "sku": "SkuId",
           "timestamp": "hour", "value": "ConsumedQuantity"}
KEYS = ["ServiceName", "RegionId", "SkuId", "hour"]


def load(path):
    df = pl.read_csv(path, infer_schema_length=0)  # all text; parse the number below
    if "service" in df.columns:
        df = df.rename({k: v for k, v in CAPPLAN.items() if k in df.columns})
    return df.select(*KEYS, pl.col("ConsumedQuantity").cast(pl.Float64).fill_null(0.0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-9)
    a = ap.parse_args()
    da, db = load(a.a), load(a.b)
    j = da.join(db, on=KEYS, how="full", suffix="_b", coalesce=True)
    qa, qb = pl.col("ConsumedQuantity").fill_null(0.0), pl.col("ConsumedQuantity_b").fill_null(0.0)
    j = j.with_columns(rel=(qa - qb).abs() / pl.max_horizontal(qa.abs(), qb.abs(), pl.lit(1.0)))
    out = {
        "rows_a": da.height, "rows_b": db.height,
        "matched": j.filter(pl.col("ConsumedQuantity").is_not_null()
                            & pl.col("ConsumedQuantity_b").is_not_null()).height,
        "only_a": j.filter(pl.col("ConsumedQuantity_b").is_null()).height,
        "only_b": j.filter(pl.col("ConsumedQuantity").is_null()).height,
        "max_rel_diff": float(j["rel"].max() or 0.0),
    }
    out["ok"] = out["max_rel_diff"] <= a.rtol
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
