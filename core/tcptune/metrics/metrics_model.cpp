#include "tcptune/metrics/metrics_model.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/metrics/census_engine_metrics.hpp"

namespace tcptune {

const prometheus::Histogram::BucketBoundaries& poll_duration_buckets() {
    static const prometheus::Histogram::BucketBoundaries buckets = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
        0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
    return buckets;
}

namespace {

prometheus::ClientMetric labelled(std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    return metric;
}

prometheus::ClientMetric gauge(std::vector<prometheus::ClientMetric::Label> labels, double value) {
    auto metric = labelled(std::move(labels));
    metric.gauge.value = value;
    return metric;
}

prometheus::ClientMetric counter(std::vector<prometheus::ClientMetric::Label> labels,
                                 double value) {
    auto metric = labelled(std::move(labels));
    metric.counter.value = value;
    return metric;
}

}  // namespace

std::vector<prometheus::ClientMetric> sysctl_value_samples(std::string_view key,
                                                           std::string_view value) {
    const auto numbers = parse_sysctl_integers(value);
    if (!numbers) {
        return {};
    }
    const std::string key_label(key);
    if (numbers->size() == 1) {
        return {gauge({{"key", key_label}}, static_cast<double>(numbers->front()))};
    }
    if (numbers->size() == 2) {
        return {
            gauge({{"key", key_label}, {"bound", "low"}}, static_cast<double>((*numbers)[0])),
            gauge({{"key", key_label}, {"bound", "high"}}, static_cast<double>((*numbers)[1])),
        };
    }
    return {};
}

MetricsModel::MetricsModel(std::string version)
    : version_(std::move(version)), poll_duration_(poll_duration_buckets()) {}

void MetricsModel::observe_poll(const CensusSnapshot& snapshot) {
    last_snapshot_ = snapshot;
    poll_duration_.Observe(std::chrono::duration<double>(snapshot.duration).count());
}

namespace {

// Profiles only name registry keys, but the label must stay bounded even if a
// record ever carries something else.
std::string bounded_key(const std::string& key) {
    return find_sysctl(key) != nullptr ? key : "other";
}

// Every managed key starts at 0 for every result, so `increase()` sees the first
// failure instead of a series appearing at 1.
template <typename Counts>
void seed_changes(Counts& changes, const std::vector<SysctlView>& sysctls) {
    for (const auto& view : sysctls) {
        for (const auto& [result, name] : kChangeResultNames) {
            changes.try_emplace({view.key, result}, 0);
        }
    }
}

}  // namespace

void MetricsModel::count_change(const ChangeRecord& record) {
    ++changes_[{bounded_key(record.key), record.result}];
}

void MetricsModel::set_status(const ControllerStatus& status) {
    poll_errors_ = status.poll_errors;
    rules_ = status.rules;
    sysctls_ = status.sysctls;
    seed_changes(changes_, sysctls_);
}

void MetricsModel::set_namespace_status(const std::string& netns, const ControllerStatus& status) {
    ManagedSeries& series = managed_[netns];
    series.rules = status.rules;
    series.sysctls = status.sysctls;
    seed_changes(series.changes, series.sysctls);
}

void MetricsModel::count_namespace_change(const std::string& netns, const ChangeRecord& record) {
    ++managed_[netns].changes[{bounded_key(record.key), record.result}];
}

void MetricsModel::forget_namespace(const std::string& netns) {
    managed_.erase(netns);
}

void MetricsModel::set_other_sysctl_values(std::map<std::string, std::string> values) {
    other_sysctl_values_ = std::move(values);
}

void MetricsModel::set_other_namespaces(std::vector<NamespaceCounts> namespaces,
                                        std::size_t top_k) {
    netns_label_ = true;
    std::stable_sort(namespaces.begin(), namespaces.end(),
                     [](const NamespaceCounts& a, const NamespaceCounts& b) {
                         return a.counts.total() > b.counts.total();
                     });
    other_namespaces_ = std::move(namespaces);
    netns_top_k_ = top_k;
}

namespace {

// Families about tcptuned itself, not about a namespace: never labelled with netns.
bool is_process_wide(const std::string& name) {
    return name == "tcptune_build_info" || name == "tcptune_poll_duration_seconds" ||
           name == "tcptune_poll_errors_total";
}

prometheus::MetricFamily family(std::string name, prometheus::MetricType type, std::string help) {
    return prometheus::MetricFamily{std::move(name), std::move(help), type, {}};
}

// The netstat counters are the kernel's own monotonic counters: exposed as the
// kernel reports them (a counter whose value is the snapshot), not re-counted.
struct NetstatMetric {
    const char* name;
    const char* help;
    std::uint64_t NetstatCounters::*field;
};

constexpr NetstatMetric kNetstatMetrics[] = {
    {"tcptune_tcp_listen_overflows_total",
     "Times a full accept queue made the kernel drop a connection (TcpExt ListenOverflows in "
     "/proc/net/netstat, this network namespace).",
     &NetstatCounters::listen_overflows},
    {"tcptune_tcp_listen_drops_total",
     "SYNs dropped by listening sockets for any reason, overflows included (TcpExt ListenDrops).",
     &NetstatCounters::listen_drops},
    {"tcptune_tcp_syncookies_sent_total",
     "SYN cookies sent because a SYN queue was full, a sign of a SYN flood (TcpExt "
     "SyncookiesSent).",
     &NetstatCounters::syncookies_sent},
    {"tcptune_tcp_syncookies_failed_total",
     "ACKs carrying an invalid SYN cookie (TcpExt SyncookiesFailed).",
     &NetstatCounters::syncookies_failed},
    {"tcptune_tcp_timewait_overflows_total",
     "TIME_WAIT sockets the kernel could not create because net.ipv4.tcp_max_tw_buckets was "
     "reached (TcpExt TCPTimeWaitOverflow).",
     &NetstatCounters::timewait_overflows},
};

}  // namespace

std::vector<prometheus::MetricFamily> MetricsModel::families() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;

