#!/usr/bin/env bash
# benches/compare/run.sh — capplan against Python peers on the same inputs, alternately.
#
#   bash benches/compare/run.sh [setup|ingest|forecast|optimizer|report|all]...   (default: all)
#
# Environment (all optional):
#   CAPPLAN_BIN            capplan binary to use; unset = `cargo build --release` in the repo
#                          and use target/release/capplan (CARGO_TARGET_DIR honoured)
#   CAPPLAN_REPO           repo root (default: two levels above this script)
#   CAPPLAN_COMPARE_VENV   virtualenv (default: <this dir>/.venv)
#   CAPPLAN_COMPARE_WORK   generated inputs, outputs, results.tsv (default: <this dir>/work)
#   RUNS                   runs per engine and case, alternating (default 5)
#   NICE                   prefix for every measured command, e.g. "nice -n 19" (default none)
#   SMOKE=1                small sizes: ingest scale 1, 20 series, S=1 pool and 20 pools, RUNS=1
#   INGEST_SCALES          `capplan synth --scale` values (default "5 48": 1.145 M, ~10.16 M rows;
#                          rows ≈ 95 k + 210 k × scale at the default 24 months)
#   INGEST_FORMATS         "parquet csv" (default). CSV is ~1.1 KB/row: 10 M rows ≈ 11 GB disk.
#   INGEST_PEERS           "duckdb pandas polars" (default)
#   FORECAST_SERIES        series count (default 1000); FORECAST_POINTS (default 9480 = 8760+720)
#   FORECAST_SERIES_FILE   use this series file instead of asking the Rust side to export one
#   OPT_PATHS              paths of the single-pool case (default 200, as benches/optimizer.rs;
#                          HiGHS needs minutes and GBs there, see README)
#   OPT_POOLS              pools of the many-pool case (default 1000)
#   OUT                    the markdown written by `report` (default: <repo>/BENCHMARKS.md when
#                          run from benches/compare, else <work>/BENCHMARKS.md)
#   Rust hooks (README "Rust side"); each unset one defaults to a subcommand of the bench binary
#   benches/compare.rs, built by `setup` with `cargo bench --bench compare --no-run`:
#   CAPPLAN_COMPARE_BENCH  that binary, prebuilt (skips the cargo call); "none": no Rust hooks
#                          (peers only; the optimizer problem comes from optimizer_make_example.py)
#   FORECAST_ENGINE        engine of the default forecast hook: mstl_ets (default) or full
#   CAPPLAN_SERIES_EXPORT  command prefix; called as `$CAPPLAN_SERIES_EXPORT --series N --points P --out F.parquet`
#                          (default: `<bench> series`)
#   CAPPLAN_FORECAST_CMD   command prefix; called as `$CAPPLAN_FORECAST_CMD SERIES FORECASTS.csv` (prints a JSON line with "seconds")
#                          (default: `<bench> forecast --engine $FORECAST_ENGINE`)
#   CAPPLAN_OPT_EXPORT     command prefix; called as `$CAPPLAN_OPT_EXPORT --paths S --pools N --out PROBLEM.json`
#                          (default: `<bench> opt-export`)
#   CAPPLAN_OPT_CMD        command prefix; called as `$CAPPLAN_OPT_CMD PROBLEM.json LEVELS.json` (prints a JSON line with "seconds")
#                          (default: `<bench> opt-solve`)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${CAPPLAN_REPO:-$(cd "$HERE/../.." && pwd)}"
VENV="${CAPPLAN_COMPARE_VENV:-$HERE/.venv}"
WORK="${CAPPLAN_COMPARE_WORK:-$HERE/work}"
PY="$VENV/bin/python"
PEERS="$HERE/peers"
RESULTS="$WORK/results.tsv"
NICE="${NICE:-}"
SMOKE="${SMOKE:-0}"
if [[ "$SMOKE" == 1 ]]; then
  RUNS="${RUNS:-1}"; INGEST_SCALES="${INGEST_SCALES:-1}"; FORECAST_SERIES="${FORECAST_SERIES:-20}"
  OPT_PATHS="${OPT_PATHS:-1}"; OPT_POOLS="${OPT_POOLS:-20}"
fi
RUNS="${RUNS:-5}"
INGEST_SCALES="${INGEST_SCALES:-5 48}"
INGEST_FORMATS="${INGEST_FORMATS:-parquet csv}"
INGEST_PEERS="${INGEST_PEERS:-duckdb pandas polars}"
FORECAST_SERIES="${FORECAST_SERIES:-1000}"
FORECAST_POINTS="${FORECAST_POINTS:-9480}"
OPT_PATHS="${OPT_PATHS:-200}"
OPT_POOLS="${OPT_POOLS:-1000}"

