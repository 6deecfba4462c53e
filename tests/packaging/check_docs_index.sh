#!/usr/bin/env bash
# docs/README.md is a complete and correct index: every page and directory in
# docs/ is linked from it, and every relative link in it (and in
# docs/architecture.md) points at a file that exists.
#
#   check_docs_index.sh SOURCE_DIR
set -uo pipefail
docs=$1/docs
# shellcheck source=../lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

for entry in "$docs"/*; do
    name=$(basename "$entry")
    [[ $name == README.md ]] && continue
    [[ -d $entry ]] && name=$name/
    check
    grep -qF "]($name)" "$docs/README.md" || fail "docs/README.md does not link $name"
done

for page in README.md architecture.md; do
    while IFS= read -r target; do
        check
        [[ -e $docs/${target%%#*} ]] || fail "docs/$page links $target, which does not exist"
    done < <(grep -oE '\]\([^)#:]+(#[^)]*)?\)' "$docs/$page" | sed 's/^](\(.*\))$/\1/')
done

# Files architecture.md names as real code must exist.
while IFS= read -r path; do
    check
    [[ -e $1/$path ]] || fail "docs/architecture.md names $path, which does not exist"
done < <(grep -oE '`(core|dbus|daemon|cli|tests|systemd)/[A-Za-z0-9_./-]+`' "$docs/architecture.md" |
    tr -d '`' | sort -u)

# Every source file or header it names by file name exists somewhere in the tree.
while IFS= read -r file; do
    check
    found=$(find "$1/core" "$1/dbus" "$1/daemon" "$1/cli" "$1/tests" "$1/bench" -name "$file" -print -quit)
    [[ -n $found ]] || fail "docs/architecture.md names $file, which is nowhere in the tree"
done < <(grep -oP '[A-Za-z0-9_.]+\.(hpp|cpp)(?![A-Za-z0-9_.])' "$docs/architecture.md" | sort -u)

finish
