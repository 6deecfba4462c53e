// Issue #16: what a local user or a careless operator can do to tcptuned, each
// class with its regression test against the real daemon in a private network
// namespace: a second daemon on one state dir, a journal naming a key outside
// the allowlist, tcptune mistaking its own unfinished actions for an
// administrator's.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon_fixture.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class HardeningTest : public DaemonTest {};

TEST_F(HardeningTest, ASecondDaemonOnTheSameStateDirExitsOneNamingTheHolder) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));

    DaemonLaunch second;
    second.args = {"--config",
                   config_file().string(),
                   "--state-dir",
                   state_dir().string(),
                   "--profile-dir",
                   daemon_test_profiles().string(),
                   "--profile",
                   "tw-storm",
                   "--bus",
                   "none",
                   "--metrics-address",
                   "none"};
    second.log_file = work_dir() / "second.log";
    DaemonProcess other(second);
    ASSERT_TRUE(other.start().has_value());
    EXPECT_EQ(other.wait_exit(10s), 1);
    EXPECT_NE(other.log().find("state directory " + state_dir().string() + " is locked by pid " +
                               std::to_string(daemon_->pid())),
              std::string::npos)
        << other.log();
    EXPECT_TRUE(daemon_->running());

    // Once the first one is gone (even by SIGKILL) a new one starts.
    daemon_->signal(SIGKILL);
    daemon_->wait_exit(5s);
    DaemonProcess third(second);
    ASSERT_TRUE(third.start().has_value());
    EXPECT_TRUE(third.wait_for_log("ready: first poll done", 10s)) << third.log();
    third.stop();
}

TEST_F(HardeningTest, AJournalNamingAKeyOutsideTheAllowlistIsRefusedAndNeverWritten) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    const std::string ttl_before = sysctl("net.ipv4.ip_default_ttl");
    ASSERT_NE(ttl_before, "1");
    fs::create_directories(state_dir());
    const std::string text = R"({"format_version": 1, "entries": {"net.ipv4.ip_default_ttl":
        {"original": "1", "last_written": ")" +
                             ttl_before +
                             R"(", "written_at": "2023-11-14T22:13:20Z", "profile": "x",
         "rule": "", "reason": "", "overridden": false}}})";
    std::ofstream(journal_file()) << text;
    // Stop policy restore: the daemon's own rollback at exit is the path that
    // wrote the key before.
    launch({"--profile", "tw-storm", "--stop-policy", "restore"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    EXPECT_NE(daemon_->log().find("not a key tcptune manages"), std::string::npos)
        << daemon_->log();
    EXPECT_NE(daemon_->log().find(".corrupt"), std::string::npos) << "recovery advice";
    EXPECT_EQ(daemon_->stop(), 1) << "the restore at stop cannot use the journal";
    EXPECT_EQ(sysctl("net.ipv4.ip_default_ttl"), ttl_before);
    EXPECT_EQ(sysctl("net.ipv4.tcp_fin_timeout"), "60") << "no write without a usable journal";
    std::ifstream in(journal_file());
    std::stringstream kept;
    kept << in.rdbuf();
    EXPECT_EQ(kept.str(), text) << "the journal is kept as it was";
}

}  // namespace
}  // namespace tcptune::test
