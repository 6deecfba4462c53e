#pragma once

// Where TCP pressure is: one listener's queues, the ephemeral ports towards one
// destination, peers that stopped answering, kernel counters as rates. Totals per
// state are context; these are what rules and views act on (docs/diagnosis.md).
//
// Plain data. PressureCollector (pressure_collector.hpp) fills the socket-table
// parts in the census's own dump; RateTracker (counter_rates.hpp) the rates from
// successive polls. Each part is optional: only what a SignalRequest asked for is
// computed, so a profile that only counts states pays nothing for the rest.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tcptune/census/endpoint.hpp"
#include "tcptune/enum_names.hpp"

namespace tcptune {

// What one poll should compute besides the state counts.
struct SignalRequest {
    bool listeners = false;     // per-listener accept and SYN queues
    bool destinations = false;  // ephemeral-port occupancy per destination
    bool dead_peers = false;    // keepalive / retransmission timer evidence
    bool rates = false;         // counter rates and the retransmission ratio
    std::size_t top_k = 10;     // entries kept per list (views, metrics)
    // Distinct destinations tracked exactly before the table turns approximate.
    std::size_t destination_capacity = 1024;

    bool sockets() const { return listeners || destinations || dead_peers; }
    bool any() const { return sockets() || rates; }
    SignalRequest& operator|=(const SignalRequest& other);
    bool operator==(const SignalRequest&) const = default;
};

// One listening address:port with its two queues. SO_REUSEPORT groups bound to the
// same address:port are one entry (queues and limits summed; `sockets` says how many).
struct ListenerQueues {
    Endpoint local;               // address:port it listens on
    std::uint32_t queued = 0;     // accept queue: completed connections not accepted yet
    std::uint32_t backlog = 0;    // sk_max_ack_backlog = min(listen() backlog, somaxconn)
    std::uint32_t syn_queue = 0;  // request sockets (SYN_RECV) of this listener
    std::uint32_t sockets = 1;    // listening sockets in the entry
    std::uint32_t inode = 0;      // of the first socket

    // The kernel refuses new connections once queued > backlog (sk_acceptq_is_full).
    bool full() const { return queued > backlog; }
    // Request sockets are bounded by the same backlog (inet_csk_reqsk_queue_is_full:
    // `>=` in older kernels, `>` in newer ones); at the limit, new SYNs get cookies
    // (tcp_syncookies=1) or are dropped (0).
    bool syn_queue_full() const { return syn_queue >= backlog && syn_queue > 0; }
    double accept_fill() const;  // queued / backlog
    double syn_fill() const;     // syn_queue / backlog
    bool operator==(const ListenerQueues&) const = default;
};

struct ListenerSignals {
    std::uint64_t listeners = 0;    // LISTEN sockets seen
    std::uint64_t with_queue = 0;   // entries with a non-empty accept or SYN queue
    std::uint64_t accept_full = 0;  // ... whose accept queue is full
    std::uint64_t syn_full = 0;     // ... whose SYN queue is full
    // Every entry with a non-empty queue (up to the collector's cap), fullest first
    // (by the larger of the two fills).
    std::vector<ListenerQueues> filling;
    bool capped = false;  // more listeners than the collector tracks
    // Request sockets whose listener was not in the dump (closed meanwhile).
    std::uint64_t syn_recv_unattributed = 0;
    // Every port a LISTEN socket uses, ascending (the gate keeps a wider
    // ip_local_port_range off them).
    std::vector<std::uint16_t> ports;

