#!/usr/bin/env python3
"""Writes a FOCUS Parquet file as CSV the way capplan's benches/ingest.rs does (polars CSV
writer, header, datetimes as %Y-%m-%dT%H:%M:%SZ), streaming so memory stays flat.

    focus_to_csv.py IN.parquet OUT.csv
"""

import json
import sys
import time

import polars as pl


def main():
    src, dst = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    pl.scan_parquet(src).sink_csv(dst, include_header=True, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({"rows": pl.scan_parquet(src).select(pl.len()).collect().item(),
                      "seconds": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
