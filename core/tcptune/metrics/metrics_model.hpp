#pragma once

// The Prometheus metric set of tcptune (docs/metrics.md), built from what the
// Controller reports, in prometheus-cpp's own data types (prometheus-cpp::core:
// no HTTP). It knows names, help texts, types and labels; the daemon's exporter
// publishes families() as they are and prometheus-cpp serializes them. Keeping
// the set here makes it testable without a server (tests compare the serialized
// text) and keeps label cardinality reviewable in one place: every label value
// comes from a bounded set (the 11 TCP states, the profile's rule names, the
// sysctl registry, the ChangeResult enum).
//
// Threading: not synchronized. The exporter updates it on the controller's loop
// thread and publishes copies of families() to its HTTP threads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/netns/netns_census.hpp"

namespace tcptune {

// Bucket bounds of tcptune_poll_duration_seconds: 100 µs to 10 s, roughly
// 1-2.5-5 per decade. A poll of an idle host takes well under a millisecond; one
// with 500k sockets takes a few hundred milliseconds, and a poll that takes
// seconds means the host is in trouble.
const prometheus::Histogram::BucketBoundaries& poll_duration_buckets();

// Splits a sysctl value into the series of tcptune_sysctl_value{key}. One
// integer: one series labelled {key}. An integer pair ("32768 60999",
// ip_local_port_range): two series {key, bound="low"} and {key, bound="high"}.
// Anything else (unreadable, not numeric): no series.
std::vector<prometheus::ClientMetric> sysctl_value_samples(std::string_view key,
                                                           std::string_view value);

class MetricsModel {
  public:
    explicit MetricsModel(std::string version);

    // A successful poll: its counts and netstat counters become the current
    // values and its duration is observed by the poll-duration histogram.
    void observe_poll(const CensusSnapshot& snapshot);

    // One ChangeRecord from the controller: counted by key and result.
    void count_change(const ChangeRecord& record);

    // The controller's view after any event: rules, managed sysctls (values and
    // overrides) and the poll error count are taken from it as they are.
    void set_status(const ControllerStatus& status);

    // Live values of registry keys the status does not cover (read by the
    // exporter through the SysctlStore), so alerts can relate counts to limits
    // such as net.ipv4.tcp_max_tw_buckets even when no profile manages them.
    void set_other_sysctl_values(std::map<std::string, std::string> values);

    // Worst listeners and destinations exported per poll (bounded cardinality);
    // 0 exports none. Default 10 (the daemon's metrics_top_k).
    void set_top_k(std::size_t k) { top_k_ = k; }

    // Series of the namespaces other than tcptuned's own (namespaces.watch: all). Once
    // called, every per-namespace series carries netns="host" for tcptuned's own
    // namespace, and tcptune_tcp_sockets gets {netns, state} series for the `top_k`
    // namespaces with the most sockets; the rest are summed under netns="_other".
    // Each call replaces the previous set: a namespace that is gone loses its series.
    void set_other_namespaces(std::vector<NamespaceCounts> namespaces, std::size_t top_k);

    // A managed namespace's controller (per-namespace profiles): its rules, sysctls
    // and changes are series of the same families as tcptuned's own, labelled
    // netns="<name>". forget_namespace drops them all (gone, or no longer managed).
    void set_namespace_status(const std::string& netns, const ControllerStatus& status);
    void count_namespace_change(const std::string& netns, const ChangeRecord& record);
    void forget_namespace(const std::string& netns);

    // The complete exposition, every family with HELP text, in a stable order.
    // Families that have nothing to report yet (no poll so far) have no samples.
    std::vector<prometheus::MetricFamily> families() const;

  private:
    void append_pressure_families(std::vector<prometheus::MetricFamily>& out) const;
    void append_namespace_series(std::vector<prometheus::MetricFamily>& out) const;
    void append_managed_namespace_series(std::vector<prometheus::MetricFamily>& out) const;

    using ChangeCounts = std::map<std::pair<std::string, ChangeResult>, std::uint64_t>;
    struct ManagedSeries {
        std::vector<RuleStatus> rules;
        std::vector<SysctlView> sysctls;
        ChangeCounts changes;
    };

    std::string version_;
    std::optional<CensusSnapshot> last_snapshot_;
    prometheus::Histogram poll_duration_;
    std::uint64_t poll_errors_ = 0;
    std::vector<RuleStatus> rules_;
    std::vector<SysctlView> sysctls_;
    std::map<std::string, std::string> other_sysctl_values_;
    // (key, result) -> count; pre-seeded with 0 for every managed key and result
    // so `increase()` sees the first failure instead of a series appearing at 1.
    ChangeCounts changes_;
    std::size_t top_k_ = 10;
    bool netns_label_ = false;
    std::vector<NamespaceCounts> other_namespaces_;  // sorted, busiest first
    std::size_t netns_top_k_ = 0;
    std::map<std::string, ManagedSeries> managed_;  // by namespace name
};

}  // namespace tcptune
