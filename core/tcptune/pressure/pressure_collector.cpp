#include "tcptune/pressure/pressure_collector.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "tcptune/diagnosis/top_k.hpp"

namespace tcptune {

namespace {

// sock_diag timer codes (inet_sk_diag_fill).
constexpr std::uint8_t kTimerRetransmit = 1;
constexpr std::uint8_t kTimerKeepalive = 2;
constexpr std::uint8_t kTimerZeroWindow = 4;

// Endpoint -> slot, open addressing at a load factor of at most 1/2, no deletion
// (cleared as a whole between dumps). Fixed capacity: when full, find_or_add
// returns kNone and the caller counts the socket as unattributed.
class EndpointIndex {
  public:
    static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

    explicit EndpointIndex(std::size_t capacity) : capacity_(capacity) {
        std::size_t size = 8;
        while (size < 2 * capacity) {
            size *= 2;
        }
        keys_.resize(size);
        slots_.assign(size, kNone);
    }
    void clear() {
        std::fill(slots_.begin(), slots_.end(), kNone);
        used_ = 0;
    }
    std::size_t find(const Endpoint& key) const {
        const std::size_t pos = probe(key);
        return slots_[pos];
    }
    // The key's slot, adding it (as slot `used()`) when new; kNone when full.
    std::size_t find_or_add(const Endpoint& key) {
        const std::size_t pos = probe(key);
        if (slots_[pos] != kNone) {
            return slots_[pos];
        }
        if (used_ >= capacity_) {
            return kNone;
        }
        keys_[pos] = key;
        slots_[pos] = used_;
        return used_++;
    }
    std::size_t used() const { return used_; }

  private:
    std::size_t probe(const Endpoint& key) const {
        const std::size_t mask = slots_.size() - 1;
        std::size_t pos = EndpointHash{}(key)&mask;
        while (slots_[pos] != kNone && !(keys_[pos] == key)) {
            pos = (pos + 1) & mask;
        }
        return pos;
    }

    std::size_t capacity_;
    std::vector<Endpoint> keys_;
    std::vector<std::size_t> slots_;
    std::size_t used_ = 0;
};

struct DestinationKey {
    Endpoint local;   // address only
    Endpoint remote;  // address and port
    bool operator==(const DestinationKey&) const = default;
};

struct DestinationKeyHash {
    std::size_t operator()(const DestinationKey& k) const noexcept {
        const std::uint64_t a = EndpointHash{}(k.local);
        const std::uint64_t b = EndpointHash{}(k.remote);
        return static_cast<std::size_t>(mix_hash(a ^ (b * 0x9E3779B97F4A7C15ULL)));
    }
};

bool holds_ephemeral_port(TcpState state) {
    switch (state) {
        case TcpState::kSynSent:
        case TcpState::kEstablished:
        case TcpState::kFinWait1:
        case TcpState::kFinWait2:
        case TcpState::kClosing:
        case TcpState::kLastAck:
        case TcpState::kTimeWait:
            return true;
        default:
            return false;
    }
}

Endpoint wildcard_of(std::uint8_t family, std::uint16_t port) {
    Endpoint e;
    e.family = family;
    e.prefix_len = family == AF_INET ? 32 : 128;
    e.port = port;
    return e;
}

}  // namespace

struct PressureCollector::Impl {
    explicit Impl(PressureCollectorOptions o)
        : options(o),
          listener_index(std::max<std::size_t>(1, options.max_listeners)),
          syn_index(std::max<std::size_t>(1, options.max_listeners)),
          destinations(options.request.destinations
                           ? std::max<std::size_t>(1, options.request.destination_capacity)
                           : 1),
          peers(options.request.dead_peers ? std::max<std::size_t>(1, options.peer_capacity) : 1) {
        if (options.request.listeners) {
            listeners.reserve(options.max_listeners);
            syn_counts.reserve(options.max_listeners);
        }
    }

    PressureCollectorOptions options;
    // listeners
    EndpointIndex listener_index;
    std::vector<ListenerQueues> listeners;
    std::uint64_t listen_sockets = 0;
    bool listeners_capped = false;
    EndpointIndex syn_index;  // request sockets per local endpoint
    std::vector<std::uint32_t> syn_counts;
    std::vector<Endpoint> syn_keys;
    std::uint64_t syn_unindexed = 0;
    // destinations
    PortSet listening_ports;
    PortSet ports_in_use;
    std::uint64_t sockets_in_range = 0;
    SpaceSavingTopK<DestinationKey, DestinationKeyHash> destinations;
    // dead peers
    std::uint64_t keepalive = 0;
    std::uint64_t retransmitting = 0;
    std::uint64_t zero_window = 0;
    SpaceSavingTopK<Endpoint, EndpointHash> peers;

