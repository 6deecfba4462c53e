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
// GetNamespaceTop shares the worker: each (namespace, by_process) key has a
// slot of its own, and keys whose callers wait are served one after the other,
// oldest first, so every namespace a caller names costs one breakdown at a time
// whatever the number of callers.
//
// Threading: request() and the replies run on the loop thread; only compute
// runs on the worker, and it shares nothing with the loop but the hand-over
// slot (mutex) and an eventfd that wakes the loop.

#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <deque>
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

// What a breakdown is taken of: a namespace as the caller named it ("": the
// daemon's own; resolved by the compute, on the worker) and whether processes
// are named.
struct TopKey {
    std::string netns;
    bool by_process = false;
    auto operator<=>(const TopKey&) const = default;
};

// The breakdown the daemon takes: every state, rows up to kMaxTopLimit, prefixes;
// by_process: owners instead of prefixes.
BreakdownOptions daemon_breakdown_options(bool by_process);

class TopService {
  public:
    using Compute = std::function<Result<Breakdown>(const TopKey& key)>;
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
    Result<void> request(const TopKey& key, const std::string& sender, Reply reply);

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
        bool computing = false;  // queued for or running on the worker
        std::vector<Waiter> waiters;
    };
    struct Done {
        TopKey key;
        Result<Breakdown> result;
        std::chrono::steady_clock::duration took{};
    };

    bool fresh(const Slot& slot) const;
    void pump();     // loop thread: hands the oldest queued key to an idle worker
    void on_wake();  // loop thread: takes the finished job
    void forget_idle_slots();
    void worker_main();

    EventLoop& loop_;
    Compute compute_;
    TopLimits limits_;
    UniqueFd wake_fd_;  // eventfd: worker -> loop
    std::map<TopKey, Slot> slots_;
    std::deque<TopKey> queued_;  // keys with waiters, not yet handed to the worker
    bool busy_ = false;          // the worker has a job
    std::map<std::string, std::size_t> waiting_by_sender_;
    std::uint64_t computations_ = 0;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<TopKey> job_;  // guarded by mutex_
    std::optional<Done> done_;   // guarded by mutex_
    bool quit_ = false;          // guarded by mutex_
    std::thread worker_;
};

}  // namespace tcptune::daemon
