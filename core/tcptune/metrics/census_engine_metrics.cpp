#include "tcptune/metrics/census_engine_metrics.hpp"

#include <string>
#include <utility>

#include "tcptune/census/bpf/seed.hpp"

namespace tcptune {

namespace {

using prometheus::MetricType;

prometheus::MetricFamily make_family(std::string name, MetricType type, std::string help) {
    return prometheus::MetricFamily{std::move(name), std::move(help), type, {}};
}

prometheus::ClientMetric sample(MetricType type,
                                std::vector<prometheus::ClientMetric::Label> labels, double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    if (type == MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> census_engine_families(
    const std::optional<CensusEngineReport>& report) {
    auto engine = make_family("tcptune_census_engine", MetricType::Gauge,
                              "1 for the census engine counting the sockets (bpf: state "
                              "counters; netlink: a sock_diag dump per poll), 0 for the other.");
    auto reconciliations =
        make_family("tcptune_census_reconciliations_total", MetricType::Counter,
                    "Times the bpf census engine was checked against (and corrected by) a full "
                    "sock_diag dump, the seeding included; 0 with the netlink engine.");
    auto drift =
        make_family("tcptune_census_drift_sockets", MetricType::Gauge,
                    "Engine count minus a full dump's, per state, found by the bpf engine's last "
                    "reconciliation (then corrected); states the bpf program counts. 0 is exact.");
    auto lost = make_family("tcptune_census_lost_events_total", MetricType::Counter,
                            "State changes the bpf census engine could not count (kernel "
                            "recursion guard, full maps); any make it reconcile early.");
    if (report) {
        for (auto kind : {CensusEngineKind::kBpf, CensusEngineKind::kNetlink}) {
            engine.metric.push_back(sample(MetricType::Gauge,
                                           {{"engine", std::string(to_string(kind))}},
                                           report->engine == kind ? 1.0 : 0.0));
        }
        reconciliations.metric.push_back(
            sample(MetricType::Counter, {}, static_cast<double>(report->reconciliations)));
        lost.metric.push_back(
            sample(MetricType::Counter, {}, static_cast<double>(report->lost_events)));
        if (report->last_drift) {
            for (TcpState state : kAllTcpStates) {
                if (bpf_counts_kernel_state(static_cast<unsigned>(state))) {
                    drift.metric.push_back(
                        sample(MetricType::Gauge, {{"state", std::string(state_name(state))}},
                               static_cast<double>((*report->last_drift)[state_index(state)])));
                }
            }
        }
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(engine));
    out.push_back(std::move(reconciliations));
    out.push_back(std::move(drift));
    out.push_back(std::move(lost));
    return out;
}

}  // namespace tcptune