    auto build_info = family("tcptune_build_info", MetricType::Gauge,
                             "Always 1; the version label is the running tcptuned's version.");
    build_info.metric.push_back(gauge({{"version", version_}}, 1.0));
    out.push_back(std::move(build_info));

    auto sockets =
        family("tcptune_tcp_sockets", MetricType::Gauge,
               "TCP sockets in this network namespace by state (IPv4 and IPv6), from the last "
               "successful poll's sock_diag census; SYN_RECV includes request sockets.");
    if (last_snapshot_) {
        for (const auto state : kAllTcpStates) {
            sockets.metric.push_back(gauge({{"state", std::string(state_name(state))}},
                                           static_cast<double>(last_snapshot_->counts[state])));
        }
    }
    out.push_back(std::move(sockets));

    auto duration = family("tcptune_poll_duration_seconds", MetricType::Histogram,
                           "Wall time of each successful census poll (sock_diag dump and "
                           "/proc/net reads), in seconds.");
    duration.metric.push_back(poll_duration_.Collect());
    out.push_back(std::move(duration));

    auto errors = family("tcptune_poll_errors_total", MetricType::Counter,
                         "Census polls that failed; counts and rules are stale while they fail.");
    errors.metric.push_back(counter({}, static_cast<double>(poll_errors_)));
    out.push_back(std::move(errors));

    auto active = family("tcptune_rule_active", MetricType::Gauge,
                         "1 while the active profile's rule is firing, 0 otherwise.");
    auto triggers = family("tcptune_rule_triggers_total", MetricType::Counter,
                           "Times the active profile's rule has fired (resets when the profile "
                           "is switched or reloaded).");
    for (const auto& rule : rules_) {
        active.metric.push_back(gauge({{"rule", rule.name}}, rule.active ? 1.0 : 0.0));
        triggers.metric.push_back(
            counter({{"rule", rule.name}}, static_cast<double>(rule.trigger_count)));
    }
    out.push_back(std::move(active));
    out.push_back(std::move(triggers));

    auto values = family("tcptune_sysctl_value", MetricType::Gauge,
                         "Live value of a sysctl tcptune manages or knows (its allowlist); "
                         "integer pairs such as ip_local_port_range give two series, "
                         "bound=\"low\" and bound=\"high\".");
    auto overridden = family("tcptune_sysctl_overridden", MetricType::Gauge,
                             "1 when an administrator changed a key tcptune manages; tcptune "
                             "leaves it alone until `tcptune resume KEY`.");
    std::set<std::string> seen;
    for (const auto& view : sysctls_) {
        if (!seen.insert(view.key).second) {
            continue;
        }
        for (auto& sample : sysctl_value_samples(view.key, view.current)) {
            values.metric.push_back(std::move(sample));
        }
        overridden.metric.push_back(
            gauge({{"key", view.key}}, view.owner == SysctlOwner::kAdministrator ? 1.0 : 0.0));
    }
    for (const auto& [key, value] : other_sysctl_values_) {
        if (!seen.insert(key).second) {
            continue;
        }
        for (auto& sample : sysctl_value_samples(key, value)) {
            values.metric.push_back(std::move(sample));
        }
    }
    out.push_back(std::move(values));

