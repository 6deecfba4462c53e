#include "tcptune/pressure/pressure_signals.hpp"

#include <algorithm>

#include "tcptune/census/census_snapshot.hpp"

namespace tcptune {

namespace {

// A TcpExt counter's value in NetstatCounters (always read, or read when the kernel has it).
template <std::uint64_t NetstatCounters::*Field>
std::optional<std::uint64_t> netstat_field(const NetstatCounters& n) {
    return n.*Field;
}
template <std::optional<std::uint64_t> NetstatCounters::*Field>
std::optional<std::uint64_t> netstat_optional_field(const NetstatCounters& n) {
    return n.*Field;
}

// Every counter a rule can read, once: its profile word, the kernel's name, and
// where NetstatCounters holds it (nullptr: a Tcp segment counter of /proc/net/snmp).
struct CounterSpec {
    std::string_view profile;
    std::string_view kernel;
    std::optional<std::uint64_t> (*netstat)(const NetstatCounters&);
};

constexpr std::array<CounterSpec, kRateCounterCount> kRateCounters = {{
    {"listen_overflows", "ListenOverflows", &netstat_field<&NetstatCounters::listen_overflows>},
    {"listen_drops", "ListenDrops", &netstat_field<&NetstatCounters::listen_drops>},
    {"reqq_full_do_cookies", "TCPReqQFullDoCookies",
     &netstat_field<&NetstatCounters::reqq_full_do_cookies>},
    {"reqq_full_drop", "TCPReqQFullDrop", &netstat_field<&NetstatCounters::reqq_full_drop>},
    {"syncookies_sent", "SyncookiesSent", &netstat_field<&NetstatCounters::syncookies_sent>},
    {"syncookies_recv", "SyncookiesRecv", &netstat_field<&NetstatCounters::syncookies_recv>},
    {"syncookies_failed", "SyncookiesFailed", &netstat_field<&NetstatCounters::syncookies_failed>},
    {"timewait_overflows", "TCPTimeWaitOverflow",
     &netstat_field<&NetstatCounters::timewait_overflows>},
    {"abort_on_timeout", "TCPAbortOnTimeout",
     &netstat_optional_field<&NetstatCounters::abort_on_timeout>},
    {"abort_on_memory", "TCPAbortOnMemory",
     &netstat_optional_field<&NetstatCounters::abort_on_memory>},
    {"abort_on_data", "TCPAbortOnData", &netstat_optional_field<&NetstatCounters::abort_on_data>},
    {"syn_retrans", "TCPSynRetrans", &netstat_optional_field<&NetstatCounters::syn_retrans>},
    {"retrans_segs", "RetransSegs", nullptr},
    {"out_segs", "OutSegs", nullptr},
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
    return kRateCounters[static_cast<std::size_t>(c)].profile;
}

std::string_view rate_counter_kernel_name(RateCounter c) {
    return kRateCounters[static_cast<std::size_t>(c)].kernel;
}

std::optional<std::uint64_t> netstat_counter_value(const NetstatCounters& n, RateCounter c) {
    auto* read = kRateCounters[static_cast<std::size_t>(c)].netstat;
    return read ? read(n) : std::nullopt;
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
