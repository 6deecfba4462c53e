#!/usr/bin/env bash
# The live demo: tcptuned tuning a throwaway network namespace while a load
# generator trips one of its rules, with the daemon's status shown as it changes.
#
#   sudo bash scripts/quickstart.sh
#
# What it does:
#   1. installs the Debian packages and builds build/bin/ (skip with QUICKSTART_NO_BUILD=1;
#      QUICKSTART_BIN_DIR=DIR takes the binaries from DIR instead of build/bin),
#   2. creates a network namespace: it starts from the kernel's default TCP sysctls and only
#      its own are ever written (the host's are never touched),
#   3. starts a private dbus-daemon (tests/data/dbus/system-like.conf, the configuration the
#      integration tests use, with the project's systemd/net.tcptune.conf) and tcptuned in the
#      namespace with a demo profile: the shipped default plus a TIME_WAIT rule at demo
#      thresholds,
#   4. makes TIME_WAIT load with tcptune-loadgen (--no-tune: it changes no sysctl), shows the
#      rule firing and clearing with `tcptune status`, then restores the namespace's original
#      values with `tcptune rollback`,
#   5. removes everything on exit, on error and on Ctrl-C: every process in the namespace
#      (`ip netns pids`), the bus (by the pid it printed), the namespace, the temp directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ $EUID -ne 0 ]]; then
  echo "quickstart: run as root (sudo): it creates a network namespace" >&2
  exit 1
fi

if [[ -z "${QUICKSTART_NO_BUILD:-}" ]]; then
  bash scripts/deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target tcptuned tcptune tcptune-loadgen
fi
bin=${QUICKSTART_BIN_DIR:-$root/build/bin}
for b in tcptuned tcptune tcptune-loadgen; do
  [[ -x $bin/$b ]] || { echo "quickstart: $bin/$b is not built" >&2; exit 1; }