    auto changes = family("tcptune_sysctl_changes_total", MetricType::Counter,
                          "Sysctl changes by key and outcome since tcptuned started: applied, "
                          "failed, skipped, advised, refused, overridden, restored, resumed.");
    for (const auto& [key_result, count] : changes_) {
        changes.metric.push_back(counter(
            {{"key", key_result.first}, {"result", std::string(to_string(key_result.second))}},
            static_cast<double>(count)));
    }
    out.push_back(std::move(changes));
    out.push_back(std::move(overridden));

    for (const auto& metric : kNetstatMetrics) {
        auto counter_family = family(metric.name, MetricType::Counter, metric.help);
        if (last_snapshot_) {
            counter_family.metric.push_back(
                counter({}, static_cast<double>(last_snapshot_->netstat.*(metric.field))));
        }
        out.push_back(std::move(counter_family));
    }

    for (auto& engine_family : census_engine_families(
             last_snapshot_ ? std::optional<CensusEngineReport>(last_snapshot_->engine)
                            : std::nullopt)) {
        out.push_back(std::move(engine_family));
    }
    append_pressure_families(out);
    if (netns_label_) {
        append_namespace_series(out);
        append_managed_namespace_series(out);
    }
    return out;
}

void MetricsModel::append_managed_namespace_series(
    std::vector<prometheus::MetricFamily>& out) const {
    auto find = [&](std::string_view name) -> prometheus::MetricFamily* {
        for (auto& f : out) {
            if (f.name == name) {
                return &f;
            }
        }
        return nullptr;
    };
    auto* active = find("tcptune_rule_active");
    auto* triggers = find("tcptune_rule_triggers_total");
    auto* values = find("tcptune_sysctl_value");
    auto* overridden = find("tcptune_sysctl_overridden");
    auto* changes = find("tcptune_sysctl_changes_total");
    if (active == nullptr || triggers == nullptr || values == nullptr || overridden == nullptr ||
        changes == nullptr) {
        return;
    }
    for (const auto& [netns, series] : managed_) {
        for (const auto& rule : series.rules) {
            active->metric.push_back(
                gauge({{"netns", netns}, {"rule", rule.name}}, rule.active ? 1.0 : 0.0));
            triggers->metric.push_back(counter({{"netns", netns}, {"rule", rule.name}},
                                               static_cast<double>(rule.trigger_count)));
        }
        std::set<std::string> seen;
        for (const auto& view : series.sysctls) {
            if (!seen.insert(view.key).second) {
                continue;
            }
            for (auto& sample : sysctl_value_samples(view.key, view.current)) {
                sample.label.insert(sample.label.begin(), {"netns", netns});
                values->metric.push_back(std::move(sample));
            }
            overridden->metric.push_back(
                gauge({{"netns", netns}, {"key", view.key}},
                      view.owner == SysctlOwner::kAdministrator ? 1.0 : 0.0));
        }
        for (const auto& [key_result, count] : series.changes) {
            changes->metric.push_back(
                counter({{"netns", netns},
                         {"key", key_result.first},
                         {"result", std::string(to_string(key_result.second))}},
                        static_cast<double>(count)));
        }
    }
}

namespace {

// What a namespace reports beyond its states, in the families that exist only with
// namespaces.watch: all (sockstat's per-namespace lines and the census's duration).
// orphan, alloc and mem of sockstat are host-wide, so they get no netns series.
struct NamespaceExtras {
    std::uint64_t tcp_inuse = 0;
    std::uint64_t tcp6_inuse = 0;
    std::uint64_t tcp_tw = 0;
    double census_seconds = 0;

