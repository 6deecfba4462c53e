#!/usr/bin/env bash
# Validates the shipped unit: `systemd-analyze verify` must be clean and the
# offline security exposure must stay at or below 2.5.
# Usage: check_unit.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1 bin=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "[  SKIPPED ] systemd-analyze not installed"; exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Point ExecStart at the freshly built daemon so verify can check it exists.
sed "s|/usr/sbin/tcptuned|$bin/tcptuned|" "$src/systemd/tcptune.service" >"$work/tcptune.service"

out=$(systemd-analyze verify --man=no "$work/tcptune.service" 2>&1 || true)
if [[ -n "$out" ]]; then
  echo "systemd-analyze verify is not clean:"; echo "$out"; exit 1
fi
echo "verify: clean"

line=$(systemd-analyze security --offline=yes "$work/tcptune.service" 2>&1 | grep 'Overall exposure level')
echo "$line"
score=$(sed -E 's/.*: ([0-9.]+).*/\1/' <<<"$line")
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "exposure $score > 2.5"; exit 1; }
