#!/usr/bin/env python3
"""Runs a command and samples the summed RSS of it and all its descendants (/proc, every
--interval s). /usr/bin/time's "Maximum resident set size" is the peak of the largest single
process, which under-reports multi-process peers (statsforecast with n_jobs > 1 uses a
process pool). Prints one JSON line to stderr at the end:
{"tree_peak_rss_kb":..,"tree_peak_pss_kb":..,"samples":..,"elapsed":..}
(summed RSS counts shared pages once per process; PSS splits them, closer to the real total); exits with the command's status.

    treerss.py [--interval 0.05] -- CMD ARGS...
"""

import json
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_mem(root):
    """(summed RSS, summed PSS) of root and its descendants, in KiB."""
    kids, rss, pss, stack = children_map(), 0, 0, [root]
    while stack:
        p = stack.pop()
        rss += rss_kb(p)
        pss += pss_kb(p)
        stack.extend(kids.get(p, []))
    return rss, pss


def main():
    args = sys.argv[1:]
    interval = 0.05
    if args[:1] == ["--interval"]:
        interval, args = float(args[1]), args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args)
    peak = peak_pss = samples = 0
    while proc.poll() is None:
        rss, pss = tree_mem(proc.pid)
        peak, peak_pss = max(peak, rss), max(peak_pss, pss)
        samples += 1
        time.sleep(interval)
    print(json.dumps({"tree_peak_rss_kb": peak, "tree_peak_pss_kb": peak_pss, "samples": samples,
                      "elapsed": round(time.perf_counter() - t0, 3)}), file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
