#!/usr/bin/env bash
# Every generated man page renders without a single warning, both through groff
# with all warnings enabled and through man(1) as an operator reads it.
#
#   check_man_render.sh MAN_DIR PAGE...
set -uo pipefail
dir=$1
shift
failures=0
for page in "$@"; do
    file=$dir/$page
    if [[ ! -s $file || ! -s $file.gz ]]; then
        echo "FAIL: $file (or $file.gz) was not generated"
        failures=$((failures + 1))
        continue
    fi
    # -t: scdoc emits tbl tables.
    warnings=$(groff -ww -z -t -man "$file" 2>&1)
    if [[ -n $warnings ]]; then
        echo "FAIL: groff warns about $page:"
        echo "$warnings"
        failures=$((failures + 1))
    fi
    # The installed, gzip'd page as man(1) shows it at a typical width.
    warnings=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$file.gz" 2>&1 >/dev/null)
    if [[ -n $warnings ]]; then
        echo "FAIL: man warns about $page.gz:"
        echo "$warnings"
        failures=$((failures + 1))
    fi
    name=${page%.*}
    section=${page##*.}
    header=$(MANWIDTH=80 man -l "$file.gz" 2>/dev/null | head -n 1)
    if [[ $header != "$name($section)"* ]]; then
        echo "FAIL: $page renders with header '$header', expected it to start with $name($section)"
        failures=$((failures + 1))
    fi
done
echo "$(($# * 3 - failures)) passed, $failures failed"
((failures == 0))
