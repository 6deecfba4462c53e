#!/usr/bin/env bash
# Census benchmark: builds a socket population in a throwaway network namespace with
# tcptune-loadgen, then runs tcptune-bench-census on it. Done twice: a small
# population (~1k sockets) and the large one (~500k), so the peak RSS of
# `tcptune census` can be compared between them. Never touches the host namespace.
#
# Usage: sudo bash bench/run.sh [BUILD_DIR]      (default build/; needs root for unshare)
# Sizes: ESTABLISHED=200000 (pairs: 400k sockets) CLOSE_WAIT=50000 (each with its
# FIN_WAIT2: 100k) SYN_RECV=2000 TIME_WAIT=150000, ~652k sockets in all; ROUNDS=7
# SLOW_ROUNDS=3, MIN_POPULATION=500000.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
BIN=$(cd "$BUILD_DIR/bin" && pwd)
OUT=${OUT:-$BUILD_DIR/bench-results}
mkdir -p "$OUT"

# Inside the namespace: populate, wait until ready, measure, tear down.
if [[ ${TCPTUNE_BENCH_INSIDE:-} == 1 ]]; then
  shift; label=$1; shift  # $1 was BUILD_DIR
  ip link set lo up
  # shellcheck source=bench/loadgen.sh
  source bench/loadgen.sh
  start_loadgen "$@"
  "$BIN/tcptune-bench-census" --bin-dir "$BIN" --label "$label" \
    --rounds "${ROUNDS:-7}" --slow-rounds "${SLOW_ROUNDS:-3}" \
    --min-population "${MIN_POPULATION:-0}" --json-out "$OUT/$label.json"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "bench/run.sh: needs root (unshare -n)" >&2; exit 1; }
for b in tcptune tcptune-loadgen tcptune-bench-census tcptune-raw-floor; do
  [[ -x $BIN/$b ]] || { echo "bench/run.sh: $BIN/$b missing; build first" >&2; exit 1; }
done
export TCPTUNE_BENCH_INSIDE=1 BIN OUT
echo "### small population (~1k sockets)"
MIN_POPULATION=0 unshare -n bash "$0" "$BUILD_DIR" small \
  --time-wait 600 --close-wait 100 --established 100 --syn-recv 20
echo
echo "### large population (>= 500k sockets)"
# TIME_WAITs expire 60 s after they are made (and making them is the slowest part),
# so the states that do not expire alone exceed 500k; the benchmark still stops its
# rounds if the population ever drops below MIN_POPULATION.
MIN_POPULATION=${MIN_POPULATION:-500000} unshare -n bash "$0" "$BUILD_DIR" large \
  --time-wait "${TIME_WAIT:-150000}" --close-wait "${CLOSE_WAIT:-50000}" \
  --established "${ESTABLISHED:-200000}" --syn-recv "${SYN_RECV:-2000}"
echo
small_rss=$(grep -o '"census_peak_rss_kib": [0-9]*' "$OUT/small.json" | grep -o '[0-9]*$')
large_rss=$(grep -o '"census_peak_rss_kib": [0-9]*' "$OUT/large.json" | grep -o '[0-9]*$')
echo "peak RSS of tcptune census: ${small_rss} KiB at ~1k sockets, ${large_rss} KiB at ~500k" \
  "(difference $((large_rss - small_rss)) KiB)"
echo "results: $OUT/small.json $OUT/large.json"
