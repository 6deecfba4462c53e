#include "tcptune/pressure/pressure_signals.hpp"

#include <algorithm>

namespace tcptune {

namespace {

struct CounterNames {
    std::string_view profile;
    std::string_view kernel;
};

constexpr std::array<CounterNames, kRateCounterCount> kRateCounterNames = {{
    {"listen_overflows", "ListenOverflows"},
    {"listen_drops", "ListenDrops"},
    {"reqq_full_do_cookies", "TCPReqQFullDoCookies"},
    {"reqq_full_drop", "TCPReqQFullDrop"},
    {"syncookies_sent", "SyncookiesSent"},
    {"syncookies_recv", "SyncookiesRecv"},
    {"syncookies_failed", "SyncookiesFailed"},
    {"timewait_overflows", "TCPTimeWaitOverflow"},
    {"abort_on_timeout", "TCPAbortOnTimeout"},
    {"abort_on_memory", "TCPAbortOnMemory"},
    {"abort_on_data", "TCPAbortOnData"},
    {"syn_retrans", "TCPSynRetrans"},
    {"retrans_segs", "RetransSegs"},
    {"out_segs", "OutSegs"},
}};

double fill(std::uint32_t used, std::uint32_t limit) {
    if (limit == 0) {
        return used == 0 ? 0.0 : 1.0;
    }
    return static_cast<double>(used) / static_cast<double>(limit);
}

// Thresholds of the bind()-before-connect finding.
constexpr double kBindInUseShare = 0.8;      // of the usable ports in use
constexpr double kBindMaxDestination = 0.5;  // no destination above this occupancy
constexpr double kBindMaxSharing = 1.1;      // sockets per port in use

}  // namespace

SignalRequest& SignalRequest::operator|=(const SignalRequest& other) {
    listeners = listeners || other.listeners;
    destinations = destinations || other.destinations;
    dead_peers = dead_peers || other.dead_peers;
    rates = rates || other.rates;
    top_k = std::max(top_k, other.top_k);
    destination_capacity = std::max(destination_capacity, other.destination_capacity);
    return *this;
}

double ListenerQueues::accept_fill() const {
    return fill(queued, backlog);
}

double ListenerQueues::syn_fill() const {
    return fill(syn_queue, backlog);
}

const ListenerQueues* ListenerSignals::find(const Endpoint& local) const {
    for (const ListenerQueues& q : filling) {
        if (q.local == local) {
            return &q;
        }
    }
    return nullptr;
}

const DestinationPorts* DestinationSignals::find(const Endpoint& local,
                                                 const Endpoint& remote) const {
    for (const DestinationPorts& d : top) {
        if (d.local == local && d.remote == remote) {
            return &d;
        }
    }
    return nullptr;
}

bool DestinationSignals::looks_like_bind_before_connect() const {
    if (usable == 0 || ports_in_use == 0) {
        return false;
    }
    const double in_use = static_cast<double>(ports_in_use) / static_cast<double>(usable);
    const double sharing =
        static_cast<double>(sockets_in_range) / static_cast<double>(ports_in_use);
    const bool one_destination_near = !top.empty() && top.front().occupancy > kBindMaxDestination;
    return in_use >= kBindInUseShare && sharing <= kBindMaxSharing && !one_destination_near;
}

std::string_view rate_counter_name(RateCounter c) {
    return kRateCounterNames[static_cast<std::size_t>(c)].profile;
}

std::string_view rate_counter_kernel_name(RateCounter c) {
    return kRateCounterNames[static_cast<std::size_t>(c)].kernel;
}

std::optional<RateCounter> parse_rate_counter(std::string_view name) {
    for (RateCounter c : kAllRateCounters) {
        if (rate_counter_name(c) == name) {
            return c;
        }
    }
    return std::nullopt;
}

}  // namespace tcptune
