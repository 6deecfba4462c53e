# shellcheck shell=bash
# Sourced by the shell tests (tests/packaging/, tests/scripts/): how they skip, count
# failures and checks, and end, in one place so ctest output reads the same for all.
failures=0
checks=0

# Not applicable here (no root, a tool missing): gtest's SKIPPED line, exit 0.
skip() {
    echo "[  SKIPPED ] $*"
    exit 0
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

check() { checks=$((checks + 1)); }

# The last line, "N passed, M failed", and the status: non-zero after any failure.
finish() {
    echo "$((checks - failures)) passed, $failures failed"
    ((failures == 0))
}
