#include "tcptune/diagnosis/breakdown.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <tuple>
#include <utility>

#include "tcptune/census/census_netlink.hpp"
#include "tcptune/census/proc_net.hpp"
#include "tcptune/diagnosis/process_map.hpp"

namespace tcptune {

namespace {

Endpoint prefix_of(Endpoint address) {
    const std::size_t keep = address.family == AF_INET ? 3 : 8;  // /24 or /64
    std::fill(address.address.begin() + static_cast<std::ptrdiff_t>(keep), address.address.end(),
              std::uint8_t{0});
    address.prefix_len = static_cast<std::uint8_t>(keep * 8);
    address.port = 0;
    return address;
}

Endpoint bare_port(std::uint16_t port) {
    Endpoint e;
    e.port = port;
    return e;
}

template <typename Table>
TopTable to_top_table(const Table& table, std::size_t top_n, std::uint64_t total) {
    TopTable out;
    out.exact = table.exact();
    out.capacity = table.capacity();
    out.distinct = table.size();
    for (const auto& c : table.top(top_n)) {
        TopEntry entry;
        entry.key = c.key;
        entry.count = c.count;
        entry.error = c.error;
        entry.share = total == 0 ? 0.0 : static_cast<double>(c.count) / static_cast<double>(total);
        out.entries.push_back(entry);
    }
    return out;
}

}  // namespace

namespace {
PressureCollectorOptions pressure_options(const BreakdownOptions& o) {
    PressureCollectorOptions p;
    p.request.listeners = true;
    p.request.destinations = o.destinations;
    p.request.top_k = o.top_n == 0 ? 1 : o.top_n;
    p.request.destination_capacity = o.capacity;
    return p;
}
}  // namespace

BreakdownCollector::BreakdownCollector(BreakdownOptions options)
    : options_(std::move(options)), pressure_(pressure_options(options_)) {
    slot_of_state_.fill(-1);
    if (options_.top_n == 0) {
        options_.top_n = 1;
    }
    const std::size_t cap = options_.capacity;
    for (TcpState s : options_.states) {
        auto& slot = slot_of_state_[state_index(s)];
        if (slot >= 0) {
            continue;  // asked twice: one breakdown
        }
        slot = static_cast<std::int8_t>(per_state_.size());
        // The prefix table is only sized when it is used.
        per_state_.push_back(
            PerState{s, Table(cap), Table(cap), Table(cap), Table(options_.by_prefix ? cap : 1)});
    }
    if (options_.by_process) {
        inodes_.reserve(options_.max_process_inodes);
    }
}

void BreakdownCollector::reset() noexcept {
    for (auto& p : per_state_) {
        p.local_ports.clear();
        p.peers.clear();
        p.peer_services.clear();
        p.peer_prefixes.clear();
        p.without_inode = 0;
        p.with_inode = 0;
    }
    inodes_.clear();
    inodes_capped_ = false;
    pressure_.reset();
}

void BreakdownCollector::operator()(const inet_diag_msg& msg, TcpState state) noexcept {
    pressure_(msg, state);
    const std::int8_t slot = slot_of_state_[state_index(state)];
    if (slot < 0) {
        return;
    }
    PerState& p = per_state_[static_cast<std::size_t>(slot)];
    const std::uint16_t local_port = ntohs(msg.id.idiag_sport);
    p.local_ports.add(bare_port(local_port));
    Endpoint peer = endpoint_from_diag(msg.idiag_family, msg.id.idiag_dst);
    p.peers.add(peer);
    if (options_.by_prefix) {
        p.peer_prefixes.add(prefix_of(peer));
    }
    peer.port = ntohs(msg.id.idiag_dport);
    p.peer_services.add(peer);
    if (options_.by_process) {
        if (msg.idiag_inode == 0) {
            ++p.without_inode;
        } else {
            ++p.with_inode;
            if (inodes_.size() < options_.max_process_inodes) {
                inodes_.push_back(
                    InodeRecord{msg.idiag_inode, local_port, static_cast<std::uint8_t>(slot)});
            } else {
                inodes_capped_ = true;
            }
        }
    }
}

Result<Breakdown> BreakdownCollector::finish(const StateCounts& counts,
                                             const NetstatCounters& netstat) const {
    Breakdown out;
    out.counts = counts;
    for (const PerState& p : per_state_) {
        StateBreakdown b;
        b.state = p.state;
        b.total = counts[p.state];
        b.local_ports = to_top_table(p.local_ports, options_.top_n, b.total);
        b.peers = to_top_table(p.peers, options_.top_n, b.total);
        b.peer_services = to_top_table(p.peer_services, options_.top_n, b.total);
        if (options_.by_prefix) {
            b.peer_prefixes = to_top_table(p.peer_prefixes, options_.top_n, b.total);
        }
        out.states.push_back(std::move(b));
    }
    PressureSignals signals;
    pressure_.finish(signals);
    if (signals.listeners) {
        const ListenerSignals& l = *signals.listeners;
        out.listen.listeners = l.listeners;
        out.listen.listeners_queued = l.with_queue;
        out.listen.listeners_full = l.accept_full;
        out.listen.listeners_syn_full = l.syn_full;
        out.listen.syn_recv_unattributed = l.syn_recv_unattributed;
        out.listen.filling = l.filling;
    }
    out.destinations = signals.destinations;
    out.listen.listen_overflows = netstat.listen_overflows;
    out.listen.listen_drops = netstat.listen_drops;

    if (!options_.by_process) {
        return out;
    }
    std::vector<std::uint64_t> wanted;
    wanted.reserve(inodes_.size());
    for (const auto& r : inodes_) {
        wanted.push_back(r.inode);
    }
    std::sort(wanted.begin(), wanted.end());
    SocketOwnerScan scan;
    TRY_ASSIGN(scan, scan_socket_owners(options_.proc_root, wanted));
    // inode -> record, for joining the hits with state and port.
    std::vector<InodeRecord> by_inode = inodes_;
    std::sort(by_inode.begin(), by_inode.end(),
              [](const InodeRecord& a, const InodeRecord& b) { return a.inode < b.inode; });
    struct Row {
        std::uint8_t slot;
        std::size_t process;
        std::uint16_t port;
        bool operator<(const Row& o) const {
            return std::tie(slot, process, port) < std::tie(o.slot, o.process, o.port);
        }
        bool operator==(const Row& o) const = default;
    };
    std::vector<Row> rows;
    rows.reserve(scan.hits.size());
    std::vector<std::uint64_t> matched_inodes;
    matched_inodes.reserve(scan.hits.size());
    for (const auto& hit : scan.hits) {
        auto it = std::lower_bound(
            by_inode.begin(), by_inode.end(), hit.inode,
            [](const InodeRecord& r, std::uint64_t inode) { return r.inode < inode; });
        if (it == by_inode.end() || it->inode != hit.inode) {
            continue;
        }
        rows.push_back(Row{it->state_slot, hit.process, it->local_port});
        matched_inodes.push_back(hit.inode);
    }
    std::sort(rows.begin(), rows.end());
    std::sort(matched_inodes.begin(), matched_inodes.end());
    matched_inodes.erase(std::unique(matched_inodes.begin(), matched_inodes.end()),
                         matched_inodes.end());

    for (std::size_t slot = 0; slot < per_state_.size(); ++slot) {
        const PerState& p = per_state_[slot];
        StateBreakdown& b = out.states[slot];
        ProcessBreakdown pb;
        pb.without_owner = p.without_inode;
        pb.capped = inodes_capped_;
        pb.processes_scanned = scan.processes_scanned;
        pb.processes_unreadable = scan.processes_unreadable;
        std::uint64_t matched_here = 0;
        for (const auto& r : by_inode) {
            if (r.state_slot != slot) {
                continue;
            }
            ++pb.sockets_examined;
            if (std::binary_search(matched_inodes.begin(), matched_inodes.end(),
                                   std::uint64_t{r.inode})) {
                ++matched_here;
            }
        }
        pb.unmatched = pb.sockets_examined - matched_here;
        for (std::size_t i = 0; i < rows.size();) {
            std::size_t j = i;
            while (j < rows.size() && rows[j] == rows[i]) {
                ++j;
            }
            if (rows[i].slot == slot) {
                ProcessOwner owner;
                owner.pid = scan.processes[rows[i].process].pid;
                owner.comm = scan.processes[rows[i].process].comm;
                owner.local_port = rows[i].port;
                owner.count = j - i;
                owner.share = b.total == 0
                                  ? 0.0
                                  : static_cast<double>(owner.count) / static_cast<double>(b.total);
                pb.owners.push_back(std::move(owner));
            }
            i = j;
        }
        std::stable_sort(pb.owners.begin(), pb.owners.end(),
                         [](const ProcessOwner& a, const ProcessOwner& c) {
                             return a.count != c.count ? a.count > c.count : a.pid < c.pid;
                         });
        if (pb.owners.size() > options_.top_n) {
            pb.owners.resize(options_.top_n);
        }
        b.processes = std::move(pb);
    }
    return out;
}

Result<Breakdown> take_breakdown(NetlinkCensus& census, const BreakdownOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<NetstatCounters> before;
    if (options.trend_interval.count() > 0) {
        TRY_ASSIGN(before, read_netstat(options.proc_net_dir));
    }
    BreakdownCollector collector(options);
    if (options.destinations) {
        EphemeralPorts ports;
        TRY_ASSIGN(ports, read_ephemeral_ports(options.proc_sys_dir));
        collector.set_ports(ports);
    }
    StateCounts counts;
    TRY_ASSIGN(counts, census.count_with(collector));
    NetstatCounters netstat;
    TRY_ASSIGN(netstat, read_netstat(options.proc_net_dir));
    auto breakdown = collector.finish(counts, netstat);
    if (!breakdown) {
        return breakdown;
    }
    breakdown->duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - started);
    if (before) {
        const auto due = started + options.trend_interval;
        std::this_thread::sleep_until(due);
        NetstatCounters after;
        TRY_ASSIGN(after, read_netstat(options.proc_net_dir));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const std::uint64_t delta = after.listen_overflows >= before->listen_overflows
                                        ? after.listen_overflows - before->listen_overflows
                                        : 0;
        breakdown->listen.listen_overflows = after.listen_overflows;
        breakdown->listen.listen_drops = after.listen_drops;
        breakdown->listen.listen_overflows_per_second = static_cast<double>(delta) / seconds;
        breakdown->listen.trend_seconds = seconds;
    }
    return breakdown;
}

Result<Breakdown> take_breakdown(const BreakdownOptions& options) {
    NetlinkCensusOptions census_options;
    census_options.proc_net_dir = options.proc_net_dir;
    std::unique_ptr<NetlinkCensus> census;
    TRY_ASSIGN(census, NetlinkCensus::open(census_options));
    return take_breakdown(*census, options);
}

Result<Breakdown> take_breakdown(TcpState state, BreakdownOptions options) {
    options.states = {state};
    return take_breakdown(options);
}

}  // namespace tcptune
