#pragma once

// SIGHUP, SIGTERM and SIGINT delivered through a signalfd watched by the event
// loop, so handlers run as ordinary loop callbacks (no async-signal-safety
// constraints, no races with a poll in progress).

#include <functional>
#include <memory>

#include "event_loop.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::daemon {

class SignalHandlers {
  public:
    using Callback = std::function<void()>;

    // Blocks the three signals for this thread (call before starting any other
    // thread, so they inherit the mask), ignores SIGPIPE, and watches the
    // signalfd on `loop`.
    static Result<std::unique_ptr<SignalHandlers>> install(EventLoop& loop, Callback on_reload,
                                                           Callback on_stop);
    ~SignalHandlers();
    SignalHandlers(const SignalHandlers&) = delete;
    SignalHandlers& operator=(const SignalHandlers&) = delete;

  private:
    SignalHandlers(EventLoop& loop, UniqueFd fd, Callback on_reload, Callback on_stop);
    void drain();

    EventLoop& loop_;
    UniqueFd fd_;
    Callback on_reload_;
    Callback on_stop_;
};

}  // namespace tcptune::daemon
