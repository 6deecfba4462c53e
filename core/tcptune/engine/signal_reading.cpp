#include "tcptune/engine/signal_reading.hpp"

#include <cstdio>

namespace tcptune {

namespace {

std::string one_decimal(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
}

std::string destination_subject(const DestinationPorts& d) {
    return format_address(d.local) + " -> " + format_endpoint(d.remote);
}

SignalReading listener_reading(ListenerQueue queue, const ListenerQueues& q) {
    const bool syn = queue == ListenerQueue::kSynQueue;
    const std::uint32_t used = syn ? q.syn_queue : q.queued;
    const double percent = 100.0 * (syn ? q.syn_fill() : q.accept_fill());
    SignalReading r;
    r.value = percent;
    r.subject = format_endpoint(q.local);
    r.text = std::string(syn ? "SYN queue" : "accept queue") + " of " + r.subject + " " +
             std::to_string(used) + "/" + std::to_string(q.backlog) + " (" + one_decimal(percent) +
             "%)";
    return r;
}

SignalReading empty_listener_reading(ListenerQueue queue) {
    SignalReading r;
    r.text = std::string(queue == ListenerQueue::kSynQueue ? "SYN queue" : "accept queue") +
             " of every listener empty";
    return r;
}

SignalReading destination_reading(const DestinationSignals& s, const DestinationPorts& d) {
    SignalReading r;
    r.value = 100.0 * d.occupancy;
    r.subject = destination_subject(d);
    r.text = "ephemeral ports towards " + format_endpoint(d.remote) + " from " +
             format_address(d.local) + ": " + std::to_string(d.sockets) + " of " +
             std::to_string(s.usable) + " usable (" + one_decimal(r.value) + "%)";
    return r;
}

std::uint64_t dead_count(const DeadPeerSignals& d, DeadPeerKind kind) {
    switch (kind) {
        case DeadPeerKind::kAny:
            return d.total();
        case DeadPeerKind::kKeepalive:
            return d.keepalive_unanswered;
        case DeadPeerKind::kRetransmit:
            return d.retransmitting;
        case DeadPeerKind::kZeroWindow:
            return d.zero_window;
    }
    return 0;
}

std::optional<SignalReading> read(const Metric& m, const std::string* subject,
                                  const CensusSnapshot& snapshot,
                                  const std::optional<NetstatCounters>& previous) {
    SignalReading r;
    switch (m.kind) {
        case Metric::Kind::kState: {
            const std::uint64_t n = snapshot.counts[m.state];
            r.value = static_cast<double>(n);
            r.text = m.describe() + " " + std::to_string(n);
            return r;
        }
        case Metric::Kind::kIncrease: {
            if (!previous) {
                return std::nullopt;  // an increase needs two polls
            }
            const std::uint64_t now = counter_value(snapshot.netstat, m.counter);
            const std::uint64_t before = counter_value(*previous, m.counter);
            if (now < before) {
                return std::nullopt;  // counters were reset (new namespace, module reload)
            }
            r.value = static_cast<double>(now - before);
            r.text = m.describe() + " " + std::to_string(now - before);
            return r;
        }
        case Metric::Kind::kListener: {
            const auto& listeners = snapshot.pressure.listeners;
            if (!listeners) {
                return std::nullopt;
            }
            const ListenerQueues* pick = nullptr;
            for (const ListenerQueues& q : listeners->filling) {
                if (subject != nullptr) {
                    if (format_endpoint(q.local) == *subject) {
                        pick = &q;
                        break;
                    }
                    continue;
                }
                const double fill =
                    m.queue == ListenerQueue::kSynQueue ? q.syn_fill() : q.accept_fill();
                const double best = pick == nullptr                       ? -1.0
                                    : m.queue == ListenerQueue::kSynQueue ? pick->syn_fill()
                                                                          : pick->accept_fill();
                if (fill > best) {
                    pick = &q;
                }
            }
            if (pick == nullptr) {
                SignalReading empty = empty_listener_reading(m.queue);
                if (subject != nullptr) {
                    empty.subject = *subject;
                }
                return empty;
            }
            return listener_reading(m.queue, *pick);
        }
        case Metric::Kind::kDestination: {
            const auto& dest = snapshot.pressure.destinations;
            if (!dest) {
                return std::nullopt;
            }
            for (const DestinationPorts& d : dest->top) {  // most occupied first
                if (subject == nullptr || destination_subject(d) == *subject) {
                    return destination_reading(*dest, d);
                }
            }
            r.text = "no ephemeral ports in use towards " +
                     (subject != nullptr ? *subject : std::string("any destination"));
            if (subject != nullptr) {
                r.subject = *subject;
            }
            return r;
        }
        case Metric::Kind::kRate: {
            const auto& rates = snapshot.pressure.rates;
            if (!rates || !rates->rate(m.rate)) {
                return std::nullopt;
            }
            r.value = *rates->rate(m.rate);
            r.text =
                std::string(rate_counter_kernel_name(m.rate)) + " " + one_decimal(r.value) + "/s";
            return r;
        }
        case Metric::Kind::kRatio: {
            const auto& rates = snapshot.pressure.rates;
            if (!rates || !rates->retrans_ratio) {
                return std::nullopt;
            }
            r.value = 100.0 * *rates->retrans_ratio;
            r.text = "retransmitted segments " + one_decimal(r.value) + "% of segments sent";
            return r;
        }
        case Metric::Kind::kDeadPeers: {
            const auto& dead = snapshot.pressure.dead_peers;
            if (!dead) {
                return std::nullopt;
            }
            const std::uint64_t n = dead_count(*dead, m.dead);
            r.value = static_cast<double>(n);
            r.text = "dead-peer sockets " + std::to_string(n) + " (keepalive unanswered " +
                     std::to_string(dead->keepalive_unanswered) + ", retransmitting " +
                     std::to_string(dead->retransmitting) + ", zero-window " +
                     std::to_string(dead->zero_window) + ")";
            if (!dead->top_peers.empty()) {
                r.text += ", most with " + format_address(dead->top_peers.front().peer);
            }
            return r;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<SignalReading> read_signal(const Metric& metric, const CensusSnapshot& snapshot,
                                         const std::optional<NetstatCounters>& previous_netstat) {
    return read(metric, nullptr, snapshot, previous_netstat);
}

std::optional<SignalReading> read_signal_of(
    const Metric& metric, const std::string& subject, const CensusSnapshot& snapshot,
    const std::optional<NetstatCounters>& previous_netstat) {
    if (!metric.per_subject() || subject.empty()) {
        return read(metric, nullptr, snapshot, previous_netstat);
    }
    return read(metric, &subject, snapshot, previous_netstat);
}

SignalRequest signals_for(const Metric& metric) {
    SignalRequest r;
    switch (metric.kind) {
        case Metric::Kind::kListener:
            r.listeners = true;
            break;
        case Metric::Kind::kDestination:
            r.destinations = true;
            break;
        case Metric::Kind::kRate:
        case Metric::Kind::kRatio:
            r.rates = true;
            break;
        case Metric::Kind::kDeadPeers:
            r.dead_peers = true;
            break;
        case Metric::Kind::kState:
        case Metric::Kind::kIncrease:
            break;
    }
    return r;
}

SignalRequest signals_for(const ResolvedProfile& profile) {
    SignalRequest r;
    for (const Rule& rule : profile.rules) {
        r |= signals_for(rule.when.metric);
        if (rule.verify.metric) {
            r |= signals_for(*rule.verify.metric);
        }
    }
    return r;
}

}  // namespace tcptune
