#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: packages, a warnings-as-errors
# build, formatting and clang-tidy checks, every ctest (unit + integration, which run as root in
# private network namespaces), then the unit tests again under ASan+UBSan and a
# short bounded fuzz run of the profile loader.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPTUNE_WERROR=ON -DTCPTUNE_BPF=ON
cmake --build build -j"$jobs"
cmake --build build --target format-check
cmake --build build --target tidy  # clang-tidy 14 over core/ (.clang-tidy); ~2 min on 2 cores
(cd build && ctest --output-on-failure -j1)

echo "== unit tests under ASan+UBSan =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTCPTUNE_WERROR=ON \
  -DTCPTUNE_SANITIZE=ON -DTCPTUNE_BUILD_BENCH=OFF
cmake --build build-asan -j"$jobs" --target unit_tests tcptune  # the CLI tests run the binary
(cd build-asan && ctest --output-on-failure -L unit)

if [[ -x scripts/fuzz.sh ]]; then
  echo "== bounded fuzz run =="
  bash scripts/fuzz.sh
fi
