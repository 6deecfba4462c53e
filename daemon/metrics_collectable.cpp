#include "metrics_collectable.hpp"

#include <limits>
#include <utility>

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

namespace tcptune {

namespace {

prometheus::MetricType to_prometheus_type(MetricKind kind) {
    switch (kind) {
        case MetricKind::kGauge:
            return prometheus::MetricType::Gauge;
        case MetricKind::kCounter:
            return prometheus::MetricType::Counter;
        case MetricKind::kHistogram:
            return prometheus::MetricType::Histogram;
    }
    return prometheus::MetricType::Untyped;
}

std::vector<prometheus::ClientMetric::Label> to_prometheus_labels(
    const std::vector<MetricLabel>& labels) {
    std::vector<prometheus::ClientMetric::Label> out;
    out.reserve(labels.size());
    for (const auto& label : labels) {
        out.push_back({label.name, label.value});
    }
    return out;
}

prometheus::ClientMetric to_prometheus_histogram(const HistogramData& data) {
    prometheus::ClientMetric metric;
    auto& histogram = metric.histogram;
    histogram.sample_count = data.count;
    histogram.sample_sum = data.sum;
    for (std::size_t i = 0; i < data.upper_bounds.size(); ++i) {
        histogram.bucket.push_back({data.cumulative_counts[i], data.upper_bounds[i]});
    }
    histogram.bucket.push_back({data.count, std::numeric_limits<double>::infinity()});
    return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> to_prometheus_families(
    const std::vector<MetricFamilyData>& families) {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families.size());
    for (const auto& family : families) {
        prometheus::MetricFamily converted;
        converted.name = family.name;
        converted.help = family.help;
        converted.type = to_prometheus_type(family.kind);
        if (family.kind == MetricKind::kHistogram) {
            if (family.histogram) {
                converted.metric.push_back(to_prometheus_histogram(*family.histogram));
            }
        } else {
            for (const auto& sample : family.samples) {
                prometheus::ClientMetric metric;
                metric.label = to_prometheus_labels(sample.labels);
                if (family.kind == MetricKind::kCounter) {
                    metric.counter.value = sample.value;
                } else {
                    metric.gauge.value = sample.value;
                }
                converted.metric.push_back(std::move(metric));
            }
        }
        out.push_back(std::move(converted));
    }
    return out;
}

void PublishedMetrics::publish(std::vector<prometheus::MetricFamily> families) {
    auto next = std::make_shared<const std::vector<prometheus::MetricFamily>>(std::move(families));
    const std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

std::vector<prometheus::MetricFamily> PublishedMetrics::Collect() const {
    std::shared_ptr<const std::vector<prometheus::MetricFamily>> snapshot;
    {
        const std::lock_guard lock(mutex_);
        snapshot = current_;
    }
    return *snapshot;  // copied outside the lock: a slow scrape never blocks publish()
}

}  // namespace tcptune
