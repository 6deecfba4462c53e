#pragma once

// The bridge between the loop thread and the metrics HTTP thread. The
// exporter converts the MetricsModel into prometheus-cpp families on the loop
// thread and publishes them here as one immutable snapshot; a scrape only takes
// a shared pointer under the mutex and copies the families, so it never waits
// for a poll, never touches the Controller and never triggers a netlink dump.

#include <memory>
#include <mutex>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "tcptune/metrics/metrics_model.hpp"

namespace tcptune {

// prometheus-cpp's shape of the model (histograms get their +Inf bucket here).
std::vector<prometheus::MetricFamily> to_prometheus_families(
    const std::vector<MetricFamilyData>& families);

class PublishedMetrics final : public prometheus::Collectable {
  public:
    // Loop thread: replaces what the next scrape returns.
    void publish(std::vector<prometheus::MetricFamily> families);

    // HTTP thread: the last published families.
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const std::vector<prometheus::MetricFamily>> current_ =
        std::make_shared<const std::vector<prometheus::MetricFamily>>();
};

}  // namespace tcptune
