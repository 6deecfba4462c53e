#!/usr/bin/env bash
# Both binaries report the version set once, in project(VERSION) of the
# top-level CMakeLists.txt (passed in by ctest as the expected value), and the
# latest entry of the Debian changelog is that version (bump both together).
#
#   check_version.sh BIN_DIR VERSION DEBIAN_CHANGELOG
set -uo pipefail
bin=$1
version=$2
changelog=$3
failures=0
checks=2
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
checks=$((checks + 1))
logged=$(sed -n '1s/^tcptune (\([^)]*\)) .*/\1/p' "$changelog")
if [[ $logged != "$version" ]]; then
    echo "FAIL: the latest entry of $changelog is '$logged', project(VERSION) is $version"
    failures=$((failures + 1))
fi
echo "$((checks - failures)) passed, $failures failed"
((failures == 0))
