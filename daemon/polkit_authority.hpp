#pragma once

// Asks polkit whether the sender of a D-Bus call may perform an action:
// org.freedesktop.PolicyKit1.Authority.CheckAuthorization on the daemon's own
// bus connection (no libpolkit), subject ("system-bus-name", {"name": sender}),
// so polkitd itself looks up the caller's uid, pid and session from the bus.
//
// Asynchronous: check() only queues the call; the answer arrives through the
// connection like any other message and the callback runs on the thread that
// processes it (the daemon's loop). A slow or wedged polkitd therefore delays
// only the caller that is waiting for it, never the loop, and the call is
// bounded by a timeout. Flags 0: polkit never starts an interactive
// authentication (tcptune's CLI runs no authentication agent), so only an
// explicit "yes" (a rule, or an action default of "yes") authorizes.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <sdbus-c++/sdbus-c++.h>

namespace tcptune::daemon {

// The one action tcptuned defines (systemd/net.tcptune.policy).
inline constexpr const char* kPolkitManageAction = "net.tcptune.manage";

struct PolkitAnswer {
    enum class Verdict {
        kAuthorized,     // polkit said yes
        kNotAuthorized,  // polkit said no (or would need an interactive authentication)
        kUnavailable,    // no polkit on this bus: not running and not activatable
        kFailed,         // polkit is there but gave no usable answer (timeout, error)
    };
    Verdict verdict = Verdict::kFailed;
    // Why, for the log and the caller's error message.
    std::string detail;
};

// What a D-Bus error from the CheckAuthorization call means: the bus saying
// that nobody owns and nothing can activate org.freedesktop.PolicyKit1 is
// kUnavailable, anything else (timeouts included) is kFailed.
PolkitAnswer::Verdict polkit_verdict_for_error(std::string_view error_name);

class PolkitAuthority {
  public:
    using Callback = std::function<void(const PolkitAnswer&)>;

    // Below the CLI's 15 s method-call timeout, so a caller gets polkit's
    // verdict (or AccessDenied for the timeout) rather than its own timeout.
    static constexpr std::chrono::seconds kDefaultTimeout{10};
    // Checks in flight at once; more are refused without asking (each costs a
    // pending call on the connection, and any local user can send them).
    static constexpr std::size_t kDefaultMaxPending = 32;

    explicit PolkitAuthority(sdbus::IConnection& connection,
                             std::chrono::milliseconds timeout = kDefaultTimeout,
                             std::size_t max_pending = kDefaultMaxPending);
    ~PolkitAuthority();  // cancels checks in flight: their callbacks never run
    PolkitAuthority(const PolkitAuthority&) = delete;
    PolkitAuthority& operator=(const PolkitAuthority&) = delete;

    // Sends the question for `bus_name` (the caller's unique name) and
    // `action`. `done` runs exactly once, later, unless this object is
    // destroyed first. False, without calling `done`, when max_pending checks
    // are already in flight or the call cannot be sent.
    bool check(const std::string& bus_name, const std::string& action, Callback done);

    std::size_t pending() const { return pending_; }

  private:
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::chrono::milliseconds timeout_;
    std::size_t max_pending_;
    std::size_t pending_ = 0;
};

}  // namespace tcptune::daemon
