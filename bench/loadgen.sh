# Sourced by the benchmarks (run.sh, engine.sh) inside their network namespace.
# shellcheck shell=bash

# Starts "$BIN/tcptune-loadgen ARGS... --hold" in the background, waits until its
# population is built (its ready file appears) and stops it when the script exits.
# Exits 1 when loadgen dies before it is ready.
start_loadgen() {
  ready=$(mktemp -u)
  "$BIN/tcptune-loadgen" "$@" --hold --ready-file "$ready" &
  loadgen=$!
  trap 'kill $loadgen 2>/dev/null || true; wait $loadgen 2>/dev/null || true; rm -f "$ready"' EXIT
  while [[ ! -e $ready ]]; do
    kill -0 $loadgen 2>/dev/null || { echo "loadgen failed" >&2; exit 1; }
    sleep 0.2
  done
}
