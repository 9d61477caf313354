#!/usr/bin/env python3
"""Forecast peer: statsforecast MSTL(season_length=[24, 168], trend_forecaster=AutoETS("ZZN"))
on every series of a long file (unique_id, ds, y), holding out the last `horizon` (720) points
of each series, 720-step forecast with a native 95 % interval (AutoETS's, through MSTL).

    forecast_statsforecast.py SERIES(.csv|.parquet) [--horizon 720] [--n-jobs N]
        [--forecasts OUT.csv] [--per-series OUT.csv] [--no-warmup]

Timed part ("seconds"): `StatsForecast(...).forecast(df=train, h=720, level=[95])` = fit +
predict of all series with n_jobs workers (default: all cores). Reading the input
("seconds_read") and scoring are timed separately. "seconds_warmup": one fit+predict of a
single short series in this process before the timed run (first-call overhead: imports,
lazy compilation if any); with --no-warmup the timed run pays it instead. Scoring: see
score_forecast.py (MASE with the in-sample seasonal-naive scale, season 168; coverage of the
95 % interval on the held-out points). One JSON line on stdout.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score_forecast import as_matrix, read_long, score, summary, write_per_series  # noqa: E402


def make_model():
    from statsforecast.models import MSTL, AutoETS
    return MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN"))


def run(df: pd.DataFrame, horizon: int, n_jobs: int) -> pd.DataFrame:
    from statsforecast import StatsForecast
    sf = StatsForecast(models=[make_model()], freq="h", n_jobs=n_jobs)
    return sf.forecast(df=df, h=horizon, level=[95])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("series")
    ap.add_argument("--horizon", type=int, default=720)
    ap.add_argument("--season", type=int, default=168, help="MASE scale season")
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count())
    ap.add_argument("--forecasts", help="write (unique_id, ds, yhat, lo95, hi95) here")
    ap.add_argument("--per-series", help="write per-series MASE / coverage here")
    ap.add_argument("--no-warmup", action="store_true")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)

    t0 = time.perf_counter()
    df = read_long(a.series, ["unique_id", "ds", "y"])
    df["ds"] = pd.to_datetime(df["ds"], utc=True).dt.tz_localize(None)
    df["unique_id"] = df["unique_id"].astype(str)
    df = df.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    ids, y = as_matrix(df, "y")
    n, total = y.shape
    if total <= a.horizon + 2 * 168:
        raise SystemExit(f"series have {total} points: too short for a {a.horizon}-step holdout")
    train = df.groupby("unique_id", sort=False).head(total - a.horizon)
    seconds_read = time.perf_counter() - t0

    import statsforecast
    seconds_warmup = 0.0
    if not a.no_warmup:
        t = time.perf_counter()
        w = train[train["unique_id"] == ids[0]].head(3 * 168)
        run(w, 24, 1)
        seconds_warmup = time.perf_counter() - t

    t = time.perf_counter()
    fc = run(train, a.horizon, a.n_jobs)
    seconds = time.perf_counter() - t

    if "unique_id" not in fc.columns:
        fc = fc.reset_index()
    fc = fc.rename(columns={"MSTL": "yhat", "MSTL-lo-95": "lo95", "MSTL-hi-95": "hi95"})
    fc["unique_id"] = fc["unique_id"].astype(str)
    _, yhat = as_matrix(fc, "yhat", ids)
    _, lo = as_matrix(fc, "lo95", ids)
    _, hi = as_matrix(fc, "hi95", ids)
    mase, cov, width = score(y, yhat, lo, hi, a.horizon, a.season)
    if a.forecasts:
        fc[["unique_id", "ds", "yhat", "lo95", "hi95"]].to_csv(
            a.forecasts, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    if a.per_series:
        write_per_series(a.per_series, ids, mase, cov, width)
    out = {
        "engine": "statsforecast-mstl-autoets",
        "version": statsforecast.__version__,
        "series": n, "points": total, "train_points": total - a.horizon,
        "horizon": a.horizon, "n_jobs": a.n_jobs,
        "seconds": round(seconds, 3), "seconds_read": round(seconds_read, 3),
        "seconds_warmup": round(seconds_warmup, 3),
        **summary(ids, mase, cov, width),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
