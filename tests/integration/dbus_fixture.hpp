#pragma once

// Shared by the D-Bus integration tests: run the real binaries (tcptuned,
// tcptune, busctl, dbus-send) as children, optionally as `nobody`, and a typed
// proxy that collects the daemon's signals.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "net.tcptune.Manager1.proxy.h"
#include "support/private_bus.hpp"
#include "tcptune/dbus/contract.hpp"

namespace tcptune::test {

struct ProcessResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string bin(const std::string& name) {
    return std::string(TCPTUNE_BIN_DIR) + "/" + name;
}

// Drops to nobody:nogroup with no supplementary groups, as the issue asks.
inline std::vector<std::string> as_nobody(std::vector<std::string> argv) {
    std::vector<std::string> out = {"setpriv", "--reuid=nobody", "--regid=nogroup",
                                    "--clear-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

inline std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs argv to completion (stdin /dev/null), capturing stdout and stderr via
// temp files (no pipe deadlock on large output).
inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env = {}) {
    char out_name[] = "/tmp/tcptune-out-XXXXXX";
    char err_name[] = "/tmp/tcptune-err-XXXXXX";
    const int out_fd = mkstemp(out_name);
    const int err_fd = mkstemp(err_name);
    const pid_t pid = fork();
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        for (const auto& kv : extra_env) {
            putenv(const_cast<char*>(kv.c_str()));
        }
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(out_fd);
    close(err_fd);
    ProcessResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = slurp(out_name);
    result.err = slurp(err_name);
    unlink(out_name);
    unlink(err_name);
    return result;
}

inline std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
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

// The real tcptuned as a child of the test, on the private bus, in the test's
// private network namespace, with its own state dir and profiles.
class DaemonProcess {
  public:
    DaemonProcess(const std::vector<std::string>& args, const std::filesystem::path& log_file,
                  const std::vector<std::string>& extra_env = {}) {
        pid_ = fork();
        if (pid_ == 0) {
            const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(log_fd, STDOUT_FILENO);
            dup2(log_fd, STDERR_FILENO);
            for (const auto& kv : extra_env) {
                putenv(const_cast<char*>(kv.c_str()));
            }
            std::vector<std::string> argv = {bin("tcptuned")};
            argv.insert(argv.end(), args.begin(), args.end());
            std::vector<char*> c_args;
            for (auto& a : argv) {
                c_args.push_back(a.data());
            }
            c_args.push_back(nullptr);
            execv(c_args[0], c_args.data());
            _exit(127);
        }
    }
    ~DaemonProcess() { stop(); }
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // SIGTERM and reap; returns the exit status (or -1 if already reaped).
    int stop() {
        if (pid_ <= 0) {
            return -1;
        }
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    // True while the child has not exited.
    bool running() {
        if (pid_ <= 0) {
            return false;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

  private:
    pid_t pid_ = -1;
};

}  // namespace tcptune::test
