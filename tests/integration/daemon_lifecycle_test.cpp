// End-to-end: how tcptuned starts, reloads and stops. Bad settings at start are
// a clear error and a non-zero exit; a bad profile on SIGHUP keeps the old one;
// the systemd notify protocol (READY, STATUS, WATCHDOG, RELOADING, STOPPING)
// reaches a NOTIFY_SOCKET; SIGTERM stops cleanly with the stop policy.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "daemon_fixture.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DaemonLifecycleTest : public DaemonTest {};

TEST_F(DaemonLifecycleTest, BadConfigFileIsAClearErrorAndANonZeroExit) {
    std::ofstream(config_file()) << "profile: tw-storm\nintervall: 5\n";
    launch({});
    const auto status = daemon_->wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "tcptuned kept running with a bad config";
    EXPECT_EQ(*status, 2);
    EXPECT_NE(daemon_->log().find(config_file().string() + ":2:1: unknown setting \"intervall\""),
              std::string::npos)
        << daemon_->log();
}

TEST_F(DaemonLifecycleTest, MissingExplicitConfigAndUnknownProfileAreErrors) {
    fs::remove(config_file());
    DaemonLaunch absent;
    absent.args = {"--config", (work_dir() / "absent.yaml").string(), "--bus", "none"};
    absent.log_file = work_dir() / "absent.log";
    DaemonProcess missing(absent);
    ASSERT_TRUE(missing.start().has_value());
    EXPECT_EQ(missing.wait_exit(10s), 2);
    EXPECT_NE(missing.log().find("absent.yaml"), std::string::npos) << missing.log();

    launch({"--profile", "no-such-profile"});
    const auto status = daemon_->wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_NE(*status, 0);
    EXPECT_NE(daemon_->log().find("no-such-profile"), std::string::npos) << daemon_->log();
    EXPECT_FALSE(fs::exists(journal_file()));
}

