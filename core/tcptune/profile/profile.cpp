#include "tcptune/profile/profile.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tcptune {

std::string ProfileDiagnostic::to_string() const {
    std::string out = where.file.empty() ? std::string("<profile>") : where.file;
    if (where.line > 0) {
        out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    }
    return out + ": " + message;
}

std::string format_number(double value) {
    // Whole numbers print without exponent ("1000000", not "1e+06").
    if (std::abs(value) < 1e15 && value == std::floor(value)) {
        return std::to_string(static_cast<long long>(value));
    }
    char buffer[64];
    auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc{} ? std::string(buffer, ptr) : std::string("?");
}

std::string format_threshold(const Threshold& t) {
    return format_number(t.value) + (t.percent ? "%" : "");
}

std::string_view counter_name(NetstatCounter c) {
    return rate_counter_name(c);
}

std::optional<NetstatCounter> parse_counter(std::string_view name) {
    for (NetstatCounter c : kAllNetstatCounters) {
        if (counter_name(c) == name) {
            return c;
        }
    }
    return std::nullopt;
}

std::uint64_t counter_value(const NetstatCounters& counters, NetstatCounter c) {
    return netstat_counter_value(counters, c).value_or(0);
}

std::string_view listener_queue_name(ListenerQueue q) {
    return q == ListenerQueue::kSynQueue ? "syn_queue" : "accept_queue";
}

std::optional<ListenerQueue> parse_listener_queue(std::string_view name) {
    if (name == "syn_queue") {
        return ListenerQueue::kSynQueue;
    }
    if (name == "accept_queue") {
        return ListenerQueue::kAcceptQueue;
    }
    return std::nullopt;
}

std::string_view dead_peer_kind_name(DeadPeerKind k) {
    switch (k) {
        case DeadPeerKind::kAny:
            return "any";
        case DeadPeerKind::kKeepalive:
            return "keepalive";
        case DeadPeerKind::kRetransmit:
            return "retransmit";
        case DeadPeerKind::kZeroWindow:
            return "zero_window";
    }
    return "any";
}

std::optional<DeadPeerKind> parse_dead_peer_kind(std::string_view name) {
    for (DeadPeerKind k : {DeadPeerKind::kAny, DeadPeerKind::kKeepalive, DeadPeerKind::kRetransmit,
                           DeadPeerKind::kZeroWindow}) {
        if (dead_peer_kind_name(k) == name) {
            return k;
        }
    }
    return std::nullopt;
}

std::string Metric::describe() const {
    switch (kind) {
        case Kind::kState:
            return std::string(state_name(state));
        case Kind::kIncrease:
            return "increase(" + std::string(counter_name(counter)) + ")";
        case Kind::kListener:
            return "listener." + std::string(listener_queue_name(queue));
        case Kind::kDestination:
            return "destination.ports";
        case Kind::kRate:
            return "rate(" + std::string(rate_counter_name(rate)) + ")";
        case Kind::kRatio:
            return "ratio(retransmits)";
        case Kind::kDeadPeers:
            return "dead_peers(" + std::string(dead_peer_kind_name(dead)) + ")";
    }
    return "?";
}

std::pair<std::string, std::string> metric_key_value(const Metric& m) {
    switch (m.kind) {
        case Metric::Kind::kState:
            return {"state", std::string(state_name(m.state))};
        case Metric::Kind::kIncrease:
            return {"increase", std::string(counter_name(m.counter))};
        case Metric::Kind::kListener:
            return {"listener", std::string(listener_queue_name(m.queue))};
        case Metric::Kind::kDestination:
            return {"destination", "ports"};
        case Metric::Kind::kRate:
            return {"rate", std::string(rate_counter_name(m.rate))};
        case Metric::Kind::kRatio:
            return {"ratio", "retransmits"};
        case Metric::Kind::kDeadPeers:
            return {"dead_peers", std::string(dead_peer_kind_name(m.dead))};
    }
    return {"state", "time_wait"};
}

const Rule* ResolvedProfile::find_rule(std::string_view rule_name) const {
    for (const Rule& r : rules) {
        if (r.name == rule_name) {
            return &r;
        }
    }
    return nullptr;
}

std::vector<std::string> ResolvedProfile::writable_keys() const {
    std::vector<std::string> keys;
    auto add = [&keys](const std::string& key) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            keys.push_back(key);
        }
    };
    for (const auto& setting : sysctls) {
        add(setting.key);
    }
    for (const auto& rule : rules) {
        for (const auto& setting : rule.apply) {
            add(setting.key);
        }
    }
    return keys;
}

}  // namespace tcptune
