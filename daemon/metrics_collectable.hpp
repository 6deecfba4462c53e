#pragma once

// The bridge between the loop thread and the metrics HTTP thread. The
// exporter takes the MetricsModel's families (prometheus-cpp types already) on
// the loop thread and publishes them here as one immutable snapshot; a scrape only takes
// a shared pointer under the mutex and copies the families, so it never waits
// for a poll, never touches the Controller and never triggers a netlink dump.

#include <memory>
#include <mutex>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace tcptune {

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
