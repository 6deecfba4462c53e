#!/usr/bin/env bash
# The man pages say what the code does: every verb and option of `tcptune`,
# every option of `tcptuned`, every exit code of cli/command.hpp, every key of
# the shipped config file, every D-Bus member of the interface XML, every
# registry sysctl with its bounds (from `tcptune explain sysctls`) and every
# shipped profile are documented; the example profile of tcptune-profile(5)
# passes `tcptune profile check`; the pages carry the CMake project version.
#
#   check_man_matches_code.sh BIN_DIR MAN_DIR SOURCE_DIR VERSION
set -uo pipefail

bin=$1
man_dir=$2
src=$3
version=$4
cli_page=$src/docs/man/tcptune.1.scd
daemon_page=$src/docs/man/tcptuned.8.scd
profile_page=$src/docs/man/tcptune-profile.5.scd
# shellcheck source=../lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

# Text of one "## NAME" subsection (up to the next heading) of an scdoc file.
subsection() {
    awk -v want="## $2" '
        /^#/ { inside = ($0 == want); next }
        inside { print }' "$1"
}
# Text of one "# NAME" section.
section() {
    awk -v want="# $2" '
        /^# / { inside = ($0 == want); next }
        inside { print }' "$1"
}
help_verbs() {
    "$1" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'
}
help_options() {  # every option a command's --help lists, except -h/--help
    "$@" --help | sed -n '/^Options:/,$p' | grep -oE '^  +(-[a-zA-Z],)?--[a-z][a-z-]*' |
        tr ',' '\n' | sed 's/^ *//' | grep -vxE -- '-h|--help'
}

# --- tcptune(1): verbs and their options.
tcptune=$bin/tcptune
verbs=$(help_verbs "$tcptune")
[[ -n $verbs ]] || fail "tcptune --help lists no verbs"
for verb in $verbs; do
    if [[ $verb == profile ]]; then
        commands=("profile show" "profile check")
    else
        commands=("$verb")
    fi
    for command in "${commands[@]}"; do
        check
        text=$(subsection "$cli_page" "$command")
        if [[ -z $text ]]; then
            fail "tcptune(1) has no '## $command' section for the verb"
            continue
        fi
        # shellcheck disable=SC2086
        for option in $(help_options "$tcptune" $command); do
            check
            grep -qF -- "*$option*" <<<"$text" ||
                fail "tcptune(1) '## $command' does not document $option"
        done
    done
done
for option in --help --version; do
    check
    grep -qF -- "*$option*" <<<"$(section "$cli_page" "GLOBAL OPTIONS")" ||
        fail "tcptune(1) GLOBAL OPTIONS misses $option"
done

# --- tcptune(1): exit codes, from the enum the CLI returns.
exit_table=$(section "$cli_page" "EXIT STATUS")
codes=$(grep -oE 'kExit[A-Za-z]+ = [0-9]+' "$src/cli/command.hpp" | awk '{ print $3 }')
[[ -n $codes ]] || fail "no exit codes found in cli/command.hpp"
for code in $codes; do
    check
    grep -qxE "\|  $code" <<<"$exit_table" || fail "tcptune(1) EXIT STATUS misses exit code $code"
done
for variable in DBUS_SYSTEM_BUS_ADDRESS NO_COLOR; do
    check
    grep -qF "*$variable*" <<<"$(section "$cli_page" "ENVIRONMENT")" ||
        fail "tcptune(1) ENVIRONMENT misses $variable"
done

# --- tcptuned(8): options, config keys, D-Bus names.
tcptuned=$bin/tcptuned
if [[ -x $tcptuned ]]; then
    options=$(help_options "$tcptuned")
    [[ -n $options ]] || fail "tcptuned --help lists no options"
    for option in $options --help --version; do
        check
        grep -qF -- "*$option*" <<<"$(section "$daemon_page" "OPTIONS")" ||
            fail "tcptuned(8) OPTIONS misses $option"
    done
