#!/usr/bin/env bash
# Sources the bash completion of tcptune and drives it the way bash does
# (COMP_WORDS / COMP_CWORD, then read COMPREPLY), against the built CLI:
# verbs, per-verb options (checked against each verb's --help, so the two
# cannot drift), option values, profile names, states and sysctl keys.
#
#   check_completion.sh COMPLETION_FILE BIN_DIR SOURCE_DIR
set -uo pipefail

completion=$1
bin=$2
src=$3
tcptune=$bin/tcptune
failures=0
checks=0

# shellcheck source=/dev/null
source "$completion" || {
    echo "FAIL: cannot source $completion"
    exit 1
}
# compopt only works inside a real completion; outside one it prints an error.
compopt() { :; }

# complete WORD... : completes the last word of "tcptune WORD..." and prints
# COMPREPLY sorted, one per line.
complete_words() {
    COMP_WORDS=("$tcptune" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _tcptune
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u
}

# expect "description" "expected words (space-separated)" WORD...
expect() {
    local what=$1 expected=$2
    shift 2
    local got want
    got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
    want=$(tr ' ' '\n' <<<"$expected" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')
    checks=$((checks + 1))
    if [[ $got != "$want" ]]; then
        echo "FAIL: $what: 'tcptune $*<TAB>'"
        echo "  expected: $want"
        echo "  got:      $got"
        failures=$((failures + 1))
    fi
}

# expect_contains "description" "words that must all be offered" WORD...
expect_contains() {
    local what=$1 expected=$2
    shift 2
    local got w
    got=$(complete_words "$@")
    checks=$((checks + 1))
    for w in $expected; do
        if ! grep -qxF -- "$w" <<<"$got"; then
            echo "FAIL: $what: 'tcptune $*<TAB>' does not offer '$w' (got: $(tr '\n' ' ' <<<"$got"))"
            failures=$((failures + 1))
            return
        fi
    done
}

# The verbs and options the CLI really has, from its --help.
help_verbs() {
    "$1" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'
}
help_options() {  # long and short options of one verb, without -h/--help
    "$tcptune" "$@" --help | sed -n '/^Options:/,$p' |
        grep -oE '^  +(-[a-zA-Z],)?--[a-z][a-z-]*' | tr ',' '\n' | sed 's/^ *//' |
        grep -vxE -- '-h|--help'
}

# --- Verbs.
cli_verbs=$(help_verbs "$tcptune" | sort | tr '\n' ' ')
expect "every verb of tcptune --help" "$cli_verbs" ""
expect "verbs by prefix" "reload resume rollback" "r"
expect "global options" "--help --version" "--"
expect "profile sub-verbs" "show check --help" "profile" ""

# --- Options of every verb match its --help.
for verb in $(help_verbs "$tcptune"); do
    if [[ $verb == profile ]]; then
        for sub in show check; do
            expect "options of profile $sub match --help" \
                "--help $(help_options profile "$sub" | tr '\n' ' ')" profile "$sub" "-"
        done
        continue
    fi
    expect "options of $verb match --help" "--help $(help_options "$verb" | tr '\n' ' ')" \
        "$verb" "-"
done

# --- Option values.
expect "--by values" "port peer prefix process destination" top --by ""
expect "--by value by prefix" "prefix process" top time_wait --by "pr"
expect "--by=VALUE form" "port" top --by "=" "po"
expect "--bus values" "system session" status --bus ""
expect "numeric options offer nothing" "" top -n ""

# --- Profile names, from the profiles the CLI finds (the source tree's when
# run from a build tree) and from --profile-dir.
shipped=$(cd "$src/profiles" && ls -- *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')
expect_contains "apply offers every shipped profile" "$shipped" apply ""
expect "apply completes a profile prefix" "web-frontend" apply "web"
expect "profile show offers profiles" "syn-flood-guard" profile show "syn"
expect "apply takes one profile only" "" apply default ""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'name: zz-custom\ndescription: a profile only in a --profile-dir\n' >"$tmp/zz-custom.yaml"
expect "profile show honours --profile-dir" "zz-custom" profile show --profile-dir "$tmp" "zz"
mkdir "$tmp/site"
expect "profile directories are directories" "$tmp/site" profiles --profile-dir "$tmp/"
: >"$tmp/a.yaml"
expect "profile check completes files and directories" "$tmp/a.yaml $tmp/site $tmp/zz-custom.yaml" profile check "$tmp/"

# --- States and sysctl keys, from the registry via `tcptune explain`.
expect "top states" "time_wait" top "time"
expect_contains "top offers focus and every state" \
    "focus established syn_sent syn_recv fin_wait1 fin_wait2 time_wait close close_wait last_ack listen closing" \
    top ""
expect "top offers no sysctl keys" "" top "net."
expect "top offers destinations" "destinations" top "dest"
expect "top offers no other explain topic" "" top "so_"
registry_keys=$("$tcptune" explain | sed -n 's/^  \(net\.[^ ]*\)$/\1/p' | tr '\n' ' ')
[[ -n $registry_keys ]] || {
    echo "FAIL: tcptune explain lists no sysctl keys"
    failures=$((failures + 1))
}
expect "resume offers every registry key" "$registry_keys" resume ""
expect "resume completes a key prefix" "net.ipv4.tcp_fin_timeout" resume "net.ipv4.tcp_fin"
expect "explain completes topics" "net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes net.ipv4.tcp_keepalive_time" \
    explain "net.ipv4.tcp_keep"
expect_contains "explain offers the index topics" "states sysctls" explain ""
expect "options after a positional still complete" "--bus --dry-run --help --json" apply web-frontend "-"

echo "$((checks - failures)) passed, $failures failed"
((failures == 0))
