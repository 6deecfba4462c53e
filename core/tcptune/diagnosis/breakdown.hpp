#pragma once

// Diagnosis: who holds the sockets. A breakdown is computed in the same single
// streaming pass over the sock_diag dump as the census (BreakdownCollector is the
// per-socket visitor of netlink_diag_parser.hpp), with bounded memory: every table
// is a fixed-capacity space-saving top-k (top_k.hpp), allocated once up front, so
// nothing allocates per socket. Counts are exact while the distinct keys fit the
// capacity; a table says when they are approximate.
//
// Use:
//   auto b = take_breakdown(TcpState::kTimeWait);               // opens its own socket
//   auto b = take_breakdown(census, options);                   // reuses a NetlinkCensus
//   // or, inside a poll loop, one dump for counts AND breakdown:
//   BreakdownCollector collector(options);
//   auto snapshot = census.poll_with(collector);
//   auto b = collector.finish(*snapshot);
// hint()/hints() in diagnosis.hpp turn a Breakdown into "why" sentences.

#include <linux/inet_diag.h>
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/census/endpoint.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/diagnosis/top_k.hpp"
#include "tcptune/pressure/pressure_collector.hpp"
#include "tcptune/pressure/pressure_signals.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

class NetlinkCensus;

// One row of a top table.
struct TopEntry {
    Endpoint key;
    std::uint64_t count = 0;  // exact when the table is exact; else an upper bound
    std::uint64_t error = 0;  // count - error is a lower bound (0 when exact)
    double share = 0.0;       // count / sockets in the state
};

struct TopTable {
    std::vector<TopEntry> entries;  // largest first, at most BreakdownOptions::top_n
    bool exact = true;              // false: more distinct keys than `capacity` were seen
    std::size_t capacity = 0;
    std::size_t distinct = 0;  // distinct keys tracked (== seen when exact)
};

// Who holds sockets of a state, from /proc/<pid>/fd (process_map.hpp).
struct ProcessOwner {
    pid_t pid = 0;
    std::string comm;  // /proc/<pid>/comm
    std::uint16_t local_port = 0;
    std::uint64_t count = 0;  // sockets of the state this process holds on the port
    double share = 0.0;       // count / sockets in the state
};

struct ProcessBreakdown {
    std::vector<ProcessOwner> owners;  // largest first, at most top_n
    // Sockets whose inode was collected (at most BreakdownOptions::max_process_inodes).
    std::uint64_t sockets_examined = 0;
    // Sockets with no inode: not attached to any file (TIME_WAIT, SYN_RECV, orphans,
    // connections still waiting in a listen queue). No process can be named for them.
    std::uint64_t without_owner = 0;
    // Sockets with an inode that no readable /proc/<pid>/fd links to (another PID
    // namespace, a process we may not inspect, or closed meanwhile).
    std::uint64_t unmatched = 0;
    // True when the state had more sockets with inodes than max_process_inodes; the
    // owners then describe a sample.
    bool capped = false;
    std::uint64_t processes_scanned = 0;
    std::uint64_t processes_unreadable = 0;  // /proc/<pid>/fd we could not list
};

struct StateBreakdown {
    TcpState state = TcpState::kTimeWait;
    std::uint64_t total = 0;  // sockets in the state (exact)
    TopTable local_ports;     // key: bare port
    TopTable peers;           // key: remote address
    TopTable peer_services;   // key: remote address:port ("towards 10.0.0.5:5432")
    TopTable peer_prefixes;   // key: remote /24 (IPv4) or /64 (IPv6); only with by_prefix
    std::optional<ProcessBreakdown> processes;  // only with by_process
};

struct ListenBreakdown {
    std::uint64_t listeners = 0;           // LISTEN sockets seen
    std::uint64_t listeners_queued = 0;    // ... with a non-empty accept or SYN queue
    std::uint64_t listeners_full = 0;      // ... whose accept queue is full
    std::uint64_t listeners_syn_full = 0;  // ... whose SYN queue is full
    // Every listener with a non-empty accept or SYN queue, fullest first (views show
    // the first top_n).
    std::vector<ListenerQueues> filling;
    std::uint64_t syn_recv_unattributed = 0;  // request sockets of no listener in the dump
    std::uint64_t listen_overflows = 0;       // TcpExt ListenOverflows (since boot)
    std::uint64_t listen_drops = 0;           // TcpExt ListenDrops
    // ListenOverflows per second over BreakdownOptions::trend_interval, when sampled.
    std::optional<double> listen_overflows_per_second;
    std::optional<double> trend_seconds;  // the interval actually measured
};