TEST_F(DaemonLifecycleTest, SighupWithABrokenProfileKeepsRunningTheOldOne) {
    const fs::path profile = work_dir() / "tw-storm.yaml";
    fs::copy_file(daemon_test_profiles() / "tw-storm.yaml", profile);
    launch({"--profile", profile.string()});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_fin_timeout", "25", 5s));

    fs::copy_file(daemon_test_profiles() / "broken.yaml", profile,
                  fs::copy_options::overwrite_existing);
    daemon_->signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reload failed, still running profile tw-storm", 5s));
    EXPECT_NE(daemon_->log().find("tcp_tw_recycle"), std::string::npos)
        << "the error does not say what is wrong:\n"
        << daemon_->log();
    ASSERT_TRUE(daemon_->running());

    // The old profile is still in force: its rule still fires.
    SocketFactory factory;
    make_time_wait_storm(factory, 400);
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_tw_reuse", "1", 5s));
    EXPECT_TRUE(daemon_->wait_for_log("rule time-wait-storm fired", 2s));

    // A good edit is adopted on the next SIGHUP: its new baseline value is
    // planned (the gate's 60 s per-key cooldown defers the write itself).
    fs::copy_file(daemon_test_profiles() / "tw-storm-v2.yaml", profile,
                  fs::copy_options::overwrite_existing);
    daemon_->signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reloaded: profile tw-storm", 5s));
    EXPECT_TRUE(daemon_->wait_for_log("net.ipv4.tcp_fin_timeout 25 -> 35", 5s)) << daemon_->log();
    EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(DaemonLifecycleTest, SighupWithNewSafetyLimitsKeepsTheRunningOnesUntilRestart) {
    const std::string reuse_before = sysctl("net.ipv4.tcp_tw_reuse");
    ASSERT_TRUE(write_text(config_file(), "safety: { key_cooldown: 2s }\n"));
    launch({"--profile", "tw-storm", "--interval", "0.2"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));

    // The file now asks for the default minute; the running gate keeps 2 s.
    ASSERT_TRUE(write_text(config_file(), "safety: { key_cooldown: 60s }\n"));
    daemon_->signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reloaded: profile tw-storm", 5s)) << daemon_->log();
    EXPECT_TRUE(
        daemon_->wait_for_log("safety (key_cooldown 60 s, max_changes_per_minute 20) "
                              "takes effect at the next restart",
                              1s))
        << daemon_->log();

    SocketFactory factory;
    make_time_wait_storm(factory, 400);
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_tw_reuse", "1", 5s)) << daemon_->log();
    end_time_wait_storm();
    // Reverted after 2 s, not after the minute the reloaded file names.
    EXPECT_TRUE(sysctl_becomes("net.ipv4.tcp_tw_reuse", reuse_before, 8s)) << daemon_->log();
    EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(DaemonLifecycleTest, NotifySocketReceivesReadyStatusWatchdogReloadingAndStopping) {
    NotifySocket notify(work_dir() / "notify.sock");
    // WATCHDOG_USEC = 400 ms: the daemon must ping every 200 ms.
    launch({"--profile", "tw-storm"},
           {"NOTIFY_SOCKET=" + notify.path().string(), "WATCHDOG_USEC=400000"},
           /*watchdog_pid=*/true);

    std::vector<std::string> seen;
    auto ready = notify.wait_for("READY=1", 10s, &seen);
    ASSERT_TRUE(ready.has_value()) << "no READY=1";
    bool status_seen = false;
    for (const auto& message : seen) {
        status_seen = status_seen || message.find("STATUS=profile tw-storm (enforce)") == 0;
    }
    EXPECT_TRUE(status_seen) << "no STATUS= before READY=1";

    // Watchdog keep-alives keep coming while the daemon idles between polls.
    const auto start = std::chrono::steady_clock::now();
    int pings = 0;
    while (pings < 5) {
        auto ping = notify.wait_for("WATCHDOG=1", 2s);
        ASSERT_TRUE(ping.has_value()) << "watchdog ping " << pings + 1 << " missing";
        ++pings;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, 2s) << "pings slower than half of WATCHDOG_USEC";

    daemon_->signal(SIGHUP);
    auto reloading = notify.wait_for("RELOADING=1", 5s);
    ASSERT_TRUE(reloading.has_value());
    EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;
    EXPECT_TRUE(notify.wait_for("READY=1", 5s).has_value()) << "no READY=1 after the reload";

    daemon_->signal(SIGTERM);
    EXPECT_TRUE(notify.wait_for("STOPPING=1", 5s).has_value());
    EXPECT_EQ(daemon_->wait_exit(10s), 0);
}

TEST_F(DaemonLifecycleTest, WithoutWatchdogPidForItTheDaemonSendsNoKeepAlives) {
    NotifySocket notify(work_dir() / "notify.sock");
    // WATCHDOG_PID names another process: the keep-alives are not ours to send.
    launch({"--profile", "tw-storm"},
           {"NOTIFY_SOCKET=" + notify.path().string(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"});
    ASSERT_TRUE(notify.wait_for("READY=1", 10s).has_value());
    EXPECT_FALSE(notify.wait_for("WATCHDOG=1", 1s).has_value());
}

TEST_F(DaemonLifecycleTest, SigtermWithRestorePolicyPutsTheOriginalsBack) {
    const std::string fin_before = sysctl("net.ipv4.tcp_fin_timeout");
    launch({"--profile", "tw-storm", "--stop-policy", "restore"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_fin_timeout", "25", 5s));
    EXPECT_EQ(daemon_->stop(), 0);
    EXPECT_EQ(sysctl("net.ipv4.tcp_fin_timeout"), fin_before);
    EXPECT_NE(daemon_->log().find("restored net.ipv4.tcp_fin_timeout 25 -> " + fin_before),
              std::string::npos)
        << daemon_->log();
}

TEST_F(DaemonLifecycleTest, SigtermWithKeepPolicyLeavesTheValues) {
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_fin_timeout", "25", 5s));
    daemon_->signal(SIGINT);
    EXPECT_EQ(daemon_->wait_exit(10s), 0);
    EXPECT_EQ(sysctl("net.ipv4.tcp_fin_timeout"), "25");
}

}  // namespace
}  // namespace tcptune::test
