#pragma once

// The netlink-backed CensusSource. Exposed (not only through the factory in
// census.hpp) so diagnosis code can run the same dump with its own per-socket
// visitor: census.poll_with(visitor) counts exactly like poll() and also hands every
// inet_diag_msg to the visitor, without per-socket allocation.

#include <chrono>
#include <memory>
#include <optional>

#include "tcptune/census/census.hpp"
#include "tcptune/census/netlink_diag_socket.hpp"
#include "tcptune/census/proc_net.hpp"
#include "tcptune/pressure/pressure_collector.hpp"

namespace tcptune {

class NetlinkCensus final : public CensusSource {
  public:
    static Result<std::unique_ptr<NetlinkCensus>> open(NetlinkCensusOptions options = {});

    Result<CensusSnapshot> poll() override { return poll_with(NoSocketVisitor{}); }
    // One dump for the counts and the requested signals (PressureCollector); an
    // empty request is the plain census.
    Result<CensusSnapshot> poll_for(const SignalRequest& request) override;

    // `visit(const inet_diag_msg&, TcpState)` is called once per socket; if the dump
    // has to be retried, visit.reset() (when it exists) is called first.
    template <typename Visitor>
    Result<CensusSnapshot> poll_with(Visitor&& visit);

    // Counts only, without the /proc/net files; optionally only the kernel states
    // of `state_mask` (the bpf engine's seeding dump skips timewait and request
    // sockets, which it does not seed).
    template <typename Visitor>
    Result<StateCounts> count_with(Visitor&& visit, std::uint32_t state_mask = kTcpDumpStateMask) {
        return socket_.count_tcp(visit, options_.max_dump_attempts, state_mask);
    }

  private:
    NetlinkCensus(InetDiagSocket socket, NetlinkCensusOptions options)
        : socket_(std::move(socket)), options_(std::move(options)) {}

    InetDiagSocket socket_;
    NetlinkCensusOptions options_;
    // Kept between polls so its tables are allocated once per request shape.
    std::optional<PressureCollector> collector_;
};

template <typename Visitor>
Result<CensusSnapshot> NetlinkCensus::poll_with(Visitor&& visit) {
    CensusSnapshot snapshot;
    snapshot.taken_at = std::chrono::steady_clock::now();
    TRY_ASSIGN(snapshot.counts, socket_.count_tcp(visit, options_.max_dump_attempts));
    TRY_ASSIGN(snapshot.netstat, read_netstat(options_.proc_net_dir));
    TRY_ASSIGN(snapshot.sockstat, read_sockstat(options_.proc_net_dir));
    snapshot.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - snapshot.taken_at);
    return snapshot;
}

}  // namespace tcptune
