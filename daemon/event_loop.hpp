#pragma once

// The daemon's single event loop: one epoll instance that waits on every fd the
// daemon cares about (timerfds for polls and the watchdog, the signalfd, the
// D-Bus connection). Nothing busy-waits and nothing sleeps: the thread blocks in
// epoll_wait until the kernel says something is ready.
//
// Threading: everything except stop() must be called on the loop's thread.
// stop() may be called from any thread (it writes an eventfd).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::daemon {

class EventLoop {
  public:
    using Callback = std::function<void()>;
    using TimerId = int;

    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Calls on_ready on the loop thread whenever epoll reports `epoll_events`
    // (EPOLLIN, EPOLLOUT, ...) for fd. Watching an fd again replaces its events
    // and callback. The loop does not own fd: unwatch it before closing it.
    // Safe to call from inside a callback (including the fd's own).
    void watch_fd(int fd, std::uint32_t epoll_events, Callback on_ready);
    void unwatch_fd(int fd);

    // A timerfd-backed one-shot timer, initially disarmed. The loop owns it.
    TimerId add_timer(Callback on_fire);
    // Arms the timer to fire once after `delay` (re-arming replaces the previous
    // deadline); a delay of zero disarms it.
    void arm_timer(TimerId id, std::chrono::nanoseconds delay);

    // Dispatches events until stop() is called. Returns after the callback that
    // called stop() (if any) has returned.
    void run();
    void stop();

    // Number of epoll_wait wake-ups so far (tests use it to prove the loop idles).
    std::uint64_t wakeups() const { return wakeups_; }

  private:
    EventLoop(UniqueFd epoll_fd, UniqueFd stop_fd);
    void dispatch(int fd, std::uint32_t events);

    struct Watch {
        std::uint32_t events = 0;
        // shared so a callback that unwatches (or re-watches) its own fd stays
        // alive until it returns.
        std::shared_ptr<Callback> callback;
    };
    struct Timer {
        UniqueFd fd;
        Callback on_fire;
    };

    UniqueFd epoll_fd_;
    UniqueFd stop_fd_;  // eventfd: wakes epoll_wait for stop()
    std::atomic<bool> stopping_{false};
    std::uint64_t wakeups_ = 0;
    std::map<int, Watch> watches_;
    std::vector<Timer> timers_;
};

}  // namespace tcptune::daemon
