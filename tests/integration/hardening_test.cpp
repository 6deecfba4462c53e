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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_fixture.hpp"
#include "metrics_scrape.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class HardeningTest : public DaemonTest {};

TEST_F(HardeningTest, ASecondDaemonOnTheSameStateDirExitsOneNamingTheHolder) {
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));

    // Same directory, its own log.
    DaemonLaunch second = isolated_launch(
        {.dir = work_dir(), .profile = "tw-storm", .profile_dir = daemon_test_profiles()});
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
    EXPECT_EQ(read_text(journal_file()), text) << "the journal is kept as it was";
}

// #16 item 7: a FIFO in place of the journal hung the daemon at start forever.
TEST_F(HardeningTest, AFifoInPlaceOfTheJournalIsRefusedNotWaitedFor) {
    fs::create_directories(state_dir());
    ASSERT_EQ(::mkfifo(journal_file().c_str(), 0600), 0);
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    EXPECT_NE(daemon_->log().find("a FIFO"), std::string::npos) << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_fin_timeout"), "60") << "no write without a usable journal";
}

// #16 item 11: a client's TIME_WAIT socket on the metrics port (it was given
// the port as an ephemeral one) made tcptuned exit at start. Now it waits, and
// serves once the port is free.
TEST_F(HardeningTest, AMetricsPortHeldByATimeWaitSocketIsWaitedFor) {
    const std::uint16_t port = free_loopback_port();
    ASSERT_NE(port, 0);
    {
        // Client bound to 127.0.0.1:port closes first: its end stays in TIME_WAIT.
        const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_port = htons(5000);
        ::inet_pton(AF_INET, "127.0.0.2", &at.sin_addr);
        ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
        ASSERT_EQ(::listen(server, 1), 0);
        const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_port = htons(port);
        ::inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
        ASSERT_EQ(::bind(client, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
        ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
        const int accepted = ::accept(server, nullptr, nullptr);
        ::close(client);
        char byte = 0;
        EXPECT_EQ(::read(accepted, &byte, 1), 0);  // the client's FIN arrived
        ::close(accepted);
        ::close(server);
    }
    ASSERT_TRUE(eventually(
        [&] {
            return run_command("ss -Htan state time-wait sport = :" + std::to_string(port))
                       .out.find(std::to_string(port)) != std::string::npos;
        },
        2s));
    daemon_ = std::make_unique<DaemonProcess>(
        isolated_launch({.dir = work_dir(),
                         .profile = "tw-storm",
                         .profile_dir = daemon_test_profiles(),
                         .metrics = "127.0.0.1:" + std::to_string(port)}));
    ASSERT_TRUE(daemon_->start().has_value());
    ASSERT_TRUE(daemon_->wait_for_log("ip_local_reserved_ports", 10s)) << daemon_->log();
    EXPECT_TRUE(daemon_->running());
    // The TIME_WAIT ends (here at once, with SOCK_DESTROY; in life after 60 s).
    ASSERT_EQ(run_command("ss -K state time-wait sport = :" + std::to_string(port)).exit_code, 0);
    ASSERT_TRUE(daemon_->wait_for_log("serving metrics on", 5s)) << daemon_->log();
    auto scraped = http_get("127.0.0.1", port, "/metrics", 5s);
    ASSERT_TRUE(scraped.has_value()) << scraped.error().message;
    EXPECT_EQ(scraped->status, 200);
}

}  // namespace
}  // namespace tcptune::test