done
for tool in ip ss sysctl dbus-daemon; do
  command -v "$tool" >/dev/null || { echo "quickstart: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

# The terminal, kept for the cleanup: a signal can arrive while a command's output is
# redirected to a log file, and the trap then runs with that redirection in place.
exec 3>&1 4>&2

ns=tcptune-demo-$$
ns_created=false
work=
bus_pid=

# ---- cleanup --------------------------------------------------------------------------------

# True while PID is a live process (a zombie has ended: only its exit status is left).
is_running() {
  local stat
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
  stat=${stat##*) }  # the state follows the command name, which may contain anything
  [[ -n $stat && ${stat:0:1} != Z ]]
}

# Ends the processes printed by the command "$@" (re-run each round, so processes that
# appear meanwhile are ended too): SIGTERM, up to 5 s to exit, then SIGKILL and up to 5 s
# more. Fails if any is still running after that.
end_processes_of() {
  local signal=TERM round pids
  for round in $(seq 100); do
    pids=$("$@" 2>/dev/null || true)
    [[ -n $pids ]] || return 0
    ((round == 51)) && signal=KILL
    # Only the first round of each signal sends it; the others wait.
    if ((round == 1 || round == 51)); then
      # shellcheck disable=SC2086 # one pid per word
      kill -s "$signal" $pids 2>/dev/null || true
    fi
    sleep 0.1
  done
  return 1
}
namespace_pids() { ip netns pids "$ns"; }
bus_pids() { if [[ -n $bus_pid ]] && is_running "$bus_pid"; then echo "$bus_pid"; fi; }

cleanup() {
  local rc=$? left=()
  # Finish the cleanup even if Ctrl-C is pressed again meanwhile.
  trap '' INT TERM HUP
  trap - EXIT ERR
  set +e
  exec 1>&3 2>&4 3>&- 4>&-
  if $ns_created; then
    end_processes_of namespace_pids || left+=("processes in namespace $ns: $(namespace_pids | tr '\n' ' ')")
    wait 2>/dev/null  # reap our own children (tcptuned)
    ip netns del "$ns" 2>/dev/null
    [[ -e /run/netns/$ns ]] && left+=("namespace $ns")
  fi
  end_processes_of bus_pids || left+=("dbus-daemon $bus_pid")
  if [[ -n $work ]]; then
    rm -rf "$work"
    [[ -e $work ]] && left+=("$work")
  fi
  if ((${#left[@]})); then
    echo "quickstart: could not remove: ${left[*]}" >&2
    ((rc == 0)) && rc=1
  elif $ns_created; then
    echo
    echo "quickstart: cleaned up: every process of namespace $ns and the private bus ended," \
      "the namespace deleted, $work removed"
  fi
  exit "$rc"
}
trap cleanup EXIT
# With set -e a failing command ends the script; say which one.
set -E
trap 'echo "quickstart: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
  echo "quickstart: $*" >&2
  if [[ -n $work && -s $work/tcptuned.log ]]; then
    echo "quickstart: tcptuned's log:" >&2
    sed 's/^/  /' "$work/tcptuned.log" >&2
  fi
  exit 1
}

# ---- setup ----------------------------------------------------------------------------------

work=$(mktemp -d /tmp/tcptune-demo-XXXXXX)
chmod 755 "$work"
in_ns() { ip netns exec "$ns" "$@"; }

[[ ! -e /run/netns/$ns ]] || fail "a namespace named $ns exists already"
ns_created=true  # before the add: a Ctrl-C right after it must still delete it
ip netns add "$ns"
in_ns ip link set lo up
echo "== network namespace $ns"
echo "A new network namespace starts from the kernel's default TCP sysctls, not the host's."
echo "Everything below reads and writes the namespace's own; the host's are never touched:"
in_ns sysctl net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout | sed 's/^/  /'

# The private system bus: the same configuration the integration tests use.
bus_conf=$(<tests/data/dbus/system-like.conf)
[[ $bus_conf == *@SOCKET_PATH@* && $bus_conf == *@SERVICE_POLICY@* ]] ||
  fail "tests/data/dbus/system-like.conf lacks its placeholders @SOCKET_PATH@, @SERVICE_POLICY@"
bus_conf=${bus_conf//@SOCKET_PATH@/"$work/system_bus_socket"}
bus_conf=${bus_conf//@SERVICE_POLICY@/"$root/systemd/net.tcptune.conf"}
printf '%s\n' "$bus_conf" >"$work/bus.conf"
# --fork returns once the bus listens; --print-pid gives the daemon's own pid.
bus_pid=$(dbus-daemon --fork --nopidfile --print-pid --config-file="$work/bus.conf" 2>"$work/dbus.log" 3>&- 4>&-) ||
  fail "dbus-daemon did not start: $(cat "$work/dbus.log")"
[[ $bus_pid =~ ^[0-9]+$ ]] || fail "dbus-daemon printed no pid: $bus_pid"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/system_bus_socket

# The demo profile: the shipped default (which only reports) plus a demo baseline and a
# namespace-wide TIME_WAIT rule with thresholds a laptop-sized load crosses in seconds.
mkdir -p "$work/profiles"
cat >"$work/profiles/quickstart-demo.yaml" <<'EOF'
name: quickstart-demo
description: the default profile plus a TIME_WAIT rule at demo thresholds
extends: default
interval: 1s
sysctls:
  net.ipv4.tcp_fin_timeout: 30
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 2000, for: 3 }
    clear: { below: 500, for: 3 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
    revert: true
    why: >-
      outbound connections starved of ephemeral ports by TIME_WAIT may reuse a TIME_WAIT
      port when timestamps prove it safe (a demo rule)
EOF

echo
echo "== tcptuned in the namespace, on a private system bus"
echo "Profile quickstart-demo = the shipped default plus a demo baseline (tcp_fin_timeout 30) and a"
echo "time-wait-pressure rule at demo thresholds: fire above 2000 TIME_WAIT sockets for 3 polls,"
echo "clear below 500 for 3 polls, no rule cooldown"
echo "(shipped rules: 5m); one poll a second (shipped: 5 s)."
: >"$work/tcptuned.log"  # exists before the first wait_for_log looks at it
# Not through in_ns: $! is then the daemon's own pid (ip netns exec execs it).
ip netns exec "$ns" "$bin/tcptuned" --config /dev/null --profile quickstart-demo \
  --profile-dir "$work/profiles" --profile-dir "$root/profiles" \
  --state-dir "$work/state" --metrics-address none --bus system \
  2>"$work/tcptuned.log" 3>&- 4>&- &
daemon_pid=$!

# Waits up to $2 seconds for the daemon's log to show the extended regex $1.
wait_for_log() {
  local pattern=$1 seconds=$2 i
  for ((i = 0; i < seconds * 10; i++)); do
    grep -Eq -- "$pattern" "$work/tcptuned.log" && return 0
    is_running "$daemon_pid" || fail "tcptuned exited while waiting for \"$pattern\""
    sleep 0.1
  done
  fail "tcptuned's log did not show \"$pattern\" within $seconds s"
}
wait_for_log 'ready: first poll done' 10
# The bus name is requested before the first poll; the CLI must answer now.
"$bin/tcptune" status >/dev/null 2>"$work/status.err" ||
  fail "tcptune status does not reach tcptuned on the private bus: $(cat "$work/status.err")"

# The parts of `tcptune status` this demo is about: the header, TIME_WAIT, the rule, the two
# keys and the recent changes (the full table: `tcptune status`).
show() {
  echo
  echo "== $1"
  "$bin/tcptune" status --changes "${2:-3}" |
    grep -E '^(tcptuned |STATE |time_wait |RULE |time-wait-pressure |SYSCTL |net\.ipv4\.tcp_(tw_reuse|fin_timeout) |Recent changes|AT |[0-9]{4}-)' |
    grep -v ' skipped ' | sed 's/^/  /'
}

time_wait_count() { in_ns ss -tanH state time-wait | wc -l; }

show "tcptuned running, no load yet: its first poll applied the baseline (tcp_fin_timeout 60 -> 30)" 1

# ---- the demo -------------------------------------------------------------------------------

echo
echo "== load: 3000 TIME_WAIT sockets"
echo "tcptune-loadgen --no-tune: it changes no sysctl, the namespace's defaults suffice."
in_ns "$bin/tcptune-loadgen" --no-tune --time-wait 3000 >"$work/loadgen.log" 2>&1 ||
  fail "tcptune-loadgen failed: $(cat "$work/loadgen.log")"
echo "  TIME_WAIT sockets in the namespace: $(time_wait_count)"

wait_for_log 'rule time-wait-pressure fired' 15
wait_for_log '(applied|refused|failed) net\.ipv4\.tcp_tw_reuse' 5
show "3 polls above 2000: the rule fired and set tcp_tw_reuse 2 -> 1"

echo
echo "== the load ends: the TIME_WAIT sockets are destroyed (ss -K)"
in_ns ss -K state time-wait >/dev/null 2>&1 || true
clear_wait=15
if (($(time_wait_count) > 0)); then
  # SOCK_DESTROY of TIME_WAIT sockets needs Linux 6.0+ built with CONFIG_INET_DIAG_DESTROY.
  echo "  This kernel could not destroy them; they expire on their own 60 s after they were made."
  clear_wait=75
fi
wait_for_log 'rule time-wait-pressure cleared' "$clear_wait"
wait_for_log '(applied|refused|failed) net\.ipv4\.tcp_tw_reuse 1 -> 2' 5
show "3 polls below 500: the rule cleared and planned tcp_tw_reuse 1 -> 2"

if grep -Eq 'applied net\.ipv4\.tcp_tw_reuse 1 -> 2' "$work/tcptuned.log"; then
  # Only when the TIME_WAIT sockets had to expire: the gate's minute had passed.
  echo
  echo "The rule's revert is applied: tcp_tw_reuse is back at 2."
else
  echo
  echo "The safety gate refused the revert for now (the 'refused' line): it changes one key at"
  echo "most once a minute (docs/safety-model.md), and tcp_tw_reuse changed seconds ago. tcptuned"
  echo "retries every poll and restores 2 by itself about a minute after the rule fired; the"
  echo "demo does not wait. \`tcptune rollback\` restores now, from tcptuned's journal, every"
  echo "value tcptuned changed:"
fi

echo
echo "== tcptune rollback"
"$bin/tcptune" rollback | sed 's/^/  /'
show "after the rollback: the namespace's values are the ones it started with" 2
echo
echo "tcptuned keeps running until the demo ends it. It changes these keys again only when a"
echo "rule fires or its profile becomes active again (\`tcptune apply\`); DESIRED still shows the"
echo "baseline it would then set."
