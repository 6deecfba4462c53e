#pragma once

// Computes the socket-table signals of pressure_signals.hpp in the census's own
// sock_diag dump: a per-socket visitor for parse_inet_diag_datagram (like
// BreakdownCollector), with every table allocated once up front so nothing
// allocates per socket.
//
// What it reads from each inet_diag_msg (no extension needed):
//  - LISTEN: idiag_rqueue = accept queue length, idiag_wqueue = sk_max_ack_backlog
//    (tcp_diag_get_info);
//  - request sockets (reported as SYN_RECV): the *listener's* local address:port
//    (inet_req_diag_fill), which attributes each to its listener's SYN queue;
//  - connections with a local port in the ephemeral range: (local address,
//    remote address, remote port) for the per-destination occupancy;
//  - idiag_timer / idiag_retrans: 2 = keepalive (probes sent), 1 = retransmit
//    (retransmissions), 4 = zero-window probe (probes sent) (inet_sk_diag_fill).
//
// The kernel dumps a family's listeners before its connections, so a listening
// port is known before the connections accepted on it, which are left out of the
// destination counts even when the listening port lies inside the ephemeral range.

#include <linux/inet_diag.h>

#include <cstddef>
#include <memory>

#include "tcptune/census/tcp_state.hpp"
#include "tcptune/pressure/ephemeral_ports.hpp"
#include "tcptune/pressure/pressure_signals.hpp"

namespace tcptune {

struct PressureCollectorOptions {
    SignalRequest request;
    EphemeralPorts ports;  // used when request.destinations
    // Listening addresses tracked (the entries with queues are a subset).
    std::size_t max_listeners = 4096;
    // Distinct remote addresses tracked for dead-peer evidence.
    std::size_t peer_capacity = 256;
};

class PressureCollector {
  public:
    explicit PressureCollector(PressureCollectorOptions options);
    ~PressureCollector();
    PressureCollector(PressureCollector&&) noexcept;
    PressureCollector& operator=(PressureCollector&&) noexcept;

    void operator()(const inet_diag_msg& msg, TcpState state) noexcept;
    // Called by the dump before a retry (NLM_F_DUMP_INTR).
    void reset() noexcept;

    // Fills the parts the request asked for (listeners, destinations, dead_peers);
    // leaves the others untouched.
    void finish(PressureSignals& out) const;

    const PressureCollectorOptions& options() const;
    // The port range and reserved ports can change between polls.
    void set_ports(const EphemeralPorts& ports);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcptune
