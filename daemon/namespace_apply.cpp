#include "namespace_apply.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace tcptune::daemon {

NamespaceApplier::NamespaceApplier(NamespaceFleet& fleet, const NamespaceMonitor& monitor)
    : fleet_(fleet), monitor_(monitor) {
    fleet_.set_observer(this);
}

NamespaceApplier::~NamespaceApplier() {
    fleet_.set_observer(nullptr);
}

void NamespaceApplier::tick() {
    NamespaceMonitor::Round round = monitor_.latest_round();
    if (round.number == last_round_ || !round.discovered) {
        return;  // nothing new, or discovery failed (nothing can be said to be gone)
    }
    last_round_ = round.number;
    for (const FleetNote& note : fleet_.update(*round.discovered, round.counted)) {
        if (note.level == FleetNote::Level::kWarning) {
            spdlog::warn("{}", note.message);
        } else {
            spdlog::info("{}", note.message);
        }
    }
}

void NamespaceApplier::set_metrics(MetricsExporter* metrics) {
    metrics_ = metrics;
    for (ManagedNamespace* managed : fleet_.managed()) {
        attach_metrics(*managed, attached_[managed->ns().id.inode]);
    }
}

void NamespaceApplier::attach_metrics(ManagedNamespace& managed, Attached& attached) {
    if (metrics_ == nullptr || attached.metrics) {
        return;
    }
    attached.metrics = metrics_->namespace_observer(managed.ns().name, managed.controller());
    managed.controller().add_observer(attached.metrics.get());
}

void NamespaceApplier::on_poll(const CensusSnapshot& /*snapshot*/) {
    tick();
}

void NamespaceApplier::on_poll_error(const Error& /*error*/) {
    tick();
}

void NamespaceApplier::on_opened(ManagedNamespace& managed) {
    Attached& attached = attached_[managed.ns().id.inode];
    attached.logger = std::make_unique<ChangeLogger>("netns " + managed.ns().name + ": ");
    managed.controller().add_observer(attached.logger.get());
    attach_metrics(managed, attached);
}

void NamespaceApplier::on_closing(ManagedNamespace& managed) {
    auto it = attached_.find(managed.ns().id.inode);
    if (it == attached_.end()) {
        return;
    }
    managed.controller().remove_observer(it->second.logger.get());
    if (it->second.metrics) {
        managed.controller().remove_observer(it->second.metrics.get());
        metrics_->forget_namespace(managed.ns().name);
    }
    attached_.erase(it);
}

}  // namespace tcptune::daemon
