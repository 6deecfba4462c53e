#include "tcptune/census/bpf/seed.hpp"

#include <algorithm>
#include <cstring>

namespace tcptune {

KernelStateCounts sum_per_cpu(std::span<const std::int64_t> per_cpu, std::size_t cpus) {
    KernelStateCounts sum{};
    for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
        for (std::size_t slot = 0; slot < kKernelStateSlots; ++slot) {
            const std::size_t at = cpu * kKernelStateSlots + slot;
            if (at < per_cpu.size()) {
                sum[slot] = static_cast<std::int64_t>(static_cast<std::uint64_t>(sum[slot]) +
                                                      static_cast<std::uint64_t>(per_cpu[at]));
            }
        }
    }
    return sum;
}

namespace {
// inet_diag marks a timewait socket with timer 3 and lists it with its substate
// (TIME_WAIT, or FIN_WAIT2 for an orphan whose peer has not closed yet).
constexpr std::uint8_t kTimewaitTimer = 3;
}  // namespace

void EngineViewCounter::operator()(const inet_diag_msg& msg, TcpState state) {
    if (msg.idiag_timer == kTimewaitTimer) {
        counts[TcpState::kTimeWait] += 1;
        timewait_as_fin_wait2 += state == TcpState::kFinWait2 ? 1U : 0U;
    } else if (state != TcpState::kClose) {
        counts[state] += 1;
    }
}

bool has_netlink_attribute(std::span<const std::byte> attributes, std::uint16_t type) {
    std::size_t offset = 0;
    while (attributes.size() - offset >= 4) {
        std::uint16_t len = 0;
        std::uint16_t kind = 0;
        std::memcpy(&len, attributes.data() + offset, sizeof len);
        std::memcpy(&kind, attributes.data() + offset + 2, sizeof kind);
        if (len < 4 || len > attributes.size() - offset) {
            return false;
        }
        if ((kind & 0x3fff) == type) {  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            return true;
        }
        offset += (static_cast<std::size_t>(len) + 3) & ~std::size_t{3};
        if (offset > attributes.size()) {
            return false;
        }
    }
    return false;
}

void DumpCollector::operator()(const inet_diag_msg& msg, TcpState /*state*/,
                               std::span<const std::byte> attributes) {
    if (msg.idiag_timer == kTimewaitTimer || !bpf_counts_kernel_state(msg.idiag_state) ||
        !has_netlink_attribute(attributes, INET_DIAG_SHUTDOWN)) {
        return;
    }
    const std::uint64_t cookie = static_cast<std::uint64_t>(msg.id.idiag_cookie[0]) |
                                 (static_cast<std::uint64_t>(msg.id.idiag_cookie[1]) << 32);
    entries_.push_back(Entry{cookie, msg.idiag_state});
    finished_ = false;
}

void DumpCollector::reset() {
    entries_.clear();
    finished_ = false;
}

void DumpCollector::finish() {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.cookie < b.cookie; });
    entries_.erase(std::unique(entries_.begin(), entries_.end(),
                               [](const Entry& a, const Entry& b) { return a.cookie == b.cookie; }),
                   entries_.end());
    finished_ = true;
}

std::optional<std::uint8_t> DumpCollector::state_of(std::uint64_t cookie) const {
    if (!finished_) {
        return std::nullopt;
    }
    auto it = std::lower_bound(entries_.begin(), entries_.end(), cookie,
                               [](const Entry& e, std::uint64_t c) { return e.cookie < c; });
    if (it == entries_.end() || it->cookie != cookie) {
        return std::nullopt;
    }
    return it->kernel_state;
}

KernelStateCounts DumpCollector::counts() const {
    KernelStateCounts counts{};
    for (const auto& e : entries_) {
        counts[e.kernel_state % kKernelStateSlots] += 1;
    }
    return counts;
}

KernelStateCounts seeded_counts(const DumpCollector& dump, std::span<const WindowSocket> window,
                                std::span<const std::uint64_t> window_cookies) {
    KernelStateCounts counts = dump.counts();
    for (std::uint64_t cookie : window_cookies) {
        if (auto seen = dump.state_of(cookie)) {
            counts[*seen % kKernelStateSlots] -= 1;
        }
    }
    for (const auto& socket : window) {
        if (bpf_counts_kernel_state(socket.last_state)) {
            counts[socket.last_state % kKernelStateSlots] += 1;
        }
    }
    return counts;
}

KernelStateCounts window_change(std::span<const WindowSocket> window) {
    KernelStateCounts change{};
    for (const auto& socket : window) {
        if (bpf_counts_kernel_state(socket.first_state)) {
            change[socket.first_state % kKernelStateSlots] -= 1;
        }
        if (bpf_counts_kernel_state(socket.last_state)) {
            change[socket.last_state % kKernelStateSlots] += 1;
        }
    }
    return change;
}

StateCounts engine_state_counts(const KernelStateCounts& full_sockets,
                                std::uint64_t request_sockets, std::uint64_t timewait_sockets) {
    StateCounts counts;
    for (TcpState state : kAllTcpStates) {
        const auto kernel = static_cast<std::size_t>(state);
        if (bpf_counts_kernel_state(static_cast<unsigned>(kernel))) {
            counts[state] =
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, full_sockets[kernel]));
        }
    }
    counts[TcpState::kSynRecv] += request_sockets;
    counts[TcpState::kTimeWait] = timewait_sockets;
    return counts;
}

StateDrift drift_between(const KernelStateCounts& engine, const KernelStateCounts& exact) {
    StateDrift drift{};
    for (TcpState state : kAllTcpStates) {
        const auto kernel = static_cast<std::size_t>(state);
        if (bpf_counts_kernel_state(static_cast<unsigned>(kernel))) {
            drift[state_index(state)] = engine[kernel] - exact[kernel];
        }
    }
    return drift;
}

}  // namespace tcptune
