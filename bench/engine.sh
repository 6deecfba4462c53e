#!/usr/bin/env bash
# The bpf census engine's benchmark (docs/performance.md, "The bpf census engine"):
# every mode of tcptune-bench-engine in its own throwaway network namespace. Never
# touches the host namespace.
#
# Usage: sudo bash bench/engine.sh [BUILD_DIR] [MODE...]   (default build/, all modes)
# Modes: poll exact overhead drift rss. Sizes as bench/run.sh: ESTABLISHED=200000
# CLOSE_WAIT=50000 SYN_RECV=2000 TIME_WAIT=150000 (~652k sockets); ROUNDS=20 POLLS=200;
# OVERHEAD_ROUNDS=5 OVERHEAD_SECONDS=10; DRIFT_SECONDS=600; RSS_SECONDS=5.
set -euo pipefail
cd "$(dirname "$0")/.."

# Inside the namespace: optionally build a population with loadgen, then measure.
if [[ ${TCPTUNE_BENCH_INSIDE:-} == 1 ]]; then
  ip link set lo up
  BIN=$(cd "${1:-build}/bin" && pwd); shift
  label=$1; shift
  if [[ $1 == --populate ]]; then
    shift
    args=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    # shellcheck source=bench/loadgen.sh
    source bench/loadgen.sh
    start_loadgen "${args[@]}" >&2
  fi
  rc=0
  "$BIN/tcptune-bench-engine" --bin-dir "$BIN" --json-out "$OUT/engine-$label.json" "$@" || rc=$?
  exit $rc
fi

BUILD_DIR=${1:-build}
shift || true
MODES=${*:-poll exact overhead drift rss}
BIN=$(cd "$BUILD_DIR/bin" && pwd)
OUT=${OUT:-$BUILD_DIR/bench-results}
mkdir -p "$OUT"
POPULATION=(--time-wait "${TIME_WAIT:-150000}" --close-wait "${CLOSE_WAIT:-50000}"
  --established "${ESTABLISHED:-200000}" --syn-recv "${SYN_RECV:-2000}")
SMALL=(--time-wait 600 --close-wait 100 --established 100 --syn-recv 20)

# node_exporter's tcpstat collector is timed too when it is installed (Debian:
# prometheus-node-exporter); NODE_EXPORTER=/path overrides, NODE_EXPORTER= skips it.
NODE_EXPORTER=${NODE_EXPORTER-$(command -v prometheus-node-exporter || command -v node_exporter || true)}
NODE_EXPORTER_ARGS=()
[[ -n $NODE_EXPORTER ]] && NODE_EXPORTER_ARGS=(--node-exporter "$NODE_EXPORTER")

[[ $(id -u) -eq 0 ]] || { echo "bench/engine.sh: needs root (unshare -n, BPF)" >&2; exit 1; }
for b in tcptune-loadgen tcptune-bench-engine tcptuned; do
  [[ -x $BIN/$b ]] || { echo "bench/engine.sh: $BIN/$b missing; build first" >&2; exit 1; }
done
export TCPTUNE_BENCH_INSIDE=1 BIN OUT
# A mode that measures a difference (exact, engine vs dump) exits non-zero; say so
# and go on with the others.
inside() { unshare -n bash "$0" "$BUILD_DIR" "$@" || echo "(exit status $?: see above)"; }
for mode in $MODES; do
  echo "### $mode"
  case $mode in
    poll) inside poll --populate "${POPULATION[@]}" -- --mode poll \
            --rounds "${ROUNDS:-20}" --polls "${POLLS:-200}" "${NODE_EXPORTER_ARGS[@]}" ;;
    exact) inside exact --mode exact -- "${POPULATION[@]}" ;;
    overhead) inside overhead --mode overhead --rounds "${OVERHEAD_ROUNDS:-5}" \
                --seconds "${OVERHEAD_SECONDS:-10}" ;;
    drift) inside drift --mode drift --seconds "${DRIFT_SECONDS:-600}" ;;
    rss) inside rss-small --populate "${SMALL[@]}" -- --mode rss --seconds "${RSS_SECONDS:-5}"
         inside rss-large --populate "${POPULATION[@]}" -- --mode rss \
           --seconds "${RSS_SECONDS:-5}" ;;
    *) echo "bench/engine.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  echo
done
echo "results: $OUT/engine-*.json"
