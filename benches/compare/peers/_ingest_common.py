"""Shared bits of the ingest peers: arguments, the query's definition and the JSON line.

Every peer computes the same thing (the plain-polars floor of capplan's `benches/ingest.rs`):

    SELECT ServiceName, RegionId, SkuId,
           date_trunc('hour', ChargePeriodStart) AS hour,
           sum(ConsumedQuantity)                 AS ConsumedQuantity
    FROM <file> WHERE ChargeCategory = 'Usage'
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4

and writes it as CSV with the header `ServiceName,RegionId,SkuId,hour,ConsumedQuantity`,
`hour` formatted `%Y-%m-%dT%H:%M:%SZ` (UTC), sums of all-null groups as 0, so the outputs of
the peers can be diffed. A line of JSON goes to stdout:
    {"engine":..,"rows_in":..,"groups":..,"seconds":..,"seconds_write":..}
rows_in = input rows with ChargeCategory = 'Usage' (the rows aggregated); seconds = wall time
from the start of the read to the end of the write (interpreter start-up and imports excluded:
the driver's external /usr/bin/time figure includes them).
"""

import argparse
import json
import os
import sys

KEYS = ["ServiceName", "RegionId", "SkuId"]
TIME = "ChargePeriodStart"
QTY = "ConsumedQuantity"
CAT = "ChargeCategory"
COLUMNS = [CAT, *KEYS, TIME, QTY]
HOUR_FMT = "%Y-%m-%dT%H:%M:%SZ"


def parse_args(engine: str):
    ap = argparse.ArgumentParser(description=f"ingest peer ({engine}): hourly ConsumedQuantity "
                                 "by (ServiceName, RegionId, SkuId) of a FOCUS 1.2 export")
    ap.add_argument("input", help="FOCUS 1.2 file: .parquet, or .csv (ISO-8601 timestamps)")
    ap.add_argument("output", help="output CSV")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="worker threads where the engine has a setting (default: all cores)")
    return ap.parse_args()


def is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def report(engine: str, rows_in: int, groups: int, seconds: float, seconds_write: float, **extra):
    out = {"engine": engine, "rows_in": int(rows_in), "groups": int(groups),
           "seconds": round(seconds, 6), "seconds_write": round(seconds_write, 6), **extra}
    print(json.dumps(out))
    sys.stdout.flush()
