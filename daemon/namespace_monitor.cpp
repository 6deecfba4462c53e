#include "namespace_monitor.hpp"

#include <spdlog/spdlog.h>

namespace tcptune {

NamespaceMonitor::NamespaceMonitor(std::unique_ptr<NamespaceCensusEngine> engine,
                                   std::chrono::milliseconds interval)
    : engine_(std::move(engine)), interval_(interval), thread_([this] { run(); }) {}

NamespaceMonitor::~NamespaceMonitor() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::vector<NamespaceCounts> NamespaceMonitor::latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
}

NamespaceMonitor::Round NamespaceMonitor::latest_round() const {
    std::lock_guard lock(mutex_);
    return Round{rounds_, discovered_, latest_};
}

std::uint64_t NamespaceMonitor::rounds() const {
    std::lock_guard lock(mutex_);
    return rounds_;
}

void NamespaceMonitor::run() {
    for (;;) {
        std::vector<NamespaceCounts> counted;
        std::optional<std::vector<NetnsInfo>> all;
        auto discovered = discover_namespaces();
        if (!discovered) {
            spdlog::warn("namespaces: {}", discovered.error().message);
        } else {
            all = *discovered;
            std::vector<NetnsInfo> others;
            for (auto& ns : *discovered) {
                if (!ns.own) {
                    others.push_back(std::move(ns));
                }
            }
            auto report = engine_->count(others);
            if (!report) {
                spdlog::warn("namespaces: {}", report.error().message);
            } else {
                // Vanished namespaces are normal on a busy node: debug only.
                for (const auto& ns : report->vanished) {
                    spdlog::debug("namespace {} (inode {}) vanished during the census", ns.name,
                                  ns.id.inode);
                }
                // One line per round, however many failed (no log storm).
                if (!report->failed.empty()) {
                    const auto& first = report->failed.front();
                    spdlog::warn("namespaces: {} could not be counted (first: {}: {})",
                                 report->failed.size(), first.ns.name, first.error.message);
                }
                counted = std::move(report->namespaces);
            }
        }
        std::unique_lock lock(mutex_);
        latest_ = std::move(counted);
        discovered_ = std::move(all);
        ++rounds_;
        if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
            return;
        }
    }
}

}  // namespace tcptune
