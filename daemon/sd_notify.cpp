#include "sd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>

#include <spdlog/spdlog.h>

namespace tcptune::daemon {

void SystemdNotifier::send(const std::string& state) {
    // unset_environment = 0: NOTIFY_SOCKET stays set for every later message.
    const int rc = sd_notify(0, state.c_str());
    if (rc < 0) {
        spdlog::debug("sd_notify({}) failed: error {}", state, -rc);
    }
}

void SystemdNotifier::ready() {
    send("READY=1");
}

void SystemdNotifier::status(std::string_view line) {
    if (line == last_status_) {
        return;
    }
    last_status_ = std::string(line);
    send("STATUS=" + last_status_);
}

void SystemdNotifier::watchdog() {
    send("WATCHDOG=1");
}

void SystemdNotifier::reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
                      static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() {
    send("STOPPING=1");
}

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_ping_interval() {
    std::uint64_t usec = 0;
    // Checks WATCHDOG_PID against our pid, so a child never pings for its parent.
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return std::nullopt;
    }
    return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

}  // namespace tcptune::daemon