log() { printf '[compare %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------ setup

ensure_time() {
  [[ -x /usr/bin/time ]] && return 0
  log "installing GNU time (/usr/bin/time)"
  if [[ $(id -u) == 0 ]]; then apt-get update -qq && apt-get install -y -qq time >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null; fi
  [[ -x /usr/bin/time ]] || die "/usr/bin/time still missing"
}

setup_venv() {
  if [[ ! -x "$PY" ]]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  # Reinstall only when requirements.txt changed since the last install.
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing requirements.txt"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -r "$HERE/requirements.txt"
    "$PY" -m pip check
    echo "$want" > "$stamp"
  fi
}

build_capplan() {
  if [[ -n "${CAPPLAN_BIN:-}" ]]; then
    [[ -x "$CAPPLAN_BIN" ]] || die "CAPPLAN_BIN=$CAPPLAN_BIN is not executable"
  else
    log "cargo build --release (in $REPO)"
    (cd "$REPO" && $NICE cargo build --release --locked --bin capplan)
    CAPPLAN_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/capplan"
    [[ -x "$CAPPLAN_BIN" ]] || die "no $CAPPLAN_BIN after the build"
  fi
  build_compare_bench
}

# The Rust hooks: subcommands of the bench binary benches/compare.rs (release profile), for
# every CAPPLAN_* hook variable that is unset. Cargo prints the binary's path in its JSON
# messages (`"executable"` of the bench target `compare`).
build_compare_bench() {
  if [[ -n "${CAPPLAN_SERIES_EXPORT:-}" && -n "${CAPPLAN_FORECAST_CMD:-}" \
        && -n "${CAPPLAN_OPT_EXPORT:-}" && -n "${CAPPLAN_OPT_CMD:-}" ]]; then
    return 0
  fi
  local bench="${CAPPLAN_COMPARE_BENCH:-}"
  if [[ "$bench" == none ]]; then
    log "CAPPLAN_COMPARE_BENCH=none: no Rust hooks besides the CAPPLAN_* variables set"
    return 0
  fi
  if [[ -z "$bench" ]]; then
    log "cargo bench --bench compare --no-run (in $REPO)"
    bench=$(cd "$REPO" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}" $NICE cargo bench \
              --locked --bench compare --no-run --message-format=json-render-diagnostics \
            | "$PY" -c 'import json, sys
exe = [m["executable"] for m in map(json.loads, sys.stdin)
       if m.get("reason") == "compiler-artifact" and m.get("executable")
       and m["target"]["name"] == "compare" and "bench" in m["target"]["kind"]]
print(exe[-1] if exe else "")') || die "building the compare bench failed"
  fi
  [[ -x "$bench" ]] || die "no compare bench binary (${bench:-cargo printed none})"
  CAPPLAN_SERIES_EXPORT="${CAPPLAN_SERIES_EXPORT:-$bench series}"
  CAPPLAN_FORECAST_CMD="${CAPPLAN_FORECAST_CMD:-$bench forecast --engine ${FORECAST_ENGINE:-mstl_ets}}"
  CAPPLAN_OPT_EXPORT="${CAPPLAN_OPT_EXPORT:-$bench opt-export}"
  CAPPLAN_OPT_CMD="${CAPPLAN_OPT_CMD:-$bench opt-solve}"
}

setup() {
  ensure_time
  setup_venv
  build_capplan
  mkdir -p "$WORK"
  [[ -f "$RESULTS" ]] || printf 'workload\tcase\tengine\trun\twall_s\tmaxrss_kb\ttree_pss_kb\tjson\n' > "$RESULTS"
}

# ------------------------------------------------------------------ measuring

# measure WORKLOAD CASE ENGINE RUN -- CMD...
# Runs CMD under /usr/bin/time -v (stdout -> $WORK/logs/<...>.out, stderr -> .err), appends a
# row to results.tsv with wall seconds, "Maximum resident set size" (KiB, the largest single
# process), the tree PSS from treerss.py when CMD was wrapped with it (else empty), and the
# last stdout line if it is JSON. Fails (and shows the log) when CMD fails.
measure() {
  local workload=$1 case=$2 engine=$3 run=$4; shift 5
  mkdir -p "$WORK/logs"
  local base="$WORK/logs/${workload}.${case}.${engine}.${run}"
  local tv="$base.time"
  if ! /usr/bin/time -v -o "$tv" $NICE "$@" >"$base.out" 2>"$base.err"; then
    log "FAILED: $workload/$case/$engine run $run: $*"; tail -20 "$base.err" >&2; return 1
  fi
  local wall rss pss json
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
           n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tv")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
  pss=$(grep -o '"tree_peak_pss_kb": [0-9]*' "$base.err" 2>/dev/null | tail -1 | grep -o '[0-9]*$' || true)
  json=$(tail -n 1 "$base.out" | tr -d '\t')
  [[ "$json" == \{* ]] || json='{}'
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$case" "$engine" "$run" "$wall" "$rss" "${pss:-}" "$json" >> "$RESULTS"
  log "$workload/$case/$engine run $run: ${wall}s, max RSS ${rss} KiB${pss:+, tree PSS $pss KiB}"
}

# forget earlier rows of a workload/case so a re-run replaces them
forget() {
  local workload=$1 case=$2
  [[ -f "$RESULTS" ]] || return 0
  awk -F'\t' -v w="$workload" -v c="$case" 'NR == 1 || !($1 == w && $2 == c)' "$RESULTS" > "$RESULTS.tmp"
  mv "$RESULTS.tmp" "$RESULTS"
}

free_kb() { df -Pk "$1" | awk 'NR == 2 {print $4}'; }

# ------------------------------------------------------------------ 1. ingest

ingest_inputs() {  # SCALE -> prints the parquet path; makes the CSV if asked for
  local scale=$1 pq="$WORK/ingest/focus_s$1.parquet" csv="$WORK/ingest/focus_s$1.csv"
  mkdir -p "$WORK/ingest"
  if [[ ! -f "$pq" ]]; then
    log "capplan synth --scale $scale"
    $NICE "$CAPPLAN_BIN" synth --scale "$scale" --out "$pq" >&2
  fi
  if [[ " $INGEST_FORMATS " == *" csv "* && ! -f "$csv" ]]; then
    local rows need
    rows=$("$PY" -c "import pyarrow.parquet as q, sys; print(q.ParquetFile(sys.argv[1]).metadata.num_rows)" "$pq")
    need=$(( rows * 13 / 10 ))   # ~1.1 KB per row + margin, in KiB
    if (( $(free_kb "$WORK") < need )); then
      log "skipping CSV at scale $scale: needs ~$((need / 1024)) MiB, $(( $(free_kb "$WORK") / 1024 )) MiB free"
    else
      log "writing $csv ($rows rows)"
      $NICE "$PY" "$PEERS/focus_to_csv.py" "$pq" "$csv" >&2
    fi
  fi
  echo "$pq"
}

ingest() {
  local scale fmt file case rows run engine
  for scale in $INGEST_SCALES; do
    local pq; pq=$(ingest_inputs "$scale")
    rows=$("$PY" -c "import pyarrow.parquet as q, sys; print(q.ParquetFile(sys.argv[1]).metadata.num_rows)" "$pq")
    for fmt in $INGEST_FORMATS; do
      file="${pq%.parquet}.$fmt"
      [[ -f "$file" ]] || { log "no $file, skipped"; continue; }
      case="${fmt}_${rows}rows"
      forget ingest "$case"
      local out="$WORK/ingest/out_$case"; mkdir -p "$out"
      for run in $(seq 1 "$RUNS"); do
        measure ingest "$case" capplan "$run" -- "$CAPPLAN_BIN" ingest "$file" \
          --by service,region,sku --granularity hour --out "$out/capplan.csv"
        for engine in $INGEST_PEERS; do
          measure ingest "$case" "$engine" "$run" -- "$PY" "$PEERS/ingest_$engine.py" "$file" "$out/$engine.csv"
        done
      done
      for engine in $INGEST_PEERS; do   # same numbers as capplan (capplan adds zero-filled hours)
        "$PY" "$PEERS/ingest_check.py" "$out/$engine.csv" "$out/capplan.csv" > "$out/check_$engine.json" \
          || log "WARNING: $engine and capplan disagree on $case: $(cat "$out/check_$engine.json")"
      done
    done
  done
}

# ------------------------------------------------------------------ 2. forecast

# The series export: writes F (Parquet: unique_id, ds, y; see peers/series_from_capplan.md)
# with the generator of benches/forecast.rs (benches/common/series.rs).
capplan_export_series() {  # N POINTS OUT
  [[ -n "${CAPPLAN_SERIES_EXPORT:-}" ]] || return 1
  $NICE $CAPPLAN_SERIES_EXPORT --series "$1" --points "$2" --out "$3"
}

forecast() {
  local series="${FORECAST_SERIES_FILE:-$WORK/forecast/series_${FORECAST_SERIES}x${FORECAST_POINTS}.parquet}"
  mkdir -p "$WORK/forecast"
  if [[ ! -f "$series" ]]; then
    capplan_export_series "$FORECAST_SERIES" "$FORECAST_POINTS" "$series" || {
      log "forecast skipped: no series file (set CAPPLAN_SERIES_EXPORT or FORECAST_SERIES_FILE)"
      return 0; }
  fi
  local case; case="$(basename "${series%.*}")"
  forget forecast "$case"
  local run out="$WORK/forecast/out_$case"; mkdir -p "$out"
  for run in $(seq 1 "$RUNS"); do
    if [[ -n "${CAPPLAN_FORECAST_CMD:-}" ]]; then
      # CAPPLAN_FORECAST_CMD SERIES FORECASTS.csv fits MstlEts on all but the last
      # 720 points of each series, predicts 720 steps at level 0.95, writes the forecasts
      # (unique_id, ds, yhat, lo95, hi95) and prints {"seconds": fit+predict wall time}
      # (FORECAST_ENGINE=full: capplan's whole engine; its interval is p05-p95, see README).
      measure forecast "$case" capplan "$run" -- $CAPPLAN_FORECAST_CMD "$series" "$out/capplan.csv"
      "$PY" "$PEERS/score_forecast.py" "$series" "$out/capplan.csv" > "$out/capplan.score.json"
    else
      [[ $run == 1 ]] && log "capplan forecast skipped: CAPPLAN_FORECAST_CMD unset"
    fi
    measure forecast "$case" statsforecast "$run" -- "$PY" "$PEERS/treerss.py" -- \
      "$PY" "$PEERS/forecast_statsforecast.py" "$series" --forecasts "$out/statsforecast.csv" \
      --per-series "$out/statsforecast.per_series.csv"
  done
}

# ------------------------------------------------------------------ 3. optimizer

# The problem export (peers/optimizer_problem.md) of benches/compare.rs. Without it
# (CAPPLAN_COMPARE_BENCH=none) the Python side uses peers/optimizer_make_example.py --kind bench
# (same path() formula as benches/optimizer.rs; its many-pool values differ, see README).
capplan_export_problem() {  # PATHS POOLS OUT
  if [[ -n "${CAPPLAN_OPT_EXPORT:-}" ]]; then
    $NICE $CAPPLAN_OPT_EXPORT --paths "$1" --pools "$2" --out "$3"
  else
    log "CAPPLAN_OPT_EXPORT unset: writing the problem with optimizer_make_example.py"
    if (( $2 == 1 )); then
      $NICE "$PY" "$PEERS/optimizer_make_example.py" "$3" --kind bench --paths "$1"
    else
      $NICE "$PY" "$PEERS/optimizer_make_example.py" "$3" --kind bench --pools "$2"
    fi
  fi
}

optimizer() {
  local spec case problem run
  mkdir -p "$WORK/optimizer"
  for spec in "1pool_${OPT_PATHS}paths:$OPT_PATHS:1" "${OPT_POOLS}pools_1path:1:$OPT_POOLS"; do
    IFS=: read -r case paths pools <<< "$spec"
    problem="$WORK/optimizer/$case.json"
    [[ -f "$problem" ]] || capplan_export_problem "$paths" "$pools" "$problem"
    forget optimizer "$case"
    for run in $(seq 1 "$RUNS"); do
      local levels=()
      if [[ -n "${CAPPLAN_OPT_CMD:-}" ]]; then
        # CAPPLAN_OPT_CMD PROBLEM LEVELS solves every pool of PROBLEM with
        # capplan::plan (Risk::Balanced, fractional levels), writes LEVELS
        # ({"pools":[{"id","three_year","one_year"}]}) and prints {"seconds": solve wall time}.
        measure optimizer "$case" capplan "$run" -- $CAPPLAN_OPT_CMD "$problem" "$WORK/optimizer/$case.levels.json"
        levels=(--levels "$WORK/optimizer/$case.levels.json")
      else
        [[ $run == 1 ]] && log "capplan optimizer skipped: CAPPLAN_OPT_CMD unset"
      fi
      measure optimizer "$case" highs "$run" -- "$PY" "$PEERS/optimizer_highs.py" "$problem" \
        "${levels[@]}" --out "$WORK/optimizer/$case.highs.json"
    done
  done
}

# ------------------------------------------------------------------ report

report() {
  local out="${OUT:-}"
  if [[ -z "$out" ]]; then
    if [[ "$HERE" == */benches/compare ]]; then out="$REPO/BENCHMARKS.md"; else out="$WORK/BENCHMARKS.md"; fi
  fi
  "$PY" "$HERE/report.py" "$RESULTS" "$out" \
    --capplan-version "$("$CAPPLAN_BIN" --version 2>/dev/null || echo unknown)" \
    --requirements "$HERE/requirements.txt"
  log "wrote $out"
}

# ------------------------------------------------------------------ main

steps=("$@"); [[ ${#steps[@]} -gt 0 ]] || steps=(all)
setup
for s in "${steps[@]}"; do
  case "$s" in
    setup) ;;
    ingest|forecast|optimizer|report) "$s" ;;
    all) ingest; forecast; optimizer; report ;;
    *) die "unknown step $s (setup|ingest|forecast|optimizer|report|all)" ;;
  esac
done
