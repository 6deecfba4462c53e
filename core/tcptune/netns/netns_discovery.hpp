#pragma once

// Finding every network namespace on the host and naming it as an operator would:
// the `ip netns` names (/run/netns/*) and the namespaces of running processes
// (/proc/*/ns/net), deduplicated by the namespace's inode. Discovery only stats and
// reads small files; it never enters a namespace. A process or mount that vanishes
// while it is looked at is skipped, never an error.

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune {

// A namespace's identity while it lives: the nsfs inode (what `ip netns identify`,
// `lsns` and /proc/<pid>/ns/net show) and the nsfs device. The kernel reuses an inode
// number after the namespace is freed, so anything kept across polls must check a
// second identity too (see NetnsInfo::cookie).
struct NetnsId {
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
    auto operator<=>(const NetnsId&) const = default;
};

// The name of the namespace tcptune itself runs in.
inline constexpr std::string_view kOwnNetnsName = "host";

struct NetnsInfo {
    // "host", an `ip netns` name, a workload ("pod:<uid>", "docker:<id12>", ...) or
    // "pid:<N>"; unique within one discovery.
    std::string name;
    NetnsId id;
    bool own = false;           // the namespace tcptune runs in
    std::string ip_netns_name;  // its /run/netns name, if it has one
    std::optional<pid_t> pid;   // the lowest pid of a process in it, if any
    std::size_t processes = 0;  // processes seen in it
    std::string cgroup;         // cgroup path of `pid` ("" if unknown)
    // What to open to enter it: /run/netns/<name> or /proc/<pid>/ns/net.
    std::filesystem::path handle;
    // Its SO_NETNS_COOKIE, known once something entered it (a census), else 0. Never
    // reused while the system runs: (id, cookie) tells a namespace that got an old
    // one's inode from the old one.
    std::uint64_t cookie = 0;
};

struct NetnsDiscoveryOptions {
    std::filesystem::path proc_dir = "/proc";
    std::filesystem::path run_netns_dir = "/run/netns";
    // Bounds, so a host with a runaway process count costs a known amount.
    std::size_t max_processes = 1U << 20;
    std::size_t max_run_netns_entries = 65536;
};

// Every namespace, tcptune's own first (named "host"), then by name. Fails only when
// tcptune's own namespace or the /proc directory cannot be read.
Result<std::vector<NetnsInfo>> discover_namespaces(const NetnsDiscoveryOptions& options = {});

// `--netns` on the command line: "all", an `ip netns`/workload name (or "host"), an
// inode (as lsns prints it), a pid or a path to a namespace file. A pid or path that discovery did
// not list (a bind mount elsewhere) is returned as a namespace of its own. kNotFound when nothing
// matches.
Result<std::vector<NetnsInfo>> select_namespaces(const std::vector<NetnsInfo>& discovered,
                                                 std::string_view spec,
                                                 const NetnsDiscoveryOptions& options = {});

// The identity of the namespace file at `path` (stat, following the /proc link).
Result<NetnsId> netns_id_of(const std::filesystem::path& path);

}  // namespace tcptune
