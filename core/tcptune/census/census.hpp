#pragma once

// The census seam: everything that consumes socket counts (daemon loop, rule engine,
// metrics, status) takes a CensusSource, so tests can script snapshots
// (tests/fakes/fake_census.hpp) and production uses the netlink implementation.

#include <filesystem>
#include <memory>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/pressure/pressure_signals.hpp"
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
    // The same census plus the socket-table signals `request` asks for (listeners,
    // destinations, dead peers) and, with request.rates, the segment counters the
    // retransmission ratio needs. Rates themselves need two polls: see RateTracker.
    // Sources that cannot compute signals return the plain census.
    virtual Result<CensusSnapshot> poll_for(const SignalRequest& request) {
        (void)request;
        return poll();
    }
};

struct NetlinkCensusOptions {
    // Where sockstat, sockstat6 and netstat are read from.
    std::filesystem::path proc_net_dir = "/proc/net";
    // Where ip_local_port_range and ip_local_reserved_ports are read from.
    std::filesystem::path proc_sys_dir = "/proc/sys";
    // Total attempts when the kernel flags a dump as interrupted (NLM_F_DUMP_INTR).
    int max_dump_attempts = 3;
};

// The real census: a long-lived sock_diag socket plus the /proc/net readers.
// Fails (a value) when the netlink socket cannot be opened.
Result<std::unique_ptr<CensusSource>> make_netlink_census_source(NetlinkCensusOptions options = {});

}  // namespace tcptune
