#!/usr/bin/env bash
# Builds the Debian package with CPack from a configured and built tree,
# installs it on this machine with dpkg (root only), checks what an operator
# relies on, and removes it again (purge), so the machine is left as it was.
#
#   check_deb.sh BUILD_DIR VERSION
#
# Checked: lintian reports no error and no warning; control fields (version
# from CMake, maintainer from TCPTUNE_DEB_MAINTAINER, library dependencies from
# dpkg-shlibdeps), conffiles, copyright and changelog; after install: both binaries run and report the
# version, `tcptune profile check` accepts every installed profile, the
# installed daemon runs a poll in advice mode in a private network namespace,
# man pages and bash completion are where man(1) and bash-completion look, the
# unit's ExecStart points at the installed daemon, the bus policy is in place;
# remove keeps an edited conffile, purge removes it and every file.
set -uo pipefail

build=$1
version=$2
# shellcheck source=../lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

[[ $(id -u) -eq 0 ]] || skip "installing a .deb needs root"
command -v dpkg >/dev/null || skip "dpkg is not available (not a Debian system)"
command -v cpack >/dev/null || skip "cpack is not available"
if ! command -v lintian >/dev/null; then
    echo "FAIL: lintian is not installed (scripts/deps.sh installs it)"
    exit 1
fi

# One package test at a time on this machine (several build trees may run
# their ctest at once); dpkg's own lock would make the others fail.
exec 9>/run/lock/tcptune-deb-test.lock
flock -w 600 9 || {
    echo "FAIL: another tcptune package test holds the lock for 10 minutes"
    exit 1
}

if dpkg-query -W -f='${Status}' tcptune 2>/dev/null | grep -q "installed"; then
    skip "a tcptune package is already installed on this machine; not replacing it"
fi
# Refuse to overwrite files that are not ours (e.g. a `cmake --install` to /usr).
for f in /usr/bin/tcptune /usr/sbin/tcptuned /etc/tcptune/tcptune.yaml; do
    [[ -e $f ]] && skip "$f exists and belongs to no package; not overwriting it"
done

etc_existed=0
[[ -e /etc/tcptune ]] && etc_existed=1

work=$(mktemp -d)
installed=0
cleanup() {
    if ((installed)); then
        dpkg --purge tcptune >/dev/null 2>&1 || echo "WARNING: dpkg --purge tcptune failed"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# --- Build the package.
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work" >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log"
    echo "FAIL: cpack -G DEB failed"
    exit 1
fi
deb=$(find "$work" -maxdepth 1 -name "tcptune_${version}_*.deb" | head -n 1)
if [[ -z $deb ]]; then
    ls -l "$work"
    echo "FAIL: no tcptune_${version}_*.deb produced"
    exit 1
fi
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# --- lintian: Debian's own checks, no error and no warning (informational
# tags are printed, not failed). As root it says so on stderr; that line is noise.
check
lintian_out=$(lintian --fail-on error,warning --tag-display-limit 0 "$deb" 2>&1)
lintian_rc=$?
lintian_out=$(grep -v '^running with root privileges' <<<"$lintian_out")
[[ -n $lintian_out ]] && echo "lintian: $lintian_out"
if [[ $lintian_rc -ne 0 ]] || grep -q '^[EW]: ' <<<"$lintian_out"; then
    fail "lintian reports errors or warnings (exit $lintian_rc)"
fi

# --- Control fields.
check
[[ $(dpkg-deb -f "$deb" Package) == tcptune ]] || fail "Package is not tcptune"
check
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] ||
    fail "Version is '$(dpkg-deb -f "$deb" Version)', project(VERSION) is $version"
maintainer=$(sed -n 's/^TCPTUNE_DEB_MAINTAINER:[A-Z]*=//p' "$build/CMakeCache.txt")
check
[[ -n $maintainer && $(dpkg-deb -f "$deb" Maintainer) == "$maintainer" ]] ||
    fail "Maintainer is '$(dpkg-deb -f "$deb" Maintainer)', TCPTUNE_DEB_MAINTAINER is '$maintainer'"
