#!/usr/bin/env bash
# The live demo: tcptuned tuning a throwaway network namespace while a load
# generator trips one of its rules, with the status shown as it changes.
#
#   sudo bash scripts/quickstart.sh
#
# What it does:
#   1. installs the Debian packages and builds build/bin/ (skip with QUICKSTART_NO_BUILD=1),
#   2. creates a network namespace (its TCP sysctls are its own: the host's are never touched),
#   3. starts a private dbus-daemon with the project's bus policy (when the D-Bus service is
#      built in), and tcptuned in the namespace with the shipped web-frontend profile, a 1 s
#      interval and a low threshold so a small demo load trips the TIME_WAIT rule,
#   4. generates TIME_WAIT load with tcptune-loadgen and shows, live, the daemon's status
#      (`tcptune status` over the private bus, else the daemon's log and the sysctls),
#   5. removes everything on exit, even on Ctrl-C: processes, namespace, bus, temp files.
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

ns=tcptune-demo-$$
work=$(mktemp -d /tmp/tcptune-demo-XXXXXX)
chmod 755 "$work"
pids=()

cleanup() {
  set +e
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
  echo "quickstart: cleaned up (namespace $ns, private bus, daemon, load, $work)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$ns" "$@"; }

echo "== network namespace $ns"
ip netns add "$ns"
in_ns ip link set lo up

# A demo copy of the shipped profile with a threshold a laptop-sized load can
# reach in seconds (the shipped one fires at 20000 TIME_WAIT sockets).
mkdir -p "$work/profiles"
sed -e 's/above: 20000, for: 3/above: 2000, for: 3/' \
    -e 's/below: 10000, for: 6/below: 500, for: 3/' \
    -e 's/cooldown: 5m/cooldown: 10s/' \
    -e 's/^interval: .*/interval: 1s/' \
    profiles/web-frontend.yaml >"$work/profiles/web-frontend.yaml"

bus_args=(--bus none)
status_cmd=()
if "$bin/tcptuned" --help | grep -q -- '--bus' && command -v dbus-daemon >/dev/null &&
   grep -q 'make_dbus_service' daemon/main.cpp 2>/dev/null; then
  echo "== private system bus"
  cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$root/systemd/net.tcptune.conf</include>
</busconfig>
EOF
  dbus-daemon --nofork --nopidfile --config-file="$work/bus.conf" 2>"$work/dbus.log" &
  pids+=($!)
  for _ in $(seq 50); do [[ -S $work/system_bus_socket ]] && break; sleep 0.1; done
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/system_bus_socket
  bus_args=(--bus system)
  status_cmd=("$bin/tcptune" status)
fi

echo "== tcptuned (profile web-frontend, demo thresholds, 1 s interval)"
in_ns "$bin/tcptuned" --config /dev/null --profile web-frontend \
  --profile-dir "$work/profiles" --profile-dir "$root/profiles" \
  --state-dir "$work/state" --interval 1 --metrics-address none "${bus_args[@]}" \
  2>"$work/tcptuned.log" &
pids+=($!)
for _ in $(seq 100); do grep -q 'ready: first poll done' "$work/tcptuned.log" && break; sleep 0.1; done
if ! grep -q 'ready: first poll done' "$work/tcptuned.log"; then
  cat "$work/tcptuned.log" >&2
  echo "quickstart: tcptuned did not become ready" >&2
  exit 1
fi
if ((${#status_cmd[@]})) && ! "${status_cmd[@]}" >/dev/null 2>&1; then
  status_cmd=()  # the service is not answering: fall back to log + sysctls
fi

show() {
  local title=$1
  echo
  echo "== $title"
  if ((${#status_cmd[@]})); then
    "${status_cmd[@]}" || true
  else
    grep -E 'fired|cleared|applied|refused|overridden|advised|restored' "$work/tcptuned.log" |
      sed 's/^/  log: /' | tail -n 8 || true
    in_ns sysctl net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout | sed 's/^/  sysctl: /'
    echo "  TIME_WAIT sockets: $(in_ns ss -tanH state time-wait | wc -l)"
  fi
}

show "before any load"

echo
echo "== load: 3000 TIME_WAIT sockets (tcptune-loadgen)"
in_ns "$bin/tcptune-loadgen" --time-wait 3000 --hold --ready-file "$work/load-ready" \
  >"$work/loadgen.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [[ -e $work/load-ready ]] && break; sleep 0.1; done

# The rule needs 3 polls above its threshold (1 s interval, plus census time).
for i in 2 4 6; do
  sleep 2
  show "under load, ${i} s"
done

echo
echo "== load gone (TIME_WAIT sockets destroyed with ss -K)"
in_ns ss -K state time-wait >/dev/null 2>&1 || true
for i in 3 6; do
  sleep 3
  show "after the load, ${i} s"
done

echo
echo "The rule cleared; its revert waits for the safety gate's 60 s per-key cooldown"
echo "(docs/safety-model.md) and is then applied by the daemon. Full daemon log:"
sed 's/^/  /' "$work/tcptuned.log"
