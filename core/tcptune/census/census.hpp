#pragma once

// The census seam: everything that consumes socket counts (daemon loop, rule engine,
// metrics, status) takes a CensusSource, so tests can script snapshots
// (tests/fakes/fake_census.hpp) and production uses the netlink implementation.

#include <filesystem>
#include <memory>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

class CensusSource {
  public:
    virtual ~CensusSource() = default;
    // One census of the current network namespace: exact per-state counts (IPv4 and
    // IPv6 together), TcpExt counters and the sockstat summary.
    virtual Result<CensusSnapshot> poll() = 0;
    // Engines that count incrementally check themselves against a full dump at
    // the next poll (tcptune reload asks for it); a dump-per-poll engine ignores it.
    virtual void request_reconciliation() {}
};

struct NetlinkCensusOptions {
    // Where sockstat, sockstat6 and netstat are read from.
    std::filesystem::path proc_net_dir = "/proc/net";
    // Total attempts when the kernel flags a dump as interrupted (NLM_F_DUMP_INTR).
    int max_dump_attempts = 3;
};

// The real census: a long-lived sock_diag socket plus the /proc/net readers.
// Fails (a value) when the netlink socket cannot be opened.
Result<std::unique_ptr<CensusSource>> make_netlink_census_source(NetlinkCensusOptions options = {});

}  // namespace tcptune
