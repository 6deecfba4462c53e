#!/usr/bin/env bash
# Installs every Debian 12 package tcptune needs to build, test and demo.
# Idempotent; skips apt entirely when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libnl-3-dev libsdbus-c++-dev libsdbus-c++-bin libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libsystemd-dev libcli11-dev prometheus-cpp-dev libmicrohttpd-dev libexpected-dev
  nlohmann-json3-dev
  clang clang-format clang-tidy libclang-rt-14-dev llvm libbpf-dev bpftool
  iproute2 nftables hping3 dbus dbus-daemon util-linux procps prometheus systemd
  scdoc man-db groff-base gzip file dpkg-dev lintian
  polkitd
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "tcptune: missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
