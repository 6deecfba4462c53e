#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "tcptune/census/census_engine.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/pressure/pressure_signals.hpp"

namespace tcptune {

// Exact per-state socket counts, IPv4 and IPv6 together.
struct StateCounts {
    std::array<std::uint64_t, kTcpStateCount> by_state{};

    std::uint64_t& operator[](TcpState s) { return by_state[state_index(s)]; }
    std::uint64_t operator[](TcpState s) const { return by_state[state_index(s)]; }
    std::uint64_t total() const {
        std::uint64_t sum = 0;
        for (auto n : by_state) {
            sum += n;
        }
        return sum;
    }
    bool operator==(const StateCounts&) const = default;
};

// TcpExt counters from /proc/net/netstat. Monotonic since boot (per namespace).
struct NetstatCounters {
    std::uint64_t listen_overflows = 0;
    std::uint64_t listen_drops = 0;
    std::uint64_t syncookies_sent = 0;
    std::uint64_t syncookies_recv = 0;
    std::uint64_t syncookies_failed = 0;
    std::uint64_t timewait_overflows = 0;    // TCPTimeWaitOverflow
    std::uint64_t reqq_full_drop = 0;        // TCPReqQFullDrop
    std::uint64_t reqq_full_do_cookies = 0;  // TCPReqQFullDoCookies
    // Read when the kernel has them (every supported kernel does); a kernel without
    // one leaves it unset and its rate is not computed rather than shown as 0.
    std::optional<std::uint64_t> abort_on_timeout;  // TCPAbortOnTimeout
    std::optional<std::uint64_t> abort_on_memory;   // TCPAbortOnMemory
    std::optional<std::uint64_t> abort_on_data;     // TCPAbortOnData
    std::optional<std::uint64_t> syn_retrans;       // TCPSynRetrans
    bool operator==(const NetstatCounters&) const = default;
};

// The Tcp section of /proc/net/snmp: segments sent and retransmitted (per namespace).
struct TcpSegmentCounters {
    std::uint64_t out_segs = 0;      // OutSegs
    std::uint64_t retrans_segs = 0;  // RetransSegs
    bool operator==(const TcpSegmentCounters&) const = default;
};

// The TCP line of /proc/net/sockstat (and TCP6 "inuse"). `inuse` and `tw` count this
// namespace's sockets; `orphan`, `alloc` and `mem` are host-wide (the kernel keeps one
// counter for all namespaces).
struct SockstatSummary {
    std::uint64_t tcp_inuse = 0;
    std::uint64_t tcp_orphan = 0;
    std::uint64_t tcp_tw = 0;
    std::uint64_t tcp_alloc = 0;
    std::uint64_t tcp_mem_pages = 0;
    std::uint64_t tcp6_inuse = 0;
    bool operator==(const SockstatSummary&) const = default;
};

// One poll's view of the namespace: what the rule engine, metrics and status consume.
struct CensusSnapshot {
    StateCounts counts;
    NetstatCounters netstat;
    SockstatSummary sockstat;
    // Read only when counter rates were requested (the retransmission ratio).
    std::optional<TcpSegmentCounters> segments;
    // Per-listener, per-destination and per-peer signals; only what the request
    // asked for (pressure/pressure_signals.hpp).
    PressureSignals pressure;
    std::chrono::steady_clock::time_point taken_at{};
    std::chrono::nanoseconds duration{0};  // wall time the dump took
    CensusEngineReport engine;             // which engine counted, and its health
};

}  // namespace tcptune
