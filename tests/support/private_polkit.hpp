#pragma once

// A real polkitd (Debian's polkitd package) serving a PrivateBus, with the
// project's own action file and a test's rules, without touching the host.
//
// polkitd reads actions from /usr/share/polkit-1/actions and rules from
// /etc/polkit-1/rules.d and /usr/share/polkit-1/rules.d, fixed paths. The
// child that becomes polkitd unshares its mount namespace (private
// propagation, so nothing leaks back) and bind-mounts a temporary directory
// over each: only systemd/net.tcptune.policy and the test's rule file are
// seen. The mounts vanish with the process. polkitd connects to the "system
// bus" named by DBUS_SYSTEM_BUS_ADDRESS; the bus must let it own
// org.freedesktop.PolicyKit1 (BusPolicy::kProjectWithPolkit includes Debian's
// own polkit bus policy for that).

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tcptune/result.hpp"

namespace tcptune::test {

inline constexpr const char* kPolkitdPath = "/usr/lib/polkit-1/polkitd";

class PrivatePolkit {
  public:
    // Why a polkit test cannot run here ("" when it can): not root, no polkitd.
    static std::string unavailable_reason();

    // Starts polkitd on `bus_address` with `rules_js` as its only rules file;
    // returns once it owns org.freedesktop.PolicyKit1 (bounded, 10 s).
    static Result<std::unique_ptr<PrivatePolkit>> start(const std::string& bus_address,
                                                        const std::string& rules_js);
    ~PrivatePolkit();  // terminates polkitd and removes the directory
    PrivatePolkit(const PrivatePolkit&) = delete;
    PrivatePolkit& operator=(const PrivatePolkit&) = delete;

    // SIGSTOP / SIGCONT: a polkitd that accepts calls and never answers.
    void freeze() const;
    void thaw() const;
    std::string log() const;

  private:
    PrivatePolkit() = default;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

}  // namespace tcptune::test
