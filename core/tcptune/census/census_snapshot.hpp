#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "tcptune/census/census_engine.hpp"
#include "tcptune/census/tcp_state.hpp"

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
    bool operator==(const NetstatCounters&) const = default;
};

// The TCP line of /proc/net/sockstat (and TCP6 "inuse").
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
    std::chrono::steady_clock::time_point taken_at{};
    std::chrono::nanoseconds duration{0};  // wall time the dump took
    CensusEngineReport engine;             // which engine counted, and its health
};

}  // namespace tcptune
