#!/usr/bin/env python3
"""Ingest peer: DuckDB SQL. See _ingest_common.py for the query and the output."""

import time

import duckdb

from _ingest_common import HOUR_FMT, is_parquet, parse_args, report


def main():
    a = parse_args("duckdb")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if a.threads:
        con.execute(f"SET threads = {int(a.threads)}")
    src = a.input.replace("'", "''")
    if is_parquet(a.input):
        scan = f"read_parquet('{src}')"
    else:
        # Typed only where it matters; the sniffer handles the other columns.
        scan = (f"read_csv('{src}', header = true, "
                "types = {'ChargePeriodStart': 'TIMESTAMPTZ', 'ConsumedQuantity': 'DOUBLE'})")
    t0 = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE agg AS
        SELECT ServiceName, RegionId, SkuId,
               date_trunc('hour', ChargePeriodStart) AS hour,
               coalesce(sum(ConsumedQuantity), 0)    AS ConsumedQuantity,
               count(*)                              AS n
        FROM {scan}
        WHERE ChargeCategory = 'Usage'
        GROUP BY ALL
    """)
    t1 = time.perf_counter()
    out = a.output.replace("'", "''")
    con.execute(f"""
        COPY (SELECT ServiceName, RegionId, SkuId, strftime(hour, '{HOUR_FMT}') AS hour,
                     ConsumedQuantity
              FROM agg ORDER BY ServiceName, RegionId, SkuId, agg.hour)
        TO '{out}' (HEADER, DELIMITER ',')
    """)
    t2 = time.perf_counter()
    groups, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM agg").fetchone()
    report("duckdb", rows, groups, t2 - t0, t2 - t1, version=duckdb.__version__)


if __name__ == "__main__":
    main()
