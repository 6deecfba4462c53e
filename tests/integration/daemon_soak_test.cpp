// Soak: 10 000 polls of the real tcptuned at a 1 ms interval while the load
// keeps changing (TIME_WAIT storms built and destroyed, connections opened and
// closed), so rules fire and clear and the gate refuses and defers. Open fds and
// RSS are measured at the start and the end and must not grow.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_fixture.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kPolls = 10'000;
constexpr std::size_t kFdTolerance = 0;  // standing fds: exactly as many
constexpr std::size_t kRssToleranceKb = 2048;

// Opens `count` connections to a listener on 127.0.0.3 and closes the client
// side first: TIME_WAIT on the client ends, ESTABLISHED while they are open.
void churn_connections(int count, std::atomic<bool>& stop) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(24000);
    ::inet_pton(AF_INET, "127.0.0.3", &addr.sin_addr);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 1024) != 0) {
        ADD_FAILURE() << "cannot listen on 127.0.0.3:24000";
        ::close(listener);
        return;
    }
    std::vector<int> open;
    for (int i = 0; i < count && !stop.load(); ++i) {
        const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(client);
            break;
        }
        const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        open.push_back(client);
        open.push_back(server);
    }
    std::this_thread::sleep_for(50ms);  // a few polls see them ESTABLISHED
    for (std::size_t i = 0; i < open.size(); i += 2) {
        ::close(open[i]);  // client first: its end goes to TIME_WAIT
        if (i + 1 < open.size()) {
            ::close(open[i + 1]);
        }
    }
    ::close(listener);
}

TEST(DaemonSoakTest, TenThousandPollsWithChangingLoadDoNotGrowFdsOrRss) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    TempDir dir;
    NotifySocket notify(dir.path() / "notify.sock");
    std::ofstream(dir.path() / "tcptune.yaml") << "log_level: info\n";
    DaemonProcess daemon(isolated_launch({.dir = dir.path(),
                                          .profile = "soak",
                                          .profile_dir = daemon_test_profiles(),
                                          .extra = {"--interval", "1ms"},
                                          .env = {"NOTIFY_SOCKET=" + notify.path().string()}}));
    ASSERT_TRUE(daemon.start().has_value());
    ASSERT_TRUE(notify.wait_for("READY=1", 10s).has_value()) << daemon.log();

    // Load: storms of TIME_WAIT (rule fires), destroyed again (rule clears).
    std::atomic<bool> stop{false};
    std::atomic<int> cycles{0};
    std::thread load([&] {
        while (!stop.load()) {
            churn_connections(150, stop);
            std::this_thread::sleep_for(100ms);
            [[maybe_unused]] int rc = std::system("ss -K state time-wait >/dev/null 2>&1");
            std::this_thread::sleep_for(100ms);
            ++cycles;
        }
    });

    // Warm-up: let allocations reach their steady state before the first figure.
    std::uint64_t polls = 0;
    while (polls < 500) {
        auto message = notify.wait_for("STATUS=", 10s);
        ASSERT_TRUE(message.has_value()) << daemon.log();
        polls = polls_in_status(*message).value_or(polls);
    }
    const std::size_t fds_start = daemon.standing_fds();
    const std::size_t rss_start = daemon.rss_kb();
    const std::uint64_t polls_start = polls;
    const auto started = std::chrono::steady_clock::now();

    while (polls < polls_start + kPolls) {
        auto message = notify.wait_for("STATUS=", 10s);
        ASSERT_TRUE(message.has_value()) << "daemon stopped reporting status";
        polls = polls_in_status(*message).value_or(polls);
        ASSERT_TRUE(daemon.running()) << daemon.log();
    }
    const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::size_t fds_end = daemon.standing_fds();
    const std::size_t rss_end = daemon.rss_kb();
    stop = true;
    load.join();

    std::printf(
        "soak: %llu polls in %.1f s (%.0f polls/s), %d load cycles\n"
        "soak: open fds %zu -> %zu, VmRSS %zu kB -> %zu kB\n",
        static_cast<unsigned long long>(polls - polls_start), seconds,
        static_cast<double>(polls - polls_start) / seconds, cycles.load(), fds_start, fds_end,
        rss_start, rss_end);
    EXPECT_GE(cycles.load(), 3) << "the load did not change enough";
    EXPECT_LE(fds_end, fds_start + kFdTolerance);
    EXPECT_LE(rss_end, rss_start + kRssToleranceKb);
    const std::string log = daemon.log();
    EXPECT_NE(log.find("rule time-wait-flip fired"), std::string::npos) << log;
    EXPECT_NE(log.find("rule time-wait-flip cleared"), std::string::npos);
    EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace tcptune::test
