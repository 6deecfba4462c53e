#pragma once

// Shared set-up of the daemon end-to-end tests: the real tcptuned in the test's
// private network namespace, a private state dir and config file, the test
// profiles from tests/data/daemon, no bus and no metrics endpoint.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/daemon_process.hpp"
#include "support/files.hpp"
#include "support/netns.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/apply/journal.hpp"

namespace tcptune::test {

inline std::filesystem::path daemon_test_profiles() {
    return std::filesystem::path(TCPTUNE_TEST_DATA_DIR) / "daemon";
}

class DaemonTest : public PrivateNetnsTest {
  protected:
    // Starts tcptuned with the common flags plus `extra`.
    void launch(std::vector<std::string> extra, std::vector<std::string> env = {},
                bool watchdog_pid = false) {
        daemon_ = std::make_unique<DaemonProcess>(
            isolated_launch({.dir = dir_.path(),
                             .profile_dir = daemon_test_profiles(),
                             .extra = std::move(extra),
                             .env = std::move(env),
                             .watchdog_pid_is_child = watchdog_pid}));
        auto started = daemon_->start();
        ASSERT_TRUE(started.has_value()) << started.error().message;
    }

    void TearDown() override { stop_daemon(daemon_, HasFailure()); }

    std::filesystem::path state_dir() const { return dir_.path() / "state"; }
    std::filesystem::path config_file() const { return dir_.path() / "tcptune.yaml"; }
    std::filesystem::path journal_file() const { return state_dir() / "journal.json"; }
    const std::filesystem::path& work_dir() const { return dir_.path(); }

    // The namespace's live value, straight from /proc/sys.
    static std::string sysctl(const std::string& key) {
        auto value = read_sysctl(key);
        EXPECT_TRUE(value.has_value()) << key;
        std::string text = value ? *value : "";
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
            text.pop_back();
        }
        return text;
    }

    static bool sysctl_becomes(const std::string& key, const std::string& value,
                               std::chrono::milliseconds timeout) {
        return eventually([&] { return sysctl(key) == value; }, timeout);
    }

    // Builds `count` TIME_WAIT sockets and waits until the kernel lists them.
    void make_time_wait_storm(SocketFactory& factory, std::size_t count) {
        auto made = factory.add_time_wait(IpFamily::kV4, count);
        ASSERT_TRUE(made.has_value()) << made.error().message;
        auto shown = wait_until_ss_shows(factory.expected());
        ASSERT_TRUE(shown.has_value()) << shown.error().message;
    }

    // Ends a TIME_WAIT storm now instead of in 60 s: SOCK_DESTROY via `ss -K`.
    static void end_time_wait_storm() {
        ASSERT_EQ(std::system("ss -K state time-wait >/dev/null 2>&1 || true"), 0);
        ASSERT_TRUE(eventually(
            [] {
                auto counts = count_states_with_ss();
                return counts && (*counts)[TcpState::kTimeWait] == 0;
            },
            std::chrono::seconds(5)))
            << "ss -K could not destroy the TIME_WAIT sockets on this kernel";
    }

    JournalEntries journal() const {
        auto parsed = parse_journal(read_text(journal_file()));
        EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
        return parsed ? *parsed : JournalEntries{};
    }

    TempDir dir_;
    std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace tcptune::test