struct Breakdown {
    StateCounts counts;                  // the full census of the same dump
    std::vector<StateBreakdown> states;  // in BreakdownOptions::states order
    ListenBreakdown listen;
    // Ephemeral-port occupancy per destination, with BreakdownOptions::destinations.
    std::optional<DestinationSignals> destinations;
    std::chrono::nanoseconds duration{0};  // dump + breakdown (+ /proc scan), no trend wait

    const StateBreakdown* find(TcpState s) const {
        for (const auto& b : states) {
            if (b.state == s) {
                return &b;
            }
        }
        return nullptr;
    }
};

// The focus states an operator asks about first.
inline constexpr std::array<TcpState, 3> kFocusStates = {TcpState::kTimeWait, TcpState::kCloseWait,
                                                         TcpState::kSynRecv};

struct BreakdownOptions {
    std::vector<TcpState> states{kFocusStates.begin(), kFocusStates.end()};
    std::size_t top_n = 10;
    // Counters per table: memory is O(capacity) per table whatever the socket count.
    std::size_t capacity = 1024;
    bool by_prefix = false;   // also fill peer_prefixes
    bool by_process = false;  // also map socket inodes to processes via /proc/<pid>/fd
    std::size_t max_process_inodes = 65536;  // inodes collected per breakdown, in total
    std::filesystem::path proc_root = "/proc";
    std::filesystem::path proc_net_dir = "/proc/net";  // for ListenOverflows
    // Also compute the per-destination ephemeral-port occupancy (reads
    // ip_local_port_range and ip_local_reserved_ports under proc_sys_dir).
    bool destinations = false;
    std::filesystem::path proc_sys_dir = "/proc/sys";
    // Sample ListenOverflows twice this far apart to give a rate (0: just the counter).
    std::chrono::milliseconds trend_interval{0};
};

// The per-socket visitor. Construct once (all memory is allocated here), pass to
// NetlinkCensus::poll_with / InetDiagSocket::count_tcp, then finish(). Reusable:
// reset() (called automatically when a dump is retried) clears it.
class BreakdownCollector {
  public:
    explicit BreakdownCollector(BreakdownOptions options);

    void operator()(const inet_diag_msg& msg, TcpState state) noexcept;
    void reset() noexcept;

    // Builds the breakdown from what was visited plus the census of the same dump;
    // with by_process also scans options.proc_root. Does not reset the collector.
    // With options.destinations, the port range must have been set (set_ports).
    Result<Breakdown> finish(const StateCounts& counts, const NetstatCounters& netstat) const;
    Result<Breakdown> finish(const CensusSnapshot& snapshot) const {
        return finish(snapshot.counts, snapshot.netstat);
    }

    const BreakdownOptions& options() const { return options_; }
    void set_ports(const EphemeralPorts& ports) { pressure_.set_ports(ports); }

  private:
    using Table = SpaceSavingTopK<Endpoint, EndpointHash>;
    struct PerState {
        TcpState state;
        Table local_ports;
        Table peers;
        Table peer_services;
        Table peer_prefixes;
        std::uint64_t without_inode = 0;
        std::uint64_t with_inode = 0;
    };
    struct InodeRecord {
        std::uint32_t inode;
        std::uint16_t local_port;
        std::uint8_t state_slot;
    };

    BreakdownOptions options_;
    std::array<std::int8_t, kTcpStateCount> slot_of_state_{};  // -1: not broken down
    std::vector<PerState> per_state_;
    std::vector<InodeRecord> inodes_;  // reserved to max_process_inodes up front
    bool inodes_capped_ = false;
    // Listener queues (SYN queues attributed from the same dump) and, on request,
    // destinations: the daemon's own collector, so `top` and the rules agree.
    PressureCollector pressure_;
};

// One dump of this network namespace broken down by options.states.
Result<Breakdown> take_breakdown(NetlinkCensus& census, const BreakdownOptions& options);
// Same, opening (and closing) its own sock_diag socket.
Result<Breakdown> take_breakdown(const BreakdownOptions& options);
// Convenience: one state with default options otherwise.
Result<Breakdown> take_breakdown(TcpState state, BreakdownOptions options = {});

}  // namespace tcptune