    const ListenerQueues* find(const Endpoint& local) const;
    bool operator==(const ListenerSignals&) const = default;
};

// Sockets holding an ephemeral port towards one (local address, remote address,
// remote port): a connect() to it fails with EADDRNOTAVAIL once they hold every
// usable port (fewer with tcp_tw_reuse, which lets connect() take over a
// TIME_WAIT port).
struct DestinationPorts {
    Endpoint local;   // address only
    Endpoint remote;  // address and port
    std::uint64_t sockets = 0;
    std::uint64_t error = 0;  // sockets is an upper bound; sockets - error a lower one
    double occupancy = 0.0;   // sockets / usable ports
    bool operator==(const DestinationPorts&) const = default;
};

struct DestinationSignals {
    std::uint16_t range_low = 0;  // net.ipv4.ip_local_port_range
    std::uint16_t range_high = 0;
    std::uint32_t usable = 0;            // the range minus ip_local_reserved_ports
    std::uint64_t sockets_in_range = 0;  // sockets counted, all destinations
    std::uint32_t ports_in_use = 0;      // distinct local ports among them
    std::vector<DestinationPorts> top;   // most occupied first
    bool exact = true;                   // false: more destinations than the table holds
    std::size_t distinct = 0;            // destinations tracked

    const DestinationPorts* find(const Endpoint& local, const Endpoint& remote) const;
    // Ports held one socket each, nearly all of them in use, no destination near
    // the limit: sockets bound with bind() before connect() hold a port each
    // whatever the destination (the fix is IP_BIND_ADDRESS_NO_PORT).
    bool looks_like_bind_before_connect() const;
    bool operator==(const DestinationSignals&) const = default;
};

// Sockets whose timers say the peer does not answer (sock_diag's idiag_timer and
// idiag_retrans, no INET_DIAG_INFO needed).
struct PeerCount {
    Endpoint peer;  // remote address
    std::uint64_t sockets = 0;
    bool operator==(const PeerCount&) const = default;
};

struct DeadPeerSignals {
    std::uint64_t keepalive_unanswered = 0;  // keepalive timer with probes sent unanswered
    std::uint64_t retransmitting = 0;        // retransmission timer after >= 1 retransmit
    std::uint64_t zero_window = 0;           // zero-window probes unanswered
    std::vector<PeerCount> top_peers;        // most such sockets first
    std::uint64_t total() const { return keepalive_unanswered + retransmitting + zero_window; }
    bool operator==(const DeadPeerSignals&) const = default;
};

struct NetstatCounters;

// Kernel counters a rule can watch as a rate (per second between two polls).
enum class RateCounter {
    kListenOverflows,
    kListenDrops,
    kReqqFullDoCookies,
    kReqqFullDrop,
    kSyncookiesSent,
    kSyncookiesRecv,
    kSyncookiesFailed,
    kTimewaitOverflows,
    kAbortOnTimeout,
    kAbortOnMemory,
    kAbortOnData,
    kSynRetrans,
    kRetransSegs,
    kOutSegs,
};
inline constexpr std::size_t kRateCounterCount = 14;
inline constexpr std::array<RateCounter, kRateCounterCount> kAllRateCounters =
    all_values<RateCounter, kRateCounterCount>();
static_assert(kAllRateCounters.back() == RateCounter::kOutSegs);
// "reqq_full_drop" (profiles, metrics labels) and "TCPReqQFullDrop" (the kernel's name).
std::string_view rate_counter_name(RateCounter c);
std::string_view rate_counter_kernel_name(RateCounter c);
std::optional<RateCounter> parse_rate_counter(std::string_view name);
// The counter's value in /proc/net/netstat's TcpExt; nullopt for the Tcp segment
// counters (RetransSegs, OutSegs: /proc/net/snmp) and for one the kernel lacks.
std::optional<std::uint64_t> netstat_counter_value(const NetstatCounters& n, RateCounter c);

struct CounterRates {
    double seconds = 0;  // between the two samples
    std::array<std::optional<double>, kRateCounterCount> per_second{};
    // RetransSegs / OutSegs between the two samples (nullopt when nothing was sent).
    std::optional<double> retrans_ratio;
    std::optional<double> rate(RateCounter c) const {
        return per_second[static_cast<std::size_t>(c)];
    }
    bool operator==(const CounterRates&) const = default;
};

struct PressureSignals {
    std::optional<ListenerSignals> listeners;
    std::optional<DestinationSignals> destinations;
    std::optional<DeadPeerSignals> dead_peers;
    std::optional<CounterRates> rates;  // nullopt on a first poll
    bool operator==(const PressureSignals&) const = default;
};

}  // namespace tcptune