    void add(const NamespaceExtras& o) {
        tcp_inuse += o.tcp_inuse;
        tcp6_inuse += o.tcp6_inuse;
        tcp_tw += o.tcp_tw;
        census_seconds += o.census_seconds;
    }
};

NamespaceExtras extras_of(const SockstatSummary& sockstat, std::chrono::nanoseconds duration) {
    return {sockstat.tcp_inuse, sockstat.tcp6_inuse, sockstat.tcp_tw,
            std::chrono::duration<double>(duration).count()};
}

struct ExtraFamily {
    const char* name;
    const char* help;
    double (*value)(const NamespaceExtras&);
};

const ExtraFamily kExtraFamilies[] = {
    {"tcptune_sockstat_tcp_inuse",
     "IPv4 TCP sockets the namespace holds outside TIME_WAIT and request sockets (TCP inuse "
     "of its /proc/net/sockstat); namespaces.watch: all only.",
     [](const NamespaceExtras& e) { return static_cast<double>(e.tcp_inuse); }},
    {"tcptune_sockstat_tcp6_inuse",
     "IPv6 TCP sockets the namespace holds outside TIME_WAIT (TCP6 inuse of its "
     "/proc/net/sockstat6); namespaces.watch: all only.",
     [](const NamespaceExtras& e) { return static_cast<double>(e.tcp6_inuse); }},
    {"tcptune_sockstat_tcp_tw",
     "TIME_WAIT sockets of the namespace as its /proc/net/sockstat counts them (TCP tw, "
     "IPv4 and IPv6); namespaces.watch: all only.",
     [](const NamespaceExtras& e) { return static_cast<double>(e.tcp_tw); }},
    {"tcptune_namespace_census_duration_seconds",
     "Wall time of the namespace's last census in seconds (tcptuned's own: its last poll; "
     "_other: the sum over the namespaces it stands for); namespaces.watch: all only.",
     [](const NamespaceExtras& e) { return e.census_seconds; }},
};

}  // namespace

void MetricsModel::append_namespace_series(std::vector<prometheus::MetricFamily>& out) const {
    for (auto& f : out) {
        if (is_process_wide(f.name)) {
            continue;
        }
        for (auto& metric : f.metric) {
            metric.label.insert(metric.label.begin(), {"netns", std::string(kOwnNetnsName)});
        }
    }
    // The namespaces exported by name, then "_other" for the rest (summed).
    struct Row {
        std::string netns;
        StateCounts counts;
        NamespaceExtras extras;
    };
    std::vector<Row> rows;
    Row rest{"_other", {}, {}};
    bool any_rest = false;
    for (std::size_t i = 0; i < other_namespaces_.size(); ++i) {
        const auto& ns = other_namespaces_[i];
        const NamespaceExtras extras = extras_of(ns.sockstat, ns.duration);
        if (i < netns_top_k_) {
            rows.push_back({ns.ns.name, ns.counts, extras});
            continue;
        }
        any_rest = true;
        for (std::size_t s = 0; s < kTcpStateCount; ++s) {
            rest.counts.by_state[s] += ns.counts.by_state[s];
        }
        rest.extras.add(extras);
    }
    if (any_rest) {
        rows.push_back(std::move(rest));
    }
    for (auto& f : out) {
        if (f.name != "tcptune_tcp_sockets") {
            continue;
        }
        for (const auto& row : rows) {
            for (const auto state : kAllTcpStates) {
                f.metric.push_back(
                    gauge({{"netns", row.netns}, {"state", std::string(state_name(state))}},
                          static_cast<double>(row.counts[state])));
            }
        }
    }
    for (const auto& extra : kExtraFamilies) {
        auto f = family(extra.name, prometheus::MetricType::Gauge, extra.help);
        if (last_snapshot_) {
            f.metric.push_back(
                gauge({{"netns", std::string(kOwnNetnsName)}},
                      extra.value(extras_of(last_snapshot_->sockstat, last_snapshot_->duration))));
        }
        for (const auto& row : rows) {
            f.metric.push_back(gauge({{"netns", row.netns}}, extra.value(row.extras)));
        }
        out.push_back(std::move(f));
    }
}

