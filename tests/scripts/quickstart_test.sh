#!/usr/bin/env bash
# Runs scripts/quickstart.sh, the README's first command, as a new user would (with the
# binaries of this build tree) and checks that it tells its story and leaves nothing
# behind: no process it started, no tcptune-demo-* network namespace, no
# /tmp/tcptune-demo-* directory, the host's sysctls untouched.
#
#   quickstart_test.sh SOURCE_DIR BIN_DIR
#
# Four runs: two complete ones in a row, one interrupted like Ctrl-C (SIGINT to its
# process group) in the middle of the demo, and one that fails half-way (a load
# generator that exits 1), which must exit non-zero and still clean up.
#
# What the quickstart started is recognised exactly, even with other tcptuned or
# dbus-daemon processes on the machine: every run gets a unique marker in its
# environment, which `ip netns exec`, `dbus-daemon --fork` and the load generator
# pass on to everything they start.
set -uo pipefail

src=$1
bin=$2
# shellcheck source=../lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

[[ $(id -u) -eq 0 ]] || skip "the quickstart creates a network namespace: needs root"
for tool in ip ss sysctl dbus-daemon hping3 nft setsid flock; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps.sh installs it)"
done
for b in tcptuned tcptune tcptune-loadgen; do
  [[ -x $bin/$b ]] || { echo "FAIL: $bin/$b is not built"; exit 1; }
done

# One quickstart test at a time on this machine (several build trees may run their
# ctest at once): the tcptune-demo-* snapshots below must not see another run's.
exec 9>/run/lock/tcptune-quickstart-test.lock
flock -w 300 9 || { echo "FAIL: another quickstart test held the lock for 5 minutes"; exit 1; }

