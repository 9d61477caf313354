#!/usr/bin/env python3
"""Scores forecasts of the held-out tail of the forecast workload: one definition of the
metrics for every engine (the statsforecast peer imports it; capplan's forecasts are scored
by running this file on the CSV the Rust side writes).

    score_forecast.py SERIES(.csv|.parquet) FORECASTS(.csv|.parquet) [--horizon 720]
                      [--season 168] [--per-series OUT.csv]

SERIES: the long input (unique_id, ds, y), all points incl. the held-out tail.
FORECASTS: long (unique_id, ds, yhat, lo95, hi95), exactly `horizon` rows per series, the ds
of the last `horizon` points of each series.

Per series: MASE = mean_t |y_t − yhat_t| over the held-out tail / mean |y_t − y_{t−season}|
over the training part (in-sample seasonal naive, season 168 by default); coverage95 = share
of held-out points with lo95 ≤ y ≤ hi95. Prints one JSON line: series, mean/median MASE,
coverage95 (pooled over all held-out points = mean over series, as lengths are equal) and
the mean width of the 95 % interval relative to the mean held-out level.
"""

import argparse
import json

import numpy as np
import pandas as pd


def read_long(path: str, columns=None) -> pd.DataFrame:
    if path.lower().endswith((".parquet", ".pq")):
        return pd.read_parquet(path, columns=columns)
    return pd.read_csv(path, usecols=columns)


def as_matrix(df: pd.DataFrame, value: str, ids=None):
    """(ids, matrix[n_series, n_points]) of a long frame sorted by (unique_id, ds)."""
    df = df.sort_values(["unique_id", "ds"], kind="stable")
    counts = df.groupby("unique_id", sort=True).size()
    if counts.nunique() != 1:
        raise SystemExit(f"series of unequal length: {counts.min()}..{counts.max()} points")
    if ids is not None and list(counts.index) != list(ids):
        raise SystemExit("forecasts and series have different unique_id sets")
    return list(counts.index), df[value].to_numpy(np.float64).reshape(len(counts), -1)


def score(y: np.ndarray, yhat: np.ndarray, lo: np.ndarray, hi: np.ndarray, horizon: int,
          season: int):
    """Per-series MASE and coverage; y is [n, T] incl. the tail, yhat/lo/hi are [n, horizon]."""
    train, test = y[:, :-horizon], y[:, -horizon:]
    scale = np.mean(np.abs(train[:, season:] - train[:, :-season]), axis=1)
    mae = np.mean(np.abs(test - yhat), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = np.where(scale > 0, mae / scale, np.nan)
    inside = (test >= lo) & (test <= hi)
    coverage = inside.mean(axis=1)
    width = np.mean(hi - lo, axis=1) / np.maximum(np.mean(np.abs(test), axis=1), 1e-12)
    return mase, coverage, width


def summary(ids, mase, coverage, width) -> dict:
    return {
        "series": len(ids),
        "mase_mean": float(np.nanmean(mase)),
        "mase_median": float(np.nanmedian(mase)),
        "coverage95": float(np.mean(coverage)),
        "rel_width95": float(np.mean(width)),
        "mase_undefined": int(np.isnan(mase).sum()),
    }


def write_per_series(path, ids, mase, coverage, width):
    pd.DataFrame({"unique_id": ids, "mase": mase, "coverage95": coverage,
                  "rel_width95": width}).to_csv(path, index=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("series")
    ap.add_argument("forecasts")
    ap.add_argument("--horizon", type=int, default=720)
    ap.add_argument("--season", type=int, default=168)
    ap.add_argument("--per-series")
    a = ap.parse_args()
    ids, y = as_matrix(read_long(a.series, ["unique_id", "ds", "y"]), "y")
    f = read_long(a.forecasts, ["unique_id", "ds", "yhat", "lo95", "hi95"])
    _, yhat = as_matrix(f, "yhat", ids)
    _, lo = as_matrix(f, "lo95", ids)
    _, hi = as_matrix(f, "hi95", ids)
    if yhat.shape[1] != a.horizon:
        raise SystemExit(f"forecasts have {yhat.shape[1]} steps per series, not {a.horizon}")
    mase, cov, width = score(y, yhat, lo, hi, a.horizon, a.season)
    if a.per_series:
        write_per_series(a.per_series, ids, mase, cov, width)
    print(json.dumps(summary(ids, mase, cov, width)))


if __name__ == "__main__":
    main()
