#pragma once

// GetTop without stalling the loop. A breakdown of the socket table is a full
// sock_diag dump (seconds at 400k sockets) and, by process, a walk of every
// /proc/<pid>/fd: work that must never run on the event loop, where a flood of
// calls from any local user would starve the polls, the watchdog and root's
// own calls. So one worker thread takes breakdowns of every state at once, the
// loop serves every caller from the latest one while it is fresh, and callers
// that arrive while none is fresh wait (bounded, per sender and in total) for
// the one being taken. A flood costs at most one dump per freshness window.
//
// Threading: request() and the replies run on the loop thread; only compute
// runs on the worker, and it shares nothing with the loop but the hand-over
// slot (mutex) and an eventfd that wakes the loop.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.hpp"
#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::daemon {

struct TopLimits {
    // Calls waiting for a breakdown, per sender (bus connection) and in total.
    std::size_t max_waiting_per_sender = 4;
    std::size_t max_waiting_total = 64;
    // A breakdown is served for at least min_fresh, and for fresh_factor times
    // as long as it took: a flood costs at most 1 / fresh_factor of a core.
    std::chrono::milliseconds min_fresh{1000};
    unsigned fresh_factor = 4;
};

// The breakdown the daemon takes: every state, rows up to kMaxTopLimit, prefixes;
// by_process: owners instead of prefixes.
BreakdownOptions daemon_breakdown_options(bool by_process);

class TopService {
  public:
    using Compute = std::function<Result<Breakdown>(bool by_process)>;
    using Shared = std::shared_ptr<const Breakdown>;
    using Reply = std::function<void(const Result<Shared>&)>;

    // Starts the worker thread (call after the signal mask is set).
    static Result<std::unique_ptr<TopService>> create(EventLoop& loop, Compute compute,
                                                      TopLimits limits = {});
    ~TopService();
    TopService(const TopService&) = delete;
    TopService& operator=(const TopService&) = delete;

    // Loop thread. Calls `reply` exactly once: at once when a fresh breakdown
    // exists, else on the loop thread when the worker has one. Over the limits:
    // kRefused, and `reply` is never called.
    Result<void> request(bool by_process, const std::string& sender, Reply reply);

    std::uint64_t computations() const { return computations_; }
    std::size_t waiting() const;

  private:
    TopService(EventLoop& loop, Compute compute, TopLimits limits, UniqueFd wake_fd);
    struct Waiter {
        std::string sender;
        Reply reply;
    };
    struct Slot {
        Shared value;
        std::chrono::steady_clock::time_point taken_at{};
        std::chrono::steady_clock::duration took{};
        bool computing = false;
        std::vector<Waiter> waiters;
    };
    struct Done {
        bool by_process = false;
        Result<Breakdown> result;
        std::chrono::steady_clock::duration took{};
    };

    bool fresh(const Slot& slot) const;
    void start(bool by_process);  // loop thread: hands a job to the worker
    void on_wake();               // loop thread: takes the finished job
    void worker_main();

    EventLoop& loop_;
    Compute compute_;
    TopLimits limits_;
    UniqueFd wake_fd_;  // eventfd: worker -> loop
    Slot slots_[2];     // [by_process]
    std::map<std::string, std::size_t> waiting_by_sender_;
    std::uint64_t computations_ = 0;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<bool> job_;   // guarded by mutex_
    std::optional<Done> done_;  // guarded by mutex_
    bool quit_ = false;         // guarded by mutex_
    std::thread worker_;
};

}  // namespace tcptune::daemon