    void clear() {
        listener_index.clear();
        listeners.clear();
        listen_sockets = 0;
        listeners_capped = false;
        syn_index.clear();
        syn_counts.clear();
        syn_keys.clear();
        syn_unindexed = 0;
        listening_ports.clear();
        ports_in_use.clear();
        sockets_in_range = 0;
        destinations.clear();
        keepalive = 0;
        retransmitting = 0;
        zero_window = 0;
        peers.clear();
    }

    void visit_listener(const inet_diag_msg& msg) {
        ++listen_sockets;
        Endpoint local = endpoint_from_diag(msg.idiag_family, msg.id.idiag_src);
        local.port = ntohs(msg.id.idiag_sport);
        listening_ports.insert(local.port);
        if (!options.request.listeners) {
            return;
        }
        const std::size_t slot = listener_index.find_or_add(local);
        if (slot == EndpointIndex::kNone) {
            listeners_capped = true;
            return;
        }
        if (slot == listeners.size()) {
            ListenerQueues q;
            q.local = local;
            q.queued = msg.idiag_rqueue;
            q.backlog = msg.idiag_wqueue;
            q.inode = msg.idiag_inode;
            listeners.push_back(q);
        } else {
            // SO_REUSEPORT: several sockets on one address:port share the entry.
            ListenerQueues& q = listeners[slot];
            q.queued += msg.idiag_rqueue;
            q.backlog += msg.idiag_wqueue;
            ++q.sockets;
        }
    }

    void visit_request(const inet_diag_msg& msg) {
        Endpoint local = endpoint_from_diag(msg.idiag_family, msg.id.idiag_src);
        local.port = ntohs(msg.id.idiag_sport);
        const std::size_t slot = syn_index.find_or_add(local);
        if (slot == EndpointIndex::kNone) {
            ++syn_unindexed;
            return;
        }
        if (slot == syn_counts.size()) {
            syn_counts.push_back(0);
            syn_keys.push_back(local);
        }
        ++syn_counts[slot];
    }

    void visit_destination(const inet_diag_msg& msg) {
        const std::uint16_t local_port = ntohs(msg.id.idiag_sport);
        if (!options.ports.is_ephemeral(local_port) || listening_ports.contains(local_port)) {
            return;
        }
        ++sockets_in_range;
        ports_in_use.insert(local_port);
        DestinationKey key;
        key.local = endpoint_from_diag(msg.idiag_family, msg.id.idiag_src);
        key.remote = endpoint_from_diag(msg.idiag_family, msg.id.idiag_dst);
        key.remote.port = ntohs(msg.id.idiag_dport);
        destinations.add(key);
    }

    void visit_timers(const inet_diag_msg& msg) {
        if (msg.idiag_retrans == 0) {
            return;
        }
        switch (msg.idiag_timer) {
            case kTimerKeepalive:
                ++keepalive;
                break;
            case kTimerRetransmit:
                ++retransmitting;
                break;
            case kTimerZeroWindow:
                ++zero_window;
                break;
            default:
                return;
        }
        peers.add(endpoint_from_diag(msg.idiag_family, msg.id.idiag_dst));
    }

    void visit(const inet_diag_msg& msg, TcpState state) {
        const SignalRequest& r = options.request;
        if (state == TcpState::kListen) {
            visit_listener(msg);
            return;
        }
        // Request sockets are reported as SYN_RECV (inet_req_diag_fill; the parser
        // maps a raw TCP_NEW_SYN_RECV the same way), with the listener's address.
        if (state == TcpState::kSynRecv) {
            if (r.listeners) {
                visit_request(msg);
            }
            return;  // SYN-ACK retransmits are SYN queue pressure, not dead peers
        }
        if (r.destinations && holds_ephemeral_port(state)) {
            visit_destination(msg);
        }
        if (r.dead_peers && state != TcpState::kTimeWait) {
            visit_timers(msg);
        }
    }

