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

void NamespaceApplier::add_namespace_observer(ControllerObserver* observer) {
    observers_.push_back(observer);
    for (ManagedNamespace* managed : fleet_.managed()) {
        managed->controller().add_observer(observer);
    }
}

void NamespaceApplier::on_poll(const CensusSnapshot& /*snapshot*/) {
    tick();
}

void NamespaceApplier::on_poll_error(const Error& /*error*/) {
    tick();
}

void NamespaceApplier::on_opened(ManagedNamespace& managed) {
    auto logger = std::make_unique<ChangeLogger>("netns " + managed.ns().name + ": ");
    managed.controller().add_observer(logger.get());
    loggers_[managed.ns().id.inode] = std::move(logger);
    for (ControllerObserver* observer : observers_) {
        managed.controller().add_observer(observer);
    }
}

void NamespaceApplier::on_closing(ManagedNamespace& managed) {
    for (ControllerObserver* observer : observers_) {
        managed.controller().remove_observer(observer);
    }
    if (auto it = loggers_.find(managed.ns().id.inode); it != loggers_.end()) {
        managed.controller().remove_observer(it->second.get());
        loggers_.erase(it);
    }
}

}  // namespace tcptune::daemon