check
[[ $(dpkg-deb -f "$deb" Maintainer) != *@localhost* ]] || fail "Maintainer is at localhost"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libstdc++6 libsystemd0 libnl-3-200 libsdbus-c++ libyaml-cpp libspdlog \
    libprometheus-cpp libmicrohttpd; do
    check
    grep -q "$lib" <<<"$depends" || fail "Depends does not name $lib (shlibdeps): $depends"
done
conffiles=$(dpkg-deb -I "$deb" conffiles 2>/dev/null)
check
grep -qxF /etc/tcptune/tcptune.yaml <<<"$conffiles" ||
    fail "/etc/tcptune/tcptune.yaml is not a conffile (conffiles: $conffiles)"
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for path in /usr/bin/tcptune /usr/sbin/tcptuned /etc/tcptune/tcptune.yaml \
    /usr/lib/systemd/system/tcptune.service /usr/share/dbus-1/system.d/net.tcptune.conf \
    /usr/share/tcptune/profiles/default.yaml /usr/share/man/man1/tcptune.1.gz \
    /usr/share/man/man8/tcptuned.8.gz /usr/share/man/man5/tcptune-profile.5.gz \
    /usr/share/bash-completion/completions/tcptune /usr/share/doc/tcptune/copyright \
    /usr/share/doc/tcptune/changelog.gz /usr/share/polkit-1/actions/net.tcptune.policy; do
    check
    grep -qxF "$path" <<<"$contents" || fail "the package does not contain $path"
done
check
bad=$(grep -E '^/usr/local|/build-|/tests/' <<<"$contents")
[[ -z $bad ]] || fail "the package contains files it should not: $bad"

# --- Install.
if ! dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
    cat "$work/dpkg.log"
    installed=1
    echo "FAIL: dpkg -i failed"
    exit 1
fi
installed=1

check
[[ $(/usr/sbin/tcptuned --version) == "tcptuned $version" ]] ||
    fail "installed tcptuned --version says '$(/usr/sbin/tcptuned --version)'"
check
[[ $(/usr/bin/tcptune --version) == "tcptune $version" ]] ||
    fail "installed tcptune --version says '$(/usr/bin/tcptune --version)'"
