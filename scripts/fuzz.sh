#!/usr/bin/env bash
# A short, bounded libFuzzer run of the profile loader (the code that parses
# operator-supplied YAML). Builds with clang in its own directory, seeds the
# corpus with every shipped, valid and invalid profile, and fails on any crash,
# sanitizer report, leak or round-trip mismatch.
#
#   scripts/fuzz.sh                 # 30 s
#   FUZZ_SECONDS=300 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_BUILD_JOBS:-2}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTCPTUNE_FUZZ=ON -DTCPTUNE_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" >/dev/null
cmake --build "$build" -j"$jobs" --target profile_loader_fuzz

# Seeds are copied so the fuzzer's discoveries never land in the source tree.
corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
# Files in different dirs may share a name; give each seed a unique one.
n=0
while IFS= read -r -d '' f; do
  cp "$f" "$corpus/seed-$n.yaml"
  n=$((n + 1))
done < <(find profiles tests/data/profiles -name '*.yaml' -print0)

artifacts="$build/fuzz-artifacts/"
mkdir -p "$artifacts"
echo "fuzzing the profile loader for ${seconds}s (corpus: $corpus)"
"$build/bin/profile_loader_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus"
