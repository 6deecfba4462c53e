#include "metrics_collectable.hpp"

#include <utility>

namespace tcptune {

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
