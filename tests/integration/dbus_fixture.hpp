#pragma once

// Shared by the D-Bus integration tests: run the real binaries (tcptune,
// busctl, dbus-send) as children, optionally as `nobody`, and a typed proxy that
// collects the daemon's signals. tcptuned itself runs through
// support/daemon_process.hpp like in every other end-to-end test.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "net.tcptune.Manager1.proxy.h"
#include "support/daemon_process.hpp"
#include "support/files.hpp"
#include "support/private_bus.hpp"
#include "support/run_command.hpp"
#include "tcptune/dbus/contract.hpp"

namespace tcptune::test {

using ProcessResult = CommandOutput;

inline std::string bin(const std::string& name) {
    return std::string(TCPTUNE_BIN_DIR) + "/" + name;
}

// Drops to user:group with no supplementary groups.
inline std::vector<std::string> as_user(const std::string& user, const std::string& group,
                                        std::vector<std::string> argv) {
    std::vector<std::string> out = {"setpriv", "--reuid=" + user, "--regid=" + group,
                                    "--clear-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

// Drops to nobody:nogroup with no supplementary groups, as the issue asks.
inline std::vector<std::string> as_nobody(std::vector<std::string> argv) {
    return as_user("nobody", "nogroup", std::move(argv));
}

using tcptune::dbus::ChangeStruct;

// A client of net.tcptune.Manager1 on its own connection, pumped by the test
// (no sdbus thread), recording every signal it receives.
class TestProxy final : public sdbus::ProxyInterfaces<net::tcptune::Manager1_proxy> {
  public:
    explicit TestProxy(std::unique_ptr<sdbus::IConnection> connection)
        : ProxyInterfaces(*connection, tcptune::dbus::kServiceName, tcptune::dbus::kObjectPath),
          connection_(std::move(connection)) {
        getProxy()
            .uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string& /*iface*/,
                         const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>& /*invalidated*/) {
                for (const auto& [name, value] : changed) {
                    properties_changed.push_back(name);
                }
            });
        registerProxy();
    }
    ~TestProxy() { unregisterProxy(); }

    // Processes incoming messages until `done` or the timeout. True if done.
    bool pump_until(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            while (connection_->processPendingRequest()) {
            }
            if (done()) {
                return true;
            }
            const auto poll_data = connection_->getEventLoopPollData();
            pollfd pfd{poll_data.fd, poll_data.events, 0};
            ::poll(&pfd, 1, 50);
        }
        return true;
    }

    std::vector<std::string> profile_changed;
    std::vector<std::string> rule_activated;
    std::vector<std::pair<std::string, std::string>> rule_fired_on;
    std::vector<std::string> rule_cleared;
    std::vector<ChangeStruct> sysctl_changed;
    std::vector<std::tuple<std::string, std::string, std::string>> overrides;
    std::vector<std::string> properties_changed;

    // Whether SysctlChanged announced `key` with this result ("applied", ...).
    bool saw_sysctl_change(std::string_view key, std::string_view result) const {
        return std::any_of(
            sysctl_changed.begin(), sysctl_changed.end(),
            [&](const ChangeStruct& c) { return c.get<0>() == key && c.get<6>() == result; });
    }

  private:
    void onProfileChanged(const std::string& profile) override {
        profile_changed.push_back(profile);
    }
    void onRuleActivated(const std::string& rule, const double& /*observed*/) override {
        rule_activated.push_back(rule);
    }
    void onRuleFiredOn(const std::string& rule, const std::string& subject,
                       const std::string& /*reading*/) override {
        rule_fired_on.emplace_back(rule, subject);
    }
    void onRuleCleared(const std::string& rule, const double& /*observed*/) override {
        rule_cleared.push_back(rule);
    }
    void onSysctlChanged(const ChangeStruct& change) override { sysctl_changed.push_back(change); }
    void onOverrideDetected(const std::string& key, const std::string& expected,
                            const std::string& found) override {
        overrides.emplace_back(key, expected, found);
    }

    std::unique_ptr<sdbus::IConnection> connection_;
};

// A private bus (tests/support/private_bus.hpp) that every program started
// afterwards takes for the system bus.
inline Result<std::unique_ptr<PrivateBus>> start_system_bus(BusPolicy policy) {
    auto bus = PrivateBus::start(policy);
    if (bus) {
        (*bus)->export_as_system_bus();
    }
    return bus;
}

// True once tcptuned answers on the bus and has polled at least once.
inline bool wait_until_polled(TestProxy& proxy) {
    return proxy.pump_until([&] {
        try {
            return std::get<5>(proxy.GetStatus()) > 0;
        } catch (const sdbus::Error&) {
            return false;
        }
    });
}

}  // namespace tcptune::test
