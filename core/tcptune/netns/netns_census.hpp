#pragma once

// Per-namespace TCP census. The engine is a seam: the sock_diag engine below enters
// each namespace on a worker thread; a BPF engine that counts per (namespace inode,
// state) in the kernel can replace it behind the same interface.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

struct NamespaceCounts {
    NetnsInfo ns;
    StateCounts counts;        // exact, IPv4 + IPv6
    SockstatSummary sockstat;  // tcp_inuse, tcp_tw and tcp6_inuse are this namespace's
    std::chrono::nanoseconds duration{0};
};

struct NamespaceFailure {
    NetnsInfo ns;
    Error error;
};

struct NamespaceCensusReport {
    std::vector<NamespaceCounts> namespaces;  // in the order asked for
    // Gone between discovery and census (normal on a busy node): not an error.
    std::vector<NetnsInfo> vanished;
    std::vector<NamespaceFailure> failed;
    std::chrono::nanoseconds duration{0};
};

class NamespaceCensusEngine {
  public:
    virtual ~NamespaceCensusEngine() = default;
    virtual std::string_view name() const = 0;
    // One census of each namespace. Fails as a whole only when the engine itself
    // cannot run; a namespace that vanished or failed is reported in the report.
    virtual Result<NamespaceCensusReport> count(std::span<const NetnsInfo> namespaces) = 0;
};

// Runs `round` on a thread of its own and returns what it returned: that thread may
// setns() (which changes the calling thread only); the caller's never changes
// namespace. An exception becomes a kInternal error.
Result<NamespaceCensusReport> run_on_census_thread(
    const std::function<Result<NamespaceCensusReport>()>& round);

struct SetnsCensusOptions {
    std::filesystem::path proc_dir = "/proc";
    // Take TIME_WAIT from the namespace's sockstat ("tw", O(1)) and leave it out of the
    // dump, so the dump serializes only the other states. Off: TIME_WAIT is dumped too.
    bool time_wait_from_sockstat = true;
    int max_dump_attempts = 3;
};

// The sock_diag engine: one worker thread per count() enters each namespace in turn
// (setns is per thread, so the caller's thread never changes namespace), opens a
// NETLINK_SOCK_DIAG socket there and dumps IPv4 and IPv6. Needs CAP_SYS_ADMIN for
// namespaces other than the caller's own.
std::unique_ptr<NamespaceCensusEngine> make_setns_census_engine(SetnsCensusOptions options = {});

// A namespace's sockstat read without entering it: /proc/<pid>/net/sockstat of a
// process in it, checked to still be in that namespace after the read. kNotFound when
// the namespace has no process (then only entering it can read its sockstat) or the
// process moved or exited.
Result<SockstatSummary> read_namespace_sockstat(const NetnsInfo& ns,
                                                const std::filesystem::path& proc_dir = "/proc");

}  // namespace tcptune
