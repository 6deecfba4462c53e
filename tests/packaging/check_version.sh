#!/usr/bin/env bash
# Both binaries report the version set once, in project(VERSION) of the
# top-level CMakeLists.txt (passed in by ctest as the expected value).
#
#   check_version.sh BIN_DIR VERSION
set -uo pipefail
bin=$1
version=$2
failures=0
for program in tcptune tcptuned; do
    if [[ ! -x $bin/$program ]]; then
        echo "FAIL: $bin/$program was not built"
        failures=$((failures + 1))
        continue
    fi
    got=$("$bin/$program" --version)
    rc=$?
    if [[ $rc -ne 0 || $got != "$program $version" ]]; then
        echo "FAIL: '$program --version' printed '$got' (exit $rc), expected '$program $version'"
        failures=$((failures + 1))
    fi
done
echo "$((2 - failures)) passed, $failures failed"
((failures == 0))
