#include "signals.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

namespace tcptune::daemon {

Result<std::unique_ptr<SignalHandlers>> SignalHandlers::install(EventLoop& loop, Callback on_reload,
                                                                Callback on_stop) {
    // A peer closing a socket must not kill the daemon (the metrics server and
    // the bus connection write to sockets).
    std::signal(SIGPIPE, SIG_IGN);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (const int rc = pthread_sigmask(SIG_BLOCK, &mask, nullptr); rc != 0) {
        return make_error(ErrorCode::kInternal, "pthread_sigmask: " + errno_text(rc));
    }
    UniqueFd fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd) {
        return make_error(ErrorCode::kIo, "signalfd: " + errno_text(errno));
    }
    return std::unique_ptr<SignalHandlers>(
        new SignalHandlers(loop, std::move(fd), std::move(on_reload), std::move(on_stop)));
}

SignalHandlers::SignalHandlers(EventLoop& loop, UniqueFd fd, Callback on_reload, Callback on_stop)
    : loop_(loop),
      fd_(std::move(fd)),
      on_reload_(std::move(on_reload)),
      on_stop_(std::move(on_stop)) {
    loop_.watch_fd(fd_.get(), EPOLLIN, [this] { drain(); });
}

SignalHandlers::~SignalHandlers() {
    loop_.unwatch_fd(fd_.get());
}

void SignalHandlers::drain() {
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
            on_reload_();
        } else {
            on_stop_();
        }
    }
}

}  // namespace tcptune::daemon
