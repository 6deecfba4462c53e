#!/usr/bin/env bash
# The live demo: a SYN flood against a listener in a throwaway network namespace, and
# tcptuned noticing it, naming the listener, turning SYN cookies on, and putting the
# value back by itself once the flood is over. About 15 seconds.
#
#   sudo bash scripts/quickstart.sh
#
# What it does:
#   1. installs the Debian packages and builds build/bin/ (skip with QUICKSTART_NO_BUILD=1;
#      QUICKSTART_BIN_DIR=DIR takes the binaries from DIR instead of build/bin),
#   2. creates a network namespace: it starts from the kernel's default TCP sysctls and only
#      its own are ever written (the host's are never touched); the demo turns SYN cookies
#      off there, as some administrators do, and says so,
#   3. starts a private dbus-daemon (tests/data/dbus/system-like.conf, the configuration the
#      integration tests use, with the project's systemd/net.tcptune.conf) and tcptuned in the
#      namespace with the shipped syn-flood-guard profile at demo timings and a private
#      tcptune.yaml whose safety gate waits 10 s (default 60 s) between changes of one key,
#   4. floods a listener (tcptune-loadgen --serve) with hping3 SYNs, shows `tcptune top
#      listen` naming it and the rule turning cookies on, stops the flood, and shows the rule
#      clearing and tcptuned restoring the value it found,
#   5. removes everything on exit, on error and on Ctrl-C: every process in the namespace
#      (`ip netns pids`), the bus (by the pid it printed), the namespace, the temp directory.
#      tcptuned's log stays in the temp directory and is printed only when something fails.
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
for tool in ip ss sysctl dbus-daemon hping3 nft; do
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
  # Not $(<file): bash ends the whole script when that file has gone (the process was
  # reaped); a failed redirection of `read` is an ordinary failure.
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
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
syn_keys=(net.ipv4.tcp_syncookies net.ipv4.tcp_synack_retries net.ipv4.tcp_max_syn_backlog)
echo "== network namespace $ns"
echo "A new network namespace starts from the kernel's default TCP sysctls, not the host's."
echo "Everything below reads and writes the namespace's own; the host's are never touched:"
in_ns sysctl "${syn_keys[@]}" | sed 's/^/  /'
echo "The demo plays a host whose administrator turned SYN cookies off:"
in_ns sysctl -w net.ipv4.tcp_syncookies=0 | sed 's/^/  /'

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

# The demo profile: the shipped syn-flood-guard with its SYN-drop rule at demo timings,
# and the daemon's own settings with a short safety-gate cooldown.
mkdir -p "$work/profiles"
cat >"$work/profiles/quickstart-demo.yaml" <<'EOF'
name: quickstart-demo
description: syn-flood-guard with its SYN-drop rule at demo timings
extends: syn-flood-guard
rules:
  - name: syn-drops-without-cookies
    when: { rate: reqq_full_drop, above: 10, for: 2 }
    clear: { below: 1, for: 3 }
    apply:
      net.ipv4.tcp_syncookies: 1
    revert: true
    verify: { within: 3 }
    why: >-
      a full SYN queue drops SYNs because SYN cookies are off; with tcp_syncookies=1 the
      kernel answers them with cookies instead and real clients still get in
EOF
cat >"$work/tcptune.yaml" <<'EOF'
# The demo's tcptuned settings: everything at its default but the safety gate's
# per-key cooldown (default 60s), so the revert happens within the demo.
safety:
  key_cooldown: 10s
EOF

echo
echo "== tcptuned in the namespace, on a private system bus"
echo "Profile quickstart-demo = the shipped syn-flood-guard (one poll a second; the default"
echo "profile's report-only syn-queue-full rule) with its syn-drops-without-cookies rule at demo"
echo "timings: fire when more than 10 SYNs a second are dropped for 2 polls, clear after 3 polls"
echo "without drops (shipped: 30), no rule cooldown (shipped: 1m). Config: safety: key_cooldown:"
echo "10s (default 60s), the least time between two changes of one sysctl."
: >"$work/tcptuned.log"  # exists before the first wait_for_log looks at it
# Not through in_ns: $! is then the daemon's own pid (ip netns exec execs it).
ip netns exec "$ns" "$bin/tcptuned" --config "$work/tcptune.yaml" --profile quickstart-demo \
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

# The listener to flood: 127.0.0.5:8080 with listen(511), like a web server's, which
# never accepts (nothing completes a handshake in a SYN flood anyway).
listener=127.0.0.5:8080
ip netns exec "$ns" "$bin/tcptune-loadgen" --no-tune --serve "$listener" --backlog 511 --hold \
  --ready-file "$work/listener.ready" >"$work/loadgen.log" 2>&1 3>&- 4>&- &
listener_pid=$!
for ((i = 0; i < 100; i++)); do
  [[ -e $work/listener.ready ]] && break
  is_running "$listener_pid" || fail "tcptune-loadgen failed: $(cat "$work/loadgen.log")"
  sleep 0.1
