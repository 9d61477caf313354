#!/usr/bin/env python3
"""Ingest peer: pandas (default NumPy-backed frames). Parquet is read with pyarrow (only the
needed columns); CSV with pandas' default C parser (--csv-engine pyarrow for the
multi-threaded Arrow reader). See _ingest_common.py for the query and the output."""

import sys
import time

import pandas as pd

from _ingest_common import CAT, COLUMNS, HOUR_FMT, KEYS, QTY, TIME, is_parquet, parse_args, report


def main():
    csv_engine = "c"
    if "--csv-engine" in sys.argv:
        i = sys.argv.index("--csv-engine")
        csv_engine = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    a = parse_args("pandas")
    t0 = time.perf_counter()
    if is_parquet(a.input):
        df = pd.read_parquet(a.input, columns=COLUMNS, engine="pyarrow")
    else:
        df = pd.read_csv(a.input, usecols=COLUMNS, engine=csv_engine,
                         dtype={k: "string" if csv_engine == "pyarrow" else "object" for k in KEYS})
    df = df[df[CAT] == "Usage"]
    ts = df[TIME]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = pd.to_datetime(ts, format="ISO8601", utc=True)
    hour = ts.dt.floor("h")
    agg = (
        df.assign(hour=hour)
        .groupby([*KEYS, "hour"], sort=True, observed=True, dropna=False)[QTY]
        .agg(["sum", "size"])
    )
    t1 = time.perf_counter()
    rows = int(agg["size"].sum())
    out = agg["sum"].rename(QTY).reset_index()
    h = out["hour"]
    if getattr(h.dt, "tz", None) is not None:
        h = h.dt.tz_convert("UTC")
    out["hour"] = h.dt.strftime(HOUR_FMT)
    out.to_csv(a.output, index=False)
    t2 = time.perf_counter()
    report("pandas", rows, len(out), t2 - t0, t2 - t1, version=pd.__version__,
           csv_engine=None if is_parquet(a.input) else csv_engine)


if __name__ == "__main__":
    main()