tmp=$(mktemp -d /tmp/tcptune-quickstart-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- what "nothing left" means ---------------------------------------------------------

demo_namespaces() { ip netns list | awk '$1 ~ /^tcptune-demo-/ {print $1}' | sort; }
demo_dirs() { find /tmp -maxdepth 1 -name 'tcptune-demo-*' | sort; }
# Per-namespace keys the demo or its load generator could change, read in this
# test's own namespace (the host's, as far as the quickstart is concerned).
host_sysctls() {
  sysctl net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout net.core.somaxconn \
    net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_max_tw_buckets net.ipv4.ip_local_port_range \
    net.ipv4.ip_local_reserved_ports net.ipv4.tcp_synack_retries net.ipv4.tcp_syncookies
}
# "PID NAME" of every running process whose environment carries marker $1.
marked_processes() {
  local p
  for p in /proc/[0-9]*; do
    if grep -qzx "TCPTUNE_QUICKSTART_TEST=$1" "$p/environ" 2>/dev/null; then
      echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"
    fi
  done
}

namespaces_before=$(demo_namespaces)
dirs_before=$(demo_dirs)
sysctls_before=$(host_sysctls)

# check_nothing_left LABEL MARKER OUTPUT
check_nothing_left() {
  local label=$1 marker=$2 output=$3 left ns
  left=$(marked_processes "$marker")
  [[ -z $left ]] || fail "$label: processes of the quickstart still running: $(echo "$left" | tr '\n' ',')"
  ns=$(sed -n 's/^== network namespace //p' "$output")
  if [[ -n $ns ]] && { ip netns list | grep -qw -- "$ns" || [[ -e /run/netns/$ns ]]; }; then
    fail "$label: namespace $ns was not deleted"
  fi
  [[ $(demo_namespaces) == "$namespaces_before" ]] ||
    fail "$label: tcptune-demo-* namespaces left: $(comm -13 <(echo "$namespaces_before") <(demo_namespaces) | tr '\n' ' ')"
  [[ $(demo_dirs) == "$dirs_before" ]] ||
    fail "$label: /tmp/tcptune-demo-* left: $(comm -13 <(echo "$dirs_before") <(demo_dirs) | tr '\n' ' ')"
  [[ $(host_sysctls) == "$sysctls_before" ]] ||
    fail "$label: the host's sysctls changed: $(diff <(echo "$sysctls_before") <(host_sysctls) | tr '\n' ' ')"
}

# run_quickstart MARKER BIN_DIR: the README's command, without the build step.
run_quickstart() {
  env TCPTUNE_QUICKSTART_TEST="$1" QUICKSTART_NO_BUILD=1 QUICKSTART_BIN_DIR="$2" \
    timeout -s INT 180 bash "$src/scripts/quickstart.sh"
}

# expect_exit LABEL RC WANTED OUTPUT: the run's exit status, with its output on a mismatch.
expect_exit() {
  echo "$1: exit $2"
  (($2 == $3)) && return 0
  fail "$1: exit $2, expected $3"
  sed 's/^/  | /' "$4"
}

# The lines of OUTPUT from the one starting "== $2" up to the next "== " heading.
section() { awk -v head="== $2" 'index($0, head) == 1 {on = 1; print; next} /^== / {on = 0} on' "$1"; }

# expect_in_section OUTPUT LABEL HEADING REGEX...: like expect, within one section.
expect_in_section() {
  local output=$1 label=$2 heading=$3
  shift 3
  section "$output" "$heading" >"$output.section"
  [[ -s $output.section ]] || { fail "$label: the output has no section \"== $heading\""; return; }
  expect "$output.section" "$label, section \"$heading\"" "$@"
}

# expect OUTPUT LABEL REGEX...: every extended regex matches some line of OUTPUT.
expect() {
  local output=$1 label=$2 re missing=0
  shift 2
  for re; do
    grep -Eq -- "$re" "$output" && continue
    fail "$label: the output has no line matching: $re"
    missing=1
  done
  ((missing == 0)) || sed 's/^/  | /' "$output"
}

# ---- two complete runs in a row ----------------------------------------------------------

for run in 1 2; do
  marker=quickstart-$$-$run-$RANDOM
  out=$tmp/run$run.txt
  start=$SECONDS
  run_quickstart "$marker" "$bin" >"$out" 2>&1
  expect_exit "run $run ($((SECONDS - start)) s)" $? 0 "$out"
  elapsed=$((SECONDS - start))
  ((elapsed < 60)) || fail "run $run took $elapsed s; the quickstart must stay under a minute"
  # The story, each step as it really happened: the namespace starts from the kernel's
  # defaults and the demo turns cookies off; the flood fills the listener's SYN queue
  # and SYNs are dropped; both rules fire on the listener and tcp_syncookies goes 0 -> 1
  # (ORIGINAL 0); `tcptune top listen` names the listener with its SYN queue full; with
  # cookies on no SYN is dropped any more; after the flood the rule clears, its change
  # helped, and tcptuned itself puts 0 back (no rollback); the SYN settings at the end
  # are the ones it found.
  expect_in_section "$out" "run $run" "network namespace" \
    '^  net\.ipv4\.tcp_syncookies = 1$' '^  net\.ipv4\.tcp_syncookies = 0$'
  expect_in_section "$out" "run $run" "the rules fired: the SYN queue of 127.0.0.5:8080 is full" \
    '^  syn-queue-full +listener\.syn_queue +90% +yes ' \
    '^  syn-drops-without-cookies +rate\(reqq_full_drop\) +10 +yes ' \
    '^    syn-queue-full: SYN queue of 127\.0\.0\.5:8080 51[12]/511 ' \
    '^  net\.ipv4\.tcp_syncookies +1 +0 +1 +tcptune$' \
    ' applied +net\.ipv4\.tcp_syncookies +0 +1 +syn-drops-without-cookies +rule syn-drops-without-cookies fired: TCPReqQFullDrop '
  expect_in_section "$out" "run $run" "tcptune top listen" \
    '^  127\.0\.0\.5:8080 +51[12] +0 +511 +10[0-9.]+% ' \
    '1 SYN queue full$'
  expect "$out" "run $run" '^With cookies on, in the next 2 s of the flood: 0 SYNs dropped, [1-9][0-9]* answered with a cookie\.$'
  expect_in_section "$out" "run $run" "3 polls without drops" \
    '^  syn-drops-without-cookies +rate\(reqq_full_drop\) +10 +no ' \
    '^    syn-drops-without-cookies: TCPReqQFullDrop 0\.0/s \[helped\]$' \
    '^  net\.ipv4\.tcp_syncookies +0 +0 +- +tcptune$' \
    ' applied +net\.ipv4\.tcp_syncookies +1 +0 +syn-drops-without-cookies +rule syn-drops-without-cookies cleared: '
  # The end state: what the namespace started from, cookies off as the demo set them.
  expected_end=$(section "$out" "network namespace" | grep -E '^  net\.ipv4\.' | sed -n 1,3p |
    sed 's/^  net\.ipv4\.tcp_syncookies = 1$/  net.ipv4.tcp_syncookies = 0/')
  actual_end=$(section "$out" "after the revert" | grep -E '^  net\.ipv4\.')
  [[ -n $actual_end && $actual_end == "$expected_end" ]] ||
    fail "run $run: after the revert the SYN settings are not the ones tcptuned found: expected [$expected_end], got [$actual_end]"
  grep -q 'rollback' "$out" && fail "run $run: the story should not need a rollback any more"
  expect "$out" "run $run" '^quickstart: cleaned up: '
  check_nothing_left "run $run" "$marker" "$out"
done

# ---- Ctrl-C in the middle of the demo ------------------------------------------------------

marker=quickstart-$$-int-$RANDOM
out=$tmp/interrupted.txt
# As a terminal's foreground job: its own process group (setsid), to which Ctrl-C sends
# SIGINT, and SIGINT not ignored (a non-interactive shell starts background jobs with
# SIGINT ignored, and bash cannot trap a signal ignored on entry). In a non-interactive
# shell the background child leads no group, so setsid execs without forking: $! is
# the quickstart's pid and its group id.
setsid env --default-signal=INT TCPTUNE_QUICKSTART_TEST="$marker" QUICKSTART_NO_BUILD=1 \
  QUICKSTART_BIN_DIR="$bin" bash "$src/scripts/quickstart.sh" >"$out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q '^== SYN flood ' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '^== SYN flood ' "$out"; then
  fail "interrupted run: the demo never reached its SYN flood"
  sed 's/^/  | /' "$out"
fi
[[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]] ||
  fail "interrupted run: pid $pid does not lead its process group; Ctrl-C is not simulated"
# Interrupted mid-flood: once hping3 runs. The marker must see what is running, or
# "nothing left" below would prove nothing. One scan of /proc takes about a second on a
# busy machine and the flood lasts a few: what is checked is the scan that saw hping3.
running=
for _ in $(seq 30); do
  running=$(marked_processes "$marker")
  grep -qw hping3 <<<"$running" && break
  sleep 0.1
done
for name in tcptuned dbus-daemon tcptune-loadgen hping3; do
  grep -qw "$name" <<<"$running" ||
    fail "interrupted run: $name not found among the demo's processes before the interrupt: $(tr '\n' ',' <<<"$running")"
done
kill -INT -- "-$pid"
# Up to 30 s to finish (an exited child stays a zombie, state Z, until waited for).
still_running() { [[ $(ps -o stat= -p "$pid") == [RSDT]* ]]; }
for _ in $(seq 300); do
  still_running || break
  sleep 0.1
done
if still_running; then
  fail "interrupted run: still running 30 s after SIGINT"
  kill -KILL -- "-$pid"
fi
wait "$pid"
expect_exit "interrupted run" $? 130 "$out"
expect "$out" "interrupted run" '^quickstart: cleaned up: '
check_nothing_left "interrupted run" "$marker" "$out"

# ---- an error half-way -------------------------------------------------------------------

# The real daemon and CLI, and a load generator (the listener to flood) that fails after
# the namespace, the bus and the daemon are up.
mkdir "$tmp/bin"
ln -s "$bin/tcptuned" "$bin/tcptune" "$tmp/bin/"
printf '#!/bin/sh\necho "injected failure" >&2\nexit 1\n' >"$tmp/bin/tcptune-loadgen"
chmod 755 "$tmp/bin/tcptune-loadgen"
marker=quickstart-$$-err-$RANDOM
out=$tmp/error.txt
run_quickstart "$marker" "$tmp/bin" >"$out" 2>&1
expect_exit "failing run" $? 1 "$out"
expect "$out" "failing run" '^quickstart: tcptune-loadgen failed: injected failure' \
  '^quickstart: cleaned up: '
check_nothing_left "failing run" "$marker" "$out"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "quickstart: 4 runs, nothing left behind"
