#!/usr/bin/env python3
"""Ingest peer: plain polars (lazy), the same query as the `polars` floor in capplan's
benches/ingest.rs (scan_parquet / scan_csv with try_parse_dates, filter, group_by with
dt.truncate("1h"), sum). See _ingest_common.py for the output."""

import os
import sys
import time

from _ingest_common import CAT, HOUR_FMT, KEYS, QTY, TIME, is_parquet, parse_args, report


def main():
    a = parse_args("polars")
    if a.threads:
        os.environ.setdefault("POLARS_MAX_THREADS", str(a.threads))  # before the import
    import polars as pl

    t0 = time.perf_counter()
    if is_parquet(a.input):
        lf = pl.scan_parquet(a.input)
    else:
        lf = pl.scan_csv(a.input, has_header=True, try_parse_dates=True)
    df = (
        lf.filter(pl.col(CAT) == "Usage")
        .group_by([*(pl.col(k) for k in KEYS), pl.col(TIME).dt.truncate("1h").alias("hour")])
        .agg(pl.col(QTY).sum(), pl.len().alias("n"))
        .collect()
    )
    t1 = time.perf_counter()
    rows = int(df["n"].sum())
    tz = df.schema["hour"]
    hour = pl.col("hour")
    if getattr(tz, "time_zone", None):
        hour = hour.dt.convert_time_zone("UTC")
    (
        df.sort([*KEYS, "hour"])
        .select(*KEYS, hour.dt.strftime(HOUR_FMT), pl.col(QTY))
        .write_csv(a.output)
    )
    t2 = time.perf_counter()
    report("polars", rows, df.height, t2 - t0, t2 - t1, version=pl.__version__,
           threads=pl.thread_pool_size())


if __name__ == "__main__":
    sys.exit(main())
