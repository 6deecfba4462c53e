#pragma once

// The daemon's side of the systemd notify protocol (Type=notify, WatchdogSec).
// Without NOTIFY_SOCKET every call is a cheap no-op, so the daemon runs the same
// way in a terminal, under systemd and in the tests (which bind their own
// NOTIFY_SOCKET to check what is sent).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tcptune::daemon {

class SystemdNotifier {
  public:
    // READY=1: sent after the first successful poll, and after a reload.
    void ready();
    // STATUS=<line>: only sent when the line differs from the previous one.
    void status(std::string_view line);
    // WATCHDOG=1.
    void watchdog();
    // RELOADING=1 with MONOTONIC_USEC (required by systemd >= 253 for Type=notify-reload).
    void reloading();
    // STOPPING=1.
    void stopping();

    // Half of WATCHDOG_USEC when systemd asked this process (WATCHDOG_PID) for
    // keep-alives; nullopt otherwise.
    static std::optional<std::chrono::microseconds> watchdog_ping_interval();

  private:
    void send(const std::string& state);
    std::string last_status_;
};

}  // namespace tcptune::daemon
