#include "top_service.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "tcptune/diagnosis/diagnosis.hpp"

namespace tcptune::daemon {

BreakdownOptions daemon_breakdown_options(bool by_process) {
    BreakdownOptions options;
    options.states.assign(kAllTcpStates.begin(), kAllTcpStates.end());
    options.top_n = kMaxTopLimit;
    options.capacity = std::max<std::size_t>(options.capacity, kMaxTopLimit);
    options.by_prefix = !by_process;
    options.by_process = by_process;
    options.destinations = true;  // GetTop by=destination
    return options;
}

Result<std::unique_ptr<TopService>> TopService::create(EventLoop& loop, Compute compute,
                                                       TopLimits limits) {
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) {
        return make_error(ErrorCode::kIo, "eventfd: " + errno_text(errno));
    }
    std::unique_ptr<TopService> service(
        new TopService(loop, std::move(compute), limits, std::move(wake)));
    loop.watch_fd(service->wake_fd_.get(), EPOLLIN, [raw = service.get()] { raw->on_wake(); });
    service->worker_ = std::thread([raw = service.get()] { raw->worker_main(); });
    return service;
}

TopService::TopService(EventLoop& loop, Compute compute, TopLimits limits, UniqueFd wake_fd)
    : loop_(loop), compute_(std::move(compute)), limits_(limits), wake_fd_(std::move(wake_fd)) {}

TopService::~TopService() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) {
        // A dump in progress finishes first (bounded by the socket count).
        worker_.join();
    }
    loop_.unwatch_fd(wake_fd_.get());
}

std::size_t TopService::waiting() const {
    std::size_t n = 0;
    for (const auto& [key, slot] : slots_) {
        n += slot.waiters.size();
    }
    return n;
}

bool TopService::fresh(const Slot& slot) const {
    if (!slot.value) {
        return false;
    }
    const auto window = std::max<std::chrono::steady_clock::duration>(
        limits_.min_fresh, slot.took * limits_.fresh_factor);
    return std::chrono::steady_clock::now() - slot.taken_at < window;
}

// Slots of keys nobody waits for and whose breakdown went stale: a caller naming
// ever new namespaces must not grow the map.
void TopService::forget_idle_slots() {
    for (auto it = slots_.begin(); it != slots_.end();) {
        const Slot& slot = it->second;
        if (!slot.computing && slot.waiters.empty() && !fresh(slot)) {
            it = slots_.erase(it);
        } else {
            ++it;
        }
    }
}

Result<void> TopService::request(const TopKey& key, const std::string& sender, Reply reply) {
    if (auto it = slots_.find(key); it != slots_.end() && fresh(it->second)) {
        reply(it->second.value);
        return {};
    }
    if (waiting() >= limits_.max_waiting_total) {
        return make_error(ErrorCode::kRefused,
                          "too many GetTop calls are waiting for the socket breakdown (" +
                              std::to_string(limits_.max_waiting_total) + "); try again shortly");
    }
    std::size_t& mine = waiting_by_sender_[sender];
    if (mine >= limits_.max_waiting_per_sender) {
        return make_error(ErrorCode::kRefused,
                          "this connection already has " + std::to_string(mine) +
                              " GetTop calls waiting for the socket breakdown; wait for their "
                              "answers");
    }
    ++mine;
    forget_idle_slots();
    Slot& slot = slots_[key];
    slot.waiters.push_back(Waiter{sender, std::move(reply)});
    if (!slot.computing) {
        slot.computing = true;
        queued_.push_back(key);
    }
    pump();
    return {};
}

void TopService::pump() {
    if (busy_ || queued_.empty()) {
        return;
    }
    busy_ = true;
    ++computations_;
    {
        std::lock_guard lock(mutex_);
        job_ = std::move(queued_.front());
    }
    queued_.pop_front();
    cv_.notify_one();
}

void TopService::on_wake() {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(wake_fd_.get(), &count, sizeof count);
    std::optional<Done> done;
    {
        std::lock_guard lock(mutex_);
        done.swap(done_);
    }
    if (!done) {
        return;
    }
    busy_ = false;
    Slot& slot = slots_[done->key];
    slot.computing = false;
    Result<Shared> outcome = make_error(ErrorCode::kInternal, "no breakdown");
    if (done->result) {
        slot.value = std::make_shared<const Breakdown>(std::move(*done->result));
        slot.taken_at = std::chrono::steady_clock::now();
        slot.took = done->took;
        outcome = slot.value;
    } else {
        // Not cached: the next caller tries again (a failing dump fails fast).
        outcome = tl::unexpected(done->result.error());
    }
    std::vector<Waiter> waiters = std::exchange(slot.waiters, {});
    for (Waiter& waiter : waiters) {
        if (auto it = waiting_by_sender_.find(waiter.sender); it != waiting_by_sender_.end()) {
            if (--it->second == 0) {
                waiting_by_sender_.erase(it);
            }
        }
        waiter.reply(outcome);
    }
    // Other keys may have callers waiting for the worker.
    pump();
}

void TopService::worker_main() {
    while (true) {
        TopKey key;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return quit_ || job_.has_value(); });
            if (quit_) {
                return;
            }
            key = std::move(*job_);
            job_.reset();
        }
        const auto began = std::chrono::steady_clock::now();
        Result<Breakdown> result = make_error(ErrorCode::kInternal, "breakdown failed");
        try {
            result = compute_(key);
        } catch (const std::exception& e) {
            result = make_error(ErrorCode::kInternal, std::string("breakdown: ") + e.what());
        }
        const auto took = std::chrono::steady_clock::now() - began;
        {
            std::lock_guard lock(mutex_);
            done_ = Done{std::move(key), std::move(result), took};
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_.get(), &one, sizeof one);
    }
}

}  // namespace tcptune::daemon