done
[[ -e $work/listener.ready ]] || fail "tcptune-loadgen did not listen within 10 s: $(cat "$work/loadgen.log")"

# The parts of `tcptune status` this demo is about: the two SYN rules (with the listener
# they fired on), tcp_syncookies and the recent changes (the full table: `tcptune status`).
show() {
  echo
  echo "== $1"
  "$bin/tcptune" status --changes "${2:-3}" |
    grep -E '^(RULE |  )?(syn-queue-full|syn-drops-without-cookies)[ :]|^(RULE|SYSCTL|AT) |^net\.ipv4\.tcp_syncookies |^Recent changes|^[0-9]{4}-' |
    grep -v ' skipped ' | sed 's/^/  /'
}

# The namespace's TcpExt counters TCPReqQFullDrop (SYNs dropped: SYN queue full, cookies
# off) and TCPReqQFullDoCookies (SYNs answered with a cookie instead), on one line.
# shellcheck disable=SC2016 # an awk program
syn_counters() {
  in_ns awk '$1 == "TcpExt:" {
      if (!names) { for (i = 2; i <= NF; i++) name[i] = $i; names = 1; next }
      for (i = 2; i <= NF; i++) value[name[i]] = $i
    }
    END { print value["TCPReqQFullDrop"] + 0, value["TCPReqQFullDoCookies"] + 0 }' /proc/net/netstat
}

# ---- the demo -------------------------------------------------------------------------------

echo
echo "== SYN flood against $listener"
echo "The listener: listen(511) like a web server's (tcptune-loadgen --serve; it accepts nothing)."
echo "The flood: hping3 -S -p 8080 -a 127.0.0.9 -i u500 127.0.0.5, a SYN every 500 us from an"
echo "address where nothing listens. Its SYN-ACKs would be answered with resets, which the forged"
echo "sources of a real flood do not send, so an nft rule in the namespace drops outgoing resets."
in_ns nft -f - <<'EOF' || fail "nft could not add the rule that drops resets"
table inet quickstart {
  chain out { type filter hook output priority 0; tcp flags & rst == rst drop; }
}
EOF
ip netns exec "$ns" hping3 -q -S -p 8080 -a 127.0.0.9 -i u500 127.0.0.5 >"$work/hping3.log" 2>&1 3>&- 4>&- &
flood_pid=$!

wait_for_log 'rule syn-drops-without-cookies fired' 15
wait_for_log 'applied net\.ipv4\.tcp_syncookies 0 -> 1' 5
wait_for_log "rule syn-queue-full fired: .* on $listener" 5
show "the rules fired: the SYN queue of $listener is full and SYNs are dropped, so tcptuned set tcp_syncookies 0 -> 1" 2
echo
echo "== tcptune top listen: the listener under pressure, from the kernel's socket table"
# The listeners with something queued; the LISTEN sockets' port and peer tables before them
# say nothing here.
in_ns "$bin/tcptune" top listen | sed -n '/ listener(s), /,/^ListenOverflows: /p' | sed 's/^/  /'

read -r drops cookies < <(syn_counters)
sleep 2
read -r drops_now cookies_now < <(syn_counters)
echo
echo "With cookies on, in the next 2 s of the flood: $((drops_now - drops)) SYNs dropped," \
  "$((cookies_now - cookies)) answered with a cookie."

echo
echo "== the flood ends"
kill "$flood_pid" 2>/dev/null || true
wait "$flood_pid" 2>/dev/null || true
echo "Its half-open connections would time out after 63 s (5 SYN-ACK retries, ip-sysctl.rst);"
echo "the demo destroys them now (ss -K state syn-recv)."
in_ns ss -K state syn-recv >/dev/null 2>&1 || true
if (($(in_ns ss -tanH state syn-recv | wc -l) > 0)); then
  # SOCK_DESTROY needs a kernel built with CONFIG_INET_DIAG_DESTROY.
  echo "This kernel could not destroy them: syn-queue-full stays active until they time out."
fi
wait_for_log 'rule syn-drops-without-cookies cleared' 10
wait_for_log 'applied net\.ipv4\.tcp_syncookies 1 -> 0' 15
show "3 polls without drops: the rule cleared, and tcptuned put tcp_syncookies back by itself" 4
if grep -Eq 'refused net\.ipv4\.tcp_syncookies 1 -> 0' "$work/tcptuned.log"; then
  echo "  The revert waited for the safety gate (the 'refused' line): one key changes at most every"
  echo "  10 s here (key_cooldown in tcptune.yaml; default 60 s). tcptuned retried and applied it."
fi

echo
echo "== after the revert"
echo "The namespace's SYN settings are the ones tcptuned found (cookies off as the demo set them,"
echo "the rest the kernel's defaults):"
in_ns sysctl "${syn_keys[@]}" | sed 's/^/  /'