void MetricsModel::append_pressure_families(std::vector<prometheus::MetricFamily>& out) const {
    const PressureSignals* p = last_snapshot_ ? &last_snapshot_->pressure : nullptr;

    auto syn = family("tcptune_listener_syn_queue", prometheus::MetricType::Gauge,
                      "Half-open connections (request sockets) of a listener, for the listeners "
                      "with the fullest queues (at most metrics_top_k).");
    auto accept = family("tcptune_listener_accept_queue", prometheus::MetricType::Gauge,
                         "Completed connections waiting for accept() on a listener, for the "
                         "listeners with the fullest queues.");
    auto backlog = family("tcptune_listener_backlog", prometheus::MetricType::Gauge,
                          "A listener's effective backlog, min(listen() backlog, "
                          "net.core.somaxconn): the limit of both of its queues.");
    if (p != nullptr && p->listeners) {
        const auto& filling = p->listeners->filling;
        for (std::size_t i = 0; i < filling.size() && i < top_k_; ++i) {
            const std::vector<prometheus::ClientMetric::Label> labels = {
                {"listener", format_endpoint(filling[i].local)}};
            syn.metric.push_back(gauge(labels, static_cast<double>(filling[i].syn_queue)));
            accept.metric.push_back(gauge(labels, static_cast<double>(filling[i].queued)));
            backlog.metric.push_back(gauge(labels, static_cast<double>(filling[i].backlog)));
        }
    }
    out.push_back(std::move(syn));
    out.push_back(std::move(accept));
    out.push_back(std::move(backlog));

    auto usable = family("tcptune_ephemeral_ports_usable", prometheus::MetricType::Gauge,
                         "Ports connect() may pick: net.ipv4.ip_local_port_range minus "
                         "net.ipv4.ip_local_reserved_ports.");
    auto held = family("tcptune_destination_sockets", prometheus::MetricType::Gauge,
                       "Sockets holding an ephemeral port towards a destination (local address, "
                       "remote address:port), for the most occupied destinations (at most "
                       "metrics_top_k).");
    auto share = family("tcptune_destination_port_usage_ratio", prometheus::MetricType::Gauge,
                        "Share of the usable ephemeral ports held towards a destination; "
                        "connect() to it fails with EADDRNOTAVAIL at 1.");
    if (p != nullptr && p->destinations) {
        usable.metric.push_back(gauge({}, static_cast<double>(p->destinations->usable)));
        const auto& top = p->destinations->top;
        for (std::size_t i = 0; i < top.size() && i < top_k_; ++i) {
            const std::vector<prometheus::ClientMetric::Label> labels = {
                {"local", format_address(top[i].local)},
                {"destination", format_endpoint(top[i].remote)}};
            held.metric.push_back(gauge(labels, static_cast<double>(top[i].sockets)));
            share.metric.push_back(gauge(labels, top[i].occupancy));
        }
    }
    out.push_back(std::move(usable));
    out.push_back(std::move(held));
    out.push_back(std::move(share));

    auto dead = family("tcptune_dead_peer_sockets", prometheus::MetricType::Gauge,
                       "Sockets whose peer does not answer, by evidence: keepalive probes, "
                       "retransmissions or zero-window probes unanswered.");
    if (p != nullptr && p->dead_peers) {
        dead.metric.push_back(gauge({{"kind", "keepalive"}},
                                    static_cast<double>(p->dead_peers->keepalive_unanswered)));
        dead.metric.push_back(
            gauge({{"kind", "retransmit"}}, static_cast<double>(p->dead_peers->retransmitting)));
        dead.metric.push_back(
            gauge({{"kind", "zero_window"}}, static_cast<double>(p->dead_peers->zero_window)));
    }
    out.push_back(std::move(dead));

    auto rates = family("tcptune_tcp_event_rate", prometheus::MetricType::Gauge,
                        "Kernel TCP counters (TcpExt and Tcp) per second between the last two "
                        "polls; the counter label is the profile's name for it.");
    auto ratio = family("tcptune_tcp_retransmit_ratio", prometheus::MetricType::Gauge,
                        "RetransSegs / OutSegs between the last two polls.");
    if (p != nullptr && p->rates) {
        for (RateCounter c : kAllRateCounters) {
            if (auto r = p->rates->rate(c)) {
                rates.metric.push_back(gauge({{"counter", std::string(rate_counter_name(c))}}, *r));
            }
        }
        if (p->rates->retrans_ratio) {
            ratio.metric.push_back(gauge({}, *p->rates->retrans_ratio));
        }
    }
    out.push_back(std::move(rates));
    out.push_back(std::move(ratio));

    auto subject = family("tcptune_rule_subject", prometheus::MetricType::Gauge,
                          "1 for the listener or destination an active per-listener or "
                          "per-destination rule fired on.");
    auto ineffective = family("tcptune_rule_did_not_help", prometheus::MetricType::Gauge,
                              "1 while a rule's change did not improve its signal and was "
                              "reverted; the rule does not act again until it clears.");
    for (const auto& rule : rules_) {
        if (rule.active && !rule.subject.empty()) {
            subject.metric.push_back(gauge({{"rule", rule.name}, {"subject", rule.subject}}, 1.0));
        }
        ineffective.metric.push_back(
            gauge({{"rule", rule.name}}, rule.verdict == "did not help" ? 1.0 : 0.0));
    }
    out.push_back(std::move(subject));
    out.push_back(std::move(ineffective));
}

}  // namespace tcptune