check
if ! out=$(/usr/bin/tcptune profile check /usr/share/tcptune/profiles/*.yaml 2>&1); then
    fail "tcptune profile check rejects installed profiles: $out"
fi
check
n=$(grep -c ': ok' <<<"$out")
shipped=$(find /usr/share/tcptune/profiles -name '*.yaml' | wc -l)
[[ $n -eq $shipped && $n -ge 5 ]] || fail "profile check said ok for $n of $shipped profiles: $out"
# The installed CLI finds the installed profiles by name (default search path).
check
/usr/bin/tcptune profiles | grep -q '^web-frontend ' ||
    fail "installed 'tcptune profiles' does not list web-frontend from /usr/share"

# The installed daemon runs: default config, default profile from
# /usr/share/tcptune/profiles, advice mode (writes nothing), in a private
# network namespace so the host's sysctls are never in reach.
check
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    unshare -n timeout --preserve-status -s TERM 3 /usr/sbin/tcptuned --advise --bus none \
        --metrics-address none --state-dir "$work/state" --interval 0.5 >"$work/daemon.log" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]] || ! grep -q "ready" "$work/daemon.log"; then
        cat "$work/daemon.log"
        fail "installed tcptuned did not start, poll and stop cleanly (exit $rc)"
    fi
else
    echo "note: unshare -n unavailable; installed daemon not started"
fi

# Man pages where man(1) finds them, rendering without warnings. (Minimal
# container images tell dpkg not to unpack man pages at all; then there is
# nothing to check on this machine.)
man_pages=(tcptune:1 tcptuned:8 tcptune-profile:5)
if grep -rqs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/; then
    echo "note: dpkg is configured to skip /usr/share/man here; installed man pages not checked"
    man_pages=()
fi
for page in "${man_pages[@]}"; do
    name=${page%:*}
    section=${page#*:}
    check
    found=$(man -w "$section" "$name" 2>/dev/null)
    if [[ $found != /usr/share/man/man$section/$name.$section.gz ]]; then
        fail "man -w $section $name finds '$found'"
    else
        warnings=$(MANWIDTH=80 man --warnings -l "$found" 2>&1 >/dev/null)
        [[ -z $warnings ]] || fail "installed $name($section) renders with warnings: $warnings"
    fi
done

# Bash completion, loaded the way bash-completion loads it.
check
completion=$(bash -c 'source /usr/share/bash-completion/completions/tcptune && complete -p tcptune' 2>&1)
[[ $completion == "complete -F _tcptune tcptune" ]] ||
    fail "installed completion does not register for tcptune: $completion"

# The unit runs the installed daemon; the bus policy lets root own the name.
unit=/usr/lib/systemd/system/tcptune.service
check
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[[ $exec_start == /usr/sbin/tcptuned && -x $exec_start ]] ||
    fail "$unit has ExecStart=$exec_start, not the installed /usr/sbin/tcptuned"
check
grep -q 'own="net.tcptune"' /usr/share/dbus-1/system.d/net.tcptune.conf ||
    fail "bus policy missing or does not let root own net.tcptune"
check
[[ -d /etc/tcptune/profiles ]] || fail "postinst did not create /etc/tcptune/profiles"

# Licence and history where Debian tools look: a DEP-5 copyright file and a
# changelog whose latest entry is this version.
check
head -n 1 /usr/share/doc/tcptune/copyright | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
    grep -q '^License: BSD-2-Clause' /usr/share/doc/tcptune/copyright ||
    fail "/usr/share/doc/tcptune/copyright is not the DEP-5 BSD-2-Clause file"
check
logged=$(zcat /usr/share/doc/tcptune/changelog.gz | sed -n '1s/^tcptune (\([^)]*\)) .*/\1/p')
[[ $logged == "$version" ]] ||
    fail "changelog.gz's latest entry is '$logged', the package is $version"
# The polkit action where polkitd reads actions.
check
grep -q 'id="net.tcptune.manage"' /usr/share/polkit-1/actions/net.tcptune.policy 2>/dev/null ||
    fail "the polkit action net.tcptune.manage is not installed"

# postinst recorded (deb-systemd-helper update-state) the link enabling makes,
# so purge removes it even when an administrator enabled the unit by hand.
wants_link=/etc/systemd/system/multi-user.target.wants/tcptune.service
dsh_state=/var/lib/systemd/deb-systemd-helper-enabled/tcptune.service.dsh-also
check
grep -qxF "$wants_link" "$dsh_state" 2>/dev/null ||
    fail "postinst did not record $wants_link in $dsh_state"
enabled_by_hand=0
if [[ ! -e $wants_link ]] && systemctl enable tcptune.service >/dev/null 2>&1; then
    enabled_by_hand=1
fi

# --- Remove keeps an edited conffile; purge removes everything.
echo "# edited by the package test" >>/etc/tcptune/tcptune.yaml
check
if dpkg -r tcptune >"$work/remove.log" 2>&1; then
    [[ ! -e /usr/bin/tcptune && ! -e /usr/sbin/tcptuned ]] || fail "dpkg -r left the binaries"
    grep -q "edited by the package test" /etc/tcptune/tcptune.yaml 2>/dev/null ||
        fail "dpkg -r did not keep the edited conffile /etc/tcptune/tcptune.yaml"
else
    cat "$work/remove.log"
    fail "dpkg -r tcptune failed"
fi
check
if dpkg --purge tcptune >"$work/purge.log" 2>&1; then
    installed=0
    if ((!etc_existed)) && [[ -e /etc/tcptune ]]; then
        fail "dpkg --purge left /etc/tcptune: $(ls -R /etc/tcptune)"
    fi
    [[ ! -e /etc/tcptune/tcptune.yaml ]] || fail "dpkg --purge left the conffile"
    left=$(for p in $contents; do [[ -f $p ]] && echo "$p"; done)
    [[ -z $left ]] || fail "files left after purge: $left"
    dpkg-query -W tcptune >/dev/null 2>&1 && fail "dpkg still knows tcptune after purge"
    check
    [[ ! -e $dsh_state ]] || fail "dpkg --purge left $dsh_state"
    if ((enabled_by_hand)); then
        check
        [[ ! -L $wants_link ]] || fail "dpkg --purge left the enablement link $wants_link"
    fi
else
    cat "$work/purge.log"
    fail "dpkg --purge tcptune failed"
fi

finish
