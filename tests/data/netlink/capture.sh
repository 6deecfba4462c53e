#!/usr/bin/env bash
# Re-records the captured sock_diag dumps used by tests/unit/netlink_diag_parser_test.cpp:
# a throwaway network namespace is filled with real sockets in several states
# (IPv4 and IPv6), dumped exactly as tcptune asks the kernel, and counted by `ss`
# at the same moment; `ss`'s per-state counts become populated.expected.
#
# Usage: sudo bash tests/data/netlink/capture.sh [BUILD_DIR]   (default build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "${1:-build}/bin" && pwd)

if [[ ${TCPTUNE_CAPTURE_INSIDE:-} != 1 ]]; then
  exec env TCPTUNE_CAPTURE_INSIDE=1 unshare -n bash "$0" "$@"
fi
ip link set lo up
ready=$(mktemp -u)
"$BIN/tcptune-loadgen" --listen 7 --established 300 --close-wait 200 --time-wait 700 \
  --syn-recv 60 --ipv6-percent 30 --hold --ready-file "$ready" 2>/dev/null &
loadgen=$!
trap 'kill $loadgen 2>/dev/null || true; wait $loadgen 2>/dev/null || true; rm -f "$ready"' EXIT
while [[ ! -e $ready ]]; do sleep 0.1; done

ss_before=$(ss -tanH | awk '{print $1}' | sort | uniq -c)
seqs=$("$BIN/tcptune-capture-dump" "$here/populated")
ss_after=$(ss -tanH | awk '{print $1}' | sort | uniq -c)
if [[ $ss_before != "$ss_after" ]]; then
  echo "capture.sh: the population moved during the capture; run again" >&2
  exit 1
fi
{
  echo "$seqs"
  for pair in established:ESTAB syn_sent:SYN-SENT syn_recv:SYN-RECV fin_wait1:FIN-WAIT-1 \
              fin_wait2:FIN-WAIT-2 time_wait:TIME-WAIT close:UNCONN close_wait:CLOSE-WAIT \
              last_ack:LAST-ACK listen:LISTEN closing:CLOSING; do
    name=${pair%%:*} ss_name=${pair#*:}
    n=$(awk -v s="$ss_name" '$2 == s {print $1}' <<<"$ss_after")
    echo "$name ${n:-0}"
  done
} >"$here/populated.expected"
cat "$here/populated.expected"
