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

// "what: Too many open files (EMFILE, errno 24)" for the errno of the call just made.
std::string failed(const char* what) {
    return std::string(what) + ": " + errno_text(errno);
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_fd) {
        return make_error(ErrorCode::kIo, failed("epoll_create1"));
    }
    UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd) {
        return make_error(ErrorCode::kIo, failed("eventfd"));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = stop_fd.get();
    if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, stop_fd.get(), &ev) != 0) {
        return make_error(ErrorCode::kIo, failed("epoll_ctl(eventfd)"));
    }
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll_fd), std::move(stop_fd)));
}

EventLoop::EventLoop(UniqueFd epoll_fd, UniqueFd stop_fd)
    : epoll_fd_(std::move(epoll_fd)), stop_fd_(std::move(stop_fd)) {}

EventLoop::~EventLoop() = default;

void EventLoop::watch_fd(int fd, std::uint32_t epoll_events, Callback on_ready) {
    epoll_event ev{};
    ev.events = epoll_events;
    ev.data.fd = fd;
    auto it = watches_.find(fd);
    const int op = it == watches_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_fd_.get(), op, fd, &ev) != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
        // The fd was closed and reused without an unwatch: register it afresh.
        ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev);
    }
    watches_[fd] = Watch{epoll_events, std::make_shared<Callback>(std::move(on_ready))};
}

void EventLoop::unwatch_fd(int fd) {
    if (watches_.erase(fd) > 0) {
        // Fails harmlessly with EBADF when the owner already closed the fd (the
        // kernel dropped it from the epoll set then).
        ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
}

EventLoop::TimerId EventLoop::add_timer(Callback on_fire) {
    UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!fd) {
        // Out of fds at start-up: nothing sensible to continue with.
        throw std::runtime_error(failed("timerfd_create"));
    }
    const auto id = static_cast<TimerId>(timers_.size());
    const int raw_fd = fd.get();
    timers_.push_back(Timer{std::move(fd), std::move(on_fire)});
    watch_fd(raw_fd, EPOLLIN, [this, id] {
        std::uint64_t expirations = 0;
        const auto& timer = timers_[static_cast<std::size_t>(id)];
        if (::read(timer.fd.get(), &expirations, sizeof expirations) !=
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
    ::timerfd_settime(timer.fd.get(), 0, &spec, nullptr);
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
        const int n = ::epoll_wait(epoll_fd_.get(), events.data(), kMaxEvents, -1);
        ++wakeups_;
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(failed("epoll_wait"));
        }
        for (int i = 0; i < n && !stopping_.load(); ++i) {
            const auto& ev = events[static_cast<std::size_t>(i)];
            if (ev.data.fd == stop_fd_.get()) {
                std::uint64_t value = 0;
                [[maybe_unused]] auto ignored = ::read(stop_fd_.get(), &value, sizeof value);
                continue;
            }
            dispatch(ev.data.fd, ev.events);
        }
    }
    // Drain a pending wake-up so a later run() does not return at once.
    std::uint64_t value = 0;
    [[maybe_unused]] auto ignored = ::read(stop_fd_.get(), &value, sizeof value);
    stopping_.store(false);
}

void EventLoop::stop() {
    stopping_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(stop_fd_.get(), &one, sizeof one);
}

}  // namespace tcptune::daemon
