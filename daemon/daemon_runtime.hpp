#pragma once

// The daemon's life cycle on its event loop: the poll timer (re-armed only
// after a poll finishes, so a slow poll never stacks up), the watchdog timer,
// signals, reload, and the stop sequence. main() builds the parts and hands
// them over; the D-Bus service calls reload() for `tcptune reload`.

#include <chrono>
#include <cstdint>
#include <memory>

#include "daemon_options.hpp"
#include "event_loop.hpp"
#include "sd_notify.hpp"
#include "signals.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/engine/namespace_fleet.hpp"
#include "tcptune/result.hpp"

namespace tcptune::daemon {

class DaemonRuntime {
  public:
    DaemonRuntime(EventLoop& loop, Controller& controller, CensusSource& census,
                  SystemdNotifier& notifier, DaemonOverrides flags, DaemonOptions options);
    ~DaemonRuntime();
    DaemonRuntime(const DaemonRuntime&) = delete;
    DaemonRuntime& operator=(const DaemonRuntime&) = delete;

    // Installs the signal handlers and timers; the first poll runs as soon as
    // the loop runs. Call before starting any thread (signal mask inheritance).
    Result<void> start();

    // Runs the loop until SIGTERM/SIGINT (or request_stop()), then applies the
    // stop policy. Returns the process exit code.
    int run();

    // Re-reads the config file (same flags on top) and re-resolves the profile,
    // and has the census check itself against a full dump at the next poll (the
    // bpf engine's reconciliation on demand). On any error the running config
    // and profile stay and the error is returned (and logged).
    Result<void> reload();

    // namespaces.watch: all: reload() reconfigures the per-namespace profiles too.
    void set_namespace_fleet(NamespaceFleet* fleet) { fleet_ = fleet; }

    // Ends run() after the current callback.
    void request_stop();

    const DaemonOptions& options() const { return options_; }
    std::uint64_t polls() const { return polls_; }

  private:
    void poll();
    void arm_next_poll();
    void ping_watchdog();
    void update_status(bool force);

    EventLoop& loop_;
    Controller& controller_;
    CensusSource& census_;
    SystemdNotifier& notifier_;
    NamespaceFleet* fleet_ = nullptr;
    DaemonOverrides flags_;
    DaemonOptions options_;
    std::unique_ptr<SignalHandlers> signals_;
    EventLoop::TimerId poll_timer_ = -1;
    EventLoop::TimerId watchdog_timer_ = -1;
    std::chrono::microseconds watchdog_interval_{0};
    bool ready_sent_ = false;
    bool stopping_ = false;
    std::uint64_t polls_ = 0;
    std::chrono::steady_clock::time_point last_status_{};
};

}  // namespace tcptune::daemon