else
    fail "$tcptuned was not built"
fi
config_section=$(section "$daemon_page" "CONFIGURATION FILE")
for key in $(sed -n 's/^#\([a-z_]*\):.*/\1/p' "$src/systemd/tcptune.yaml"); do
    check
    grep -qF "*$key*" <<<"$config_section" ||
        fail "tcptuned(8) CONFIGURATION FILE misses key '$key' of systemd/tcptune.yaml"
done
dbus_section=$(section "$daemon_page" "D-BUS")
for member in $(grep -oE '<(method|signal|property) name="[A-Za-z]+"' \
    "$src/dbus/net.tcptune.Manager1.xml" | sed 's/.*name="\(.*\)"/\1/'); do
    check
    grep -qF "*$member*" <<<"$dbus_section" || fail "tcptuned(8) D-BUS misses $member"
done
for name in net.tcptune /net/tcptune/Manager1 net.tcptune.Manager1 SIGHUP SIGTERM; do
    check
    grep -qF "*$name*" "$daemon_page" || fail "tcptuned(8) does not mention $name"
done

# --- tcptune-profile(5): the registry table matches `tcptune explain sysctls`.
registry=$(section "$profile_page" "THE SYSCTL REGISTRY")
while IFS= read -r line; do
    key=${line%%:*}
    valid=${line#*: }
    valid=${valid%, kernel default*}
    check
    case $valid in
    "an integer in "*) expect=${valid#an integer in } ;;
    "one of "*) expect=${valid#one of } ;;
    "refused, "*)
        grep -qF "*$key* is refused" <<<"$registry" ||
            fail "tcptune-profile(5) does not say $key is refused"
        continue
        ;;
    *) expect="" ;;
    esac
    row=$(grep -A1 -xF "*$key*" <<<"$registry" | tail -n 1)
    if ! grep -qxF "*$key*" <<<"$registry"; then
        fail "tcptune-profile(5) registry list misses $key"
    elif [[ -n $expect && $row != $'\t'"$expect" ]]; then
        fail "tcptune-profile(5) gives '$row' for $key, the registry says '$expect'"
    fi
done < <("$tcptune" explain sysctls | grep -E '^net\.[a-z0-9_.]+: ')
rows=$(grep -c '^\*net\.[a-z0-9_.]*\*$' <<<"$registry")
keys=$("$tcptune" explain sysctls | grep -cE '^net\.[a-z0-9_.]+: (an integer|one of|two integers|comma separated)')
check
[[ $rows == "$keys" ]] || fail "tcptune-profile(5) lists $rows settable sysctls, the registry $keys"

# Every shipped profile is named.
for file in "$src"/profiles/*.yaml; do
    name=$(basename "$file" .yaml)
    check
    grep -qF "*$name*" <<<"$(section "$profile_page" "SHIPPED PROFILES")" ||
        fail "tcptune-profile(5) SHIPPED PROFILES misses $name"
done

# The example is a valid profile.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
section "$profile_page" "EXAMPLE" | awk '/^```/ { n++; next } n == 1 { print }' >"$tmp/example.yaml"
name=$(sed -n 's/^name: //p' "$tmp/example.yaml")
check
if [[ -z $name ]]; then
    fail "tcptune-profile(5) EXAMPLE has no profile"
else
    mv "$tmp/example.yaml" "$tmp/$name.yaml"
    out=$("$tcptune" profile check --profile-dir "$src/profiles" "$tmp/$name.yaml" 2>&1) ||
        fail "tcptune-profile(5) EXAMPLE is not a valid profile: $out"
fi

# --- Every page carries the project version (footer), from CMake.
for page in tcptune.1 tcptuned.8 tcptune-profile.5; do
    check
    grep -qF "tcptune $version" "$man_dir/$page" ||
        fail "$page does not carry the version 'tcptune $version'"
done

finish
