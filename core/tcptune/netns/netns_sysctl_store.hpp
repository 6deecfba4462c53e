#pragma once

// Reading and writing the net.* sysctls of ANOTHER network namespace.
//
// /proc/sys/net/* resolves in the namespace of the calling thread: the kernel's
// net_ctl_header_lookup (net/sysctl_net.c) returns current->nsproxy->net_ns's table
// set, whatever /proc was mounted by. So every operation runs on a short-lived worker
// thread that has setns()'d into the target (run_in_namespace, netns_enter.hpp); the
// caller's thread never changes namespace. The namespace file is opened for that one
// operation and closed after it (a kept descriptor would pin a namespace that has
// otherwise gone), and its identity is checked against the one discovery saw: a
// different namespace behind the same name or a recycled inode is never written to.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// The namespace's cookie (SO_NETNS_COOKIE, read on a thread inside it; Linux 5.14+):
// unlike the inode it is never reused while the system runs, so it tells a recycled
// inode from the namespace a journal was written for. 0 when the kernel does not
// have it; kNotFound when the namespace is gone.
Result<std::uint64_t> read_netns_cookie(const NetnsInfo& ns);

// A SysctlStore over /proc/sys as seen from inside `ns` (bounded reads, one checked
// write(2) and close, exactly as ProcSysctlStore: it is used inside the namespace).
// kNotFound when the namespace is gone.
class NetnsSysctlStore final : public SysctlStore {
  public:
    explicit NetnsSysctlStore(NetnsInfo ns);
    Result<std::string> read(std::string_view key) const override;
    Result<void> write(std::string_view key, std::string_view value) override;
    const NetnsInfo& ns() const { return ns_; }
    // A newer discovery of the same namespace (its handle may have changed).
    void set_ns(NetnsInfo ns) { ns_ = std::move(ns); }

  private:
    NetnsInfo ns_;
};

}  // namespace tcptune
