#!/usr/bin/env bash
# A short, bounded libFuzzer run of the code that parses what others control:
# the profile loader (operator-supplied YAML), the journal parser (whoever can
# write the state directory) and the D-Bus adaptor's argument handling (any
# local user). Builds with clang in its own directory, seeds each corpus, and
# fails on any crash, sanitizer report, leak or broken invariant.
#
#   scripts/fuzz.sh                 # 30 s for the profile loader, 20 s for each other
#   FUZZ_SECONDS=300 scripts/fuzz.sh   # that long for every target
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_BUILD_JOBS:-2}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTCPTUNE_FUZZ=ON -DTCPTUNE_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" >/dev/null
cmake --build "$build" -j"$jobs" --target profile_loader_fuzz journal_fuzz dbus_arguments_fuzz

artifacts="$build/fuzz-artifacts/"
mkdir -p "$artifacts"

# Seeds are copied so the fuzzer's discoveries never land in the source tree.
seed_dir() {
  local corpus="$build/fuzz-corpus-$1"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  echo "$corpus"
}

run() {
  local target=$1 corpus=$2 seconds=$3 max_len=$4
  echo "fuzzing $target for ${seconds}s (corpus: $corpus)"
  "$build/bin/$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts$target-" "$corpus"
}

profiles=$(seed_dir profile_loader)
n=0
while IFS= read -r -d '' f; do
  cp "$f" "$profiles/seed-$n.yaml"  # files in different dirs may share a name
  n=$((n + 1))
done < <(find profiles tests/data/profiles -name '*.yaml' -print0)
run profile_loader_fuzz "$profiles" "${FUZZ_SECONDS:-30}" 8192

journals=$(seed_dir journal)
cat >"$journals/valid.json" <<'JSON'
{"format_version": 1, "entries": {
 "net.ipv4.tcp_fin_timeout": {"original": "60", "last_written": "30",
  "written_at": "2024-05-01T12:00:00Z", "profile": "web", "rule": "r", "reason": "x",
  "overridden": false},
 "net.ipv4.ip_local_port_range": {"original": "32768 60999", "last_written": "1024 65535",
  "written_at": "2024-05-01T12:00:00Z", "profile": "web", "rule": "", "reason": "baseline",
  "overridden": true, "overridden_at": "2024-05-01T12:30:00Z", "overridden_value": "2000 3000"}}}
JSON
printf '%s' '{"format_version": 1, "entries": {"net.ipv4.ip_default_ttl": {"original": "1", "last_written": "64", "written_at": "2024-05-01T12:00:00Z", "profile": "", "rule": "", "reason": "", "overridden": false}}}' >"$journals/outside.json"
# Inputs that once broke an invariant stay in the corpus.
cp tests/data/fuzz/journal/* "$journals/"
run journal_fuzz "$journals" "${FUZZ_SECONDS:-20}" 4096

arguments=$(seed_dir dbus_arguments)
printf '\x0a\x00\x00\x00time_wait\0port\0default' >"$arguments/top"
printf '\xff\xff\xff\xffclose_wait\0process\0../etc/shadow' >"$arguments/process"
printf '\x00\x00\x00\x00syn-recv\0prefix\0web.yaml' >"$arguments/prefix"
run dbus_arguments_fuzz "$arguments" "${FUZZ_SECONDS:-20}" 1024
