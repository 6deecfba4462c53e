#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace tcptune::daemon {

namespace {

std::string errno_text(const char* what) {
    const int err = errno;
    return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        return make_error(ErrorCode::kIo, errno_text("epoll_create1"));
    }
    const int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0) {
        auto error = make_error(ErrorCode::kIo, errno_text("eventfd"));
        ::close(epoll_fd);
        return error;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = stop_fd;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev) != 0) {
        auto error = make_error(ErrorCode::kIo, errno_text("epoll_ctl(eventfd)"));
        ::close(stop_fd);
        ::close(epoll_fd);
        return error;
    }
    return std::unique_ptr<EventLoop>(new EventLoop(epoll_fd, stop_fd));
}

EventLoop::EventLoop(int epoll_fd, int stop_fd) : epoll_fd_(epoll_fd), stop_fd_(stop_fd) {}

EventLoop::~EventLoop() {
    for (const auto& timer : timers_) {
        ::close(timer.fd);
    }
    ::close(stop_fd_);
    ::close(epoll_fd_);
}

void EventLoop::watch_fd(int fd, std::uint32_t epoll_events, Callback on_ready) {
    epoll_event ev{};
    ev.events = epoll_events;
    ev.data.fd = fd;
    auto it = watches_.find(fd);
    const int op = it == watches_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_fd_, op, fd, &ev) != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
        // The fd was closed and reused without an unwatch: register it afresh.
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
    watches_[fd] = Watch{epoll_events, std::make_shared<Callback>(std::move(on_ready))};
}

void EventLoop::unwatch_fd(int fd) {
    if (watches_.erase(fd) > 0) {
        // Fails harmlessly with EBADF when the owner already closed the fd (the
        // kernel dropped it from the epoll set then).
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    }
}

EventLoop::TimerId EventLoop::add_timer(Callback on_fire) {
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0) {
        // Out of fds at start-up: nothing sensible to continue with.
        throw std::runtime_error(errno_text("timerfd_create"));
    }
    const auto id = static_cast<TimerId>(timers_.size());
    timers_.push_back(Timer{fd, std::move(on_fire)});
    watch_fd(fd, EPOLLIN, [this, id] {
        std::uint64_t expirations = 0;
        const auto& timer = timers_[static_cast<std::size_t>(id)];
        if (::read(timer.fd, &expirations, sizeof expirations) !=
            static_cast<ssize_t>(sizeof expirations)) {
            return;  // EAGAIN: re-armed or disarmed since epoll reported it
        }
        // Copy: the callback may re-arm this timer or add others (which may
        // reallocate timers_).
        Callback fire = timers_[static_cast<std::size_t>(id)].on_fire;
        fire();
    });
    return id;
}

void EventLoop::arm_timer(TimerId id, std::chrono::nanoseconds delay) {
    const auto& timer = timers_.at(static_cast<std::size_t>(id));
    itimerspec spec{};
    if (delay > std::chrono::nanoseconds::zero()) {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(delay);
        spec.it_value.tv_sec = static_cast<time_t>(secs.count());
        spec.it_value.tv_nsec = static_cast<long>((delay - secs).count());
    }
    ::timerfd_settime(timer.fd, 0, &spec, nullptr);
}

void EventLoop::dispatch(int fd, std::uint32_t events) {
    (void)events;  // owners query their fd themselves (EPOLLHUP/ERR included)
    auto it = watches_.find(fd);
    if (it == watches_.end()) {
        return;  // unwatched by an earlier callback of this batch
    }
    std::shared_ptr<Callback> callback = it->second.callback;
    (*callback)();
}

void EventLoop::run() {
    constexpr int kMaxEvents = 16;
    std::array<epoll_event, kMaxEvents> events{};
    while (!stopping_.load()) {
        const int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
        ++wakeups_;
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(errno_text("epoll_wait"));
        }
        for (int i = 0; i < n && !stopping_.load(); ++i) {
            const auto& ev = events[static_cast<std::size_t>(i)];
            if (ev.data.fd == stop_fd_) {
                std::uint64_t value = 0;
                [[maybe_unused]] auto ignored = ::read(stop_fd_, &value, sizeof value);
                continue;
            }
            dispatch(ev.data.fd, ev.events);
        }
    }
    // Drain a pending wake-up so a later run() does not return at once.
    std::uint64_t value = 0;
    [[maybe_unused]] auto ignored = ::read(stop_fd_, &value, sizeof value);
    stopping_.store(false);
}

void EventLoop::stop() {
    stopping_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(stop_fd_, &one, sizeof one);
}

}  // namespace tcptune::daemon
