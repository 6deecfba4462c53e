#include "namespace_monitor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace tcptune {

NamespaceMonitor::NamespaceMonitor(std::unique_ptr<NamespaceCensusEngine> engine,
                                   std::chrono::milliseconds interval,
                                   std::chrono::seconds failure_log_window)
    : engine_(std::move(engine)),
      interval_(interval),
      failure_log_(1, failure_log_window),
      thread_([this] { run(); }) {}

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

namespace {

using daemon::suppressed_note;

constexpr std::string_view kSuppressedWhose = "for this namespace";

std::string failure_key(const NetnsInfo& ns, const Error& error) {
    return fmt::format("{} {} {}", ns.name, ns.id.inode, static_cast<int>(error.code));
}

}  // namespace

void NamespaceMonitor::log_round(const NamespaceCensusReport& report) {
    // Vanished namespaces are normal on a busy node: debug only.
    for (const auto& ns : report.vanished) {
        spdlog::debug("namespace {} (inode {}) vanished during the census", ns.name, ns.id.inode);
    }
    for (const auto& failure : report.failed) {
        if (auto suppressed = failure_log_.admit(failure_key(failure.ns, failure.error))) {
            spdlog::warn("namespaces: {} (inode {}) could not be counted: {}{}", failure.ns.name,
                         failure.ns.id.inode, failure.error.message,
                         suppressed_note(*suppressed, kSuppressedWhose));
        }
    }
}

void NamespaceMonitor::run() {
    for (;;) {
        std::vector<NamespaceCounts> counted;
        std::optional<std::vector<NetnsInfo>> all;
        auto discovered = discover_namespaces();
        if (!discovered) {
            if (auto suppressed = failure_log_.admit("discovery")) {
                spdlog::warn("namespaces: {}{}", discovered.error().message,
                             suppressed_note(*suppressed, "for discovery"));
            }
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
                if (auto suppressed = failure_log_.admit("census")) {
                    spdlog::warn("namespaces: {}{}", report.error().message,
                                 suppressed_note(*suppressed, "for the census"));
                }
            } else {
                log_round(*report);
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