    const ListenerQueues* owner_of(const Endpoint& local) const {
        auto at = [&](const Endpoint& key) -> ListenerQueues const* {
            const std::size_t slot = listener_index.find(key);
            return slot == EndpointIndex::kNone ? nullptr : &listeners[slot];
        };
        if (const auto* exact = at(local)) {
            return exact;
        }
        if (const auto* any = at(wildcard_of(local.family, local.port))) {
            return any;
        }
        // An IPv4 request of a dual-stack [::] listener.
        if (local.family == AF_INET) {
            return at(wildcard_of(AF_INET6, local.port));
        }
        return nullptr;
    }

    ListenerSignals finish_listeners() const {
        ListenerSignals out;
        out.listeners = listen_sockets;
        out.capped = listeners_capped;
        out.ports = listening_ports.ports();
        std::vector<ListenerQueues> joined = listeners;
        out.syn_recv_unattributed = syn_unindexed;
        for (std::size_t i = 0; i < syn_counts.size(); ++i) {
            const ListenerQueues* owner = owner_of(syn_keys[i]);
            if (owner == nullptr) {
                out.syn_recv_unattributed += syn_counts[i];
                continue;
            }
            joined[static_cast<std::size_t>(owner - listeners.data())].syn_queue += syn_counts[i];
        }
        for (const ListenerQueues& q : joined) {
            if (q.queued == 0 && q.syn_queue == 0) {
                continue;
            }
            ++out.with_queue;
            out.accept_full += q.full() ? 1U : 0U;
            out.syn_full += q.syn_queue_full() ? 1U : 0U;
            out.filling.push_back(q);
        }
        std::sort(out.filling.begin(), out.filling.end(),
                  [](const ListenerQueues& a, const ListenerQueues& b) {
                      const double fa = std::max(a.accept_fill(), a.syn_fill());
                      const double fb = std::max(b.accept_fill(), b.syn_fill());
                      if (fa != fb) {
                          return fa > fb;
                      }
                      return a.queued + a.syn_queue > b.queued + b.syn_queue;
                  });
        return out;
    }

    DestinationSignals finish_destinations() const {
        DestinationSignals out;
        out.range_low = options.ports.low;
        out.range_high = options.ports.high;
        out.usable = options.ports.usable();
        out.sockets_in_range = sockets_in_range;
        out.ports_in_use = static_cast<std::uint32_t>(ports_in_use.size());
        out.exact = destinations.exact();
        out.distinct = destinations.size();
        for (const auto& c : destinations.top(options.request.top_k)) {
            DestinationPorts d;
            d.local = c.key.local;
            d.remote = c.key.remote;
            d.sockets = c.count;
            d.error = c.error;
            d.occupancy = out.usable == 0
                              ? 1.0
                              : static_cast<double>(c.count) / static_cast<double>(out.usable);
            out.top.push_back(d);
        }
        return out;
    }

    DeadPeerSignals finish_dead_peers() const {
        DeadPeerSignals out;
        out.keepalive_unanswered = keepalive;
        out.retransmitting = retransmitting;
        out.zero_window = zero_window;
        for (const auto& c : peers.top(options.request.top_k)) {
            out.top_peers.push_back(PeerCount{c.key, c.count});
        }
        return out;
    }
};

PressureCollector::PressureCollector(PressureCollectorOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
PressureCollector::~PressureCollector() = default;
PressureCollector::PressureCollector(PressureCollector&&) noexcept = default;
PressureCollector& PressureCollector::operator=(PressureCollector&&) noexcept = default;

void PressureCollector::operator()(const inet_diag_msg& msg, TcpState state) noexcept {
    impl_->visit(msg, state);
}

void PressureCollector::reset() noexcept {
    impl_->clear();
}

const PressureCollectorOptions& PressureCollector::options() const {
    return impl_->options;
}

void PressureCollector::set_ports(const EphemeralPorts& ports) {
    impl_->options.ports = ports;
}

void PressureCollector::finish(PressureSignals& out) const {
    const SignalRequest& r = impl_->options.request;
    if (r.listeners) {
        out.listeners = impl_->finish_listeners();
    }
    if (r.destinations) {
        out.destinations = impl_->finish_destinations();
    }
    if (r.dead_peers) {
        out.dead_peers = impl_->finish_dead_peers();
    }
}

}  // namespace tcptune
