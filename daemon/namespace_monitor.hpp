#pragma once

// namespaces.watch: all — a census of every other network namespace, on a thread of
// its own: discovery plus the per-namespace census engine, once per interval. With
// the shared established hash a census of N namespaces walks the whole host table
// 2N times (docs/performance.md), seconds on a busy node, so it never runs on the
// event loop. The exporter takes the latest result on the loop thread (latest());
// a namespace that vanished is simply absent from the next result.
//
// A namespace that cannot be counted (permission, a race with its teardown) fails
// again every round: its warning is logged once, then at most once per
// `failure_log_window` with the number of rounds suppressed meanwhile, keyed by the
// namespace (name and inode) and the kind of error; so is a failing discovery.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "log_limiter.hpp"
#include "tcptune/netns/netns_census.hpp"

namespace tcptune {

class NamespaceMonitor {
  public:
    NamespaceMonitor(std::unique_ptr<NamespaceCensusEngine> engine,
                     std::chrono::milliseconds interval,
                     std::chrono::seconds failure_log_window = std::chrono::minutes(10));
    ~NamespaceMonitor();  // stops and joins the thread
    NamespaceMonitor(const NamespaceMonitor&) = delete;
    NamespaceMonitor& operator=(const NamespaceMonitor&) = delete;

    // The other namespaces' counts from the last completed round (empty before).
    std::vector<NamespaceCounts> latest() const;
    // Rounds completed so far (tests wait on it).
    std::uint64_t rounds() const;

    // The last completed round as a whole: which namespaces exist (tcptuned's own
    // included) and what was counted. discovered is nullopt when discovery failed
    // that round (then nothing can be said to have vanished).
    struct Round {
        std::uint64_t number = 0;
        std::optional<std::vector<NetnsInfo>> discovered;
        std::vector<NamespaceCounts> counted;
    };
    Round latest_round() const;

  private:
    void run();
    void log_round(const NamespaceCensusReport& report);

    std::unique_ptr<NamespaceCensusEngine> engine_;
    std::chrono::milliseconds interval_;
    daemon::LogRateLimiter failure_log_;  // the monitor thread's only
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::vector<NamespaceCounts> latest_;
    std::optional<std::vector<NetnsInfo>> discovered_;
    std::uint64_t rounds_ = 0;
    std::thread thread_;
};

}  // namespace tcptune
