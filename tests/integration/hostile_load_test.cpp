// The hostile soak of issue #16 (bounded, under a minute): while tcptuned tunes
// a namespace with tens of thousands of sockets, an unprivileged local user
// keeps 64 GetTop and ListProfiles calls in flight on one bus connection and
// slow HTTP clients hold the metrics port (idle keep-alive connections and
// 200 half-sent requests). The budgets: polls keep their cadence, the watchdog is
// pinged on time, root's `tcptune status` answers within 2 s, scrapes within
// a few seconds, and the daemon's RSS and fd count stay flat.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/private_bus.hpp"
#include "support/reader_flood.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/dbus/contract.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kHost = "127.0.0.1";

// Every notify message with the time it arrived, collected on a thread.
class NotifyLog {
  public:
    explicit NotifyLog(NotifySocket& socket)
        : thread_([this, &socket] {
              while (!stop_) {
                  if (auto message = socket.receive(100ms)) {
                      std::lock_guard lock(mutex_);
                      messages_.emplace_back(Clock::now(), *message);
                  }
              }
          }) {}
    ~NotifyLog() {
        stop_ = true;
        thread_.join();
    }
    std::vector<std::pair<Clock::time_point, std::string>> since(Clock::time_point from) {
        std::lock_guard lock(mutex_);
        std::vector<std::pair<Clock::time_point, std::string>> out;
        for (const auto& m : messages_) {
            if (m.first >= from) {
                out.push_back(m);
            }
        }
        return out;
    }

  private:
    std::mutex mutex_;
    std::vector<std::pair<Clock::time_point, std::string>> messages_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Slow HTTP clients: connections that never finish a request.
class SlowClients {
  public:
    SlowClients(std::uint16_t port, int idle_keep_alive, int half_sent) {
        for (int i = 0; i < idle_keep_alive + half_sent; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(port);
            ::inet_pton(AF_INET, kHost, &addr.sin_addr);
            const linger abort_on_close{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
            if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
                ::close(fd);
                continue;
            }
            // An idle keep-alive client: one complete request, then silence.
            // A half-sent one: the request line and nothing more.
            const std::string request =
                i < idle_keep_alive
                    ? "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
                    : "GET /metrics HTTP/1.1\r\nHost: x\r\n";
            [[maybe_unused]] auto n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
            fds_.push_back(fd);
        }
    }
    ~SlowClients() {
        for (int fd : fds_) {
            ::close(fd);
        }
    }
    std::size_t connected() const { return fds_.size(); }

  private:
    std::vector<int> fds_;
};

// tcptuned on a private bus (the project's policy) with metrics on a free
// loopback port and a NOTIFY_SOCKET, in the test's private network namespace.
class BusDaemonTest : public ::testing::Test {
  protected:
    void start_daemon(std::vector<std::string> extra = {}) {
        auto bus = PrivateBus::start(BusPolicy::kProject);
        ASSERT_TRUE(bus.has_value()) << bus.error().message;
        bus_ = std::move(*bus);
        bus_->export_as_system_bus();
        port_ = free_loopback_port();
        ASSERT_NE(port_, 0);
        notify_ = std::make_unique<NotifySocket>(dir_.path() / "notify.sock");
        // WATCHDOG_USEC 2 s: the daemon pings every second.
        const DaemonLaunch launch = isolated_launch(
            {.dir = dir_.path(),
             .profile = "tw-storm",
             .profile_dir = fs::path(TCPTUNE_TEST_DATA_DIR) / "daemon",
             .bus = "system",
             .metrics = std::string(kHost) + ":" + std::to_string(port_),
             .extra = std::move(extra),
             .env = {"NOTIFY_SOCKET=" + notify_->path().string(), "WATCHDOG_USEC=2000000",
                     "DBUS_SYSTEM_BUS_ADDRESS=" + bus_->address()},
             .watchdog_pid_is_child = true});
        daemon_ = std::make_unique<DaemonProcess>(launch);
        notes_ = std::make_unique<NotifyLog>(*notify_);
        ASSERT_TRUE(daemon_->start().has_value());
        ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    }

    void TearDown() override {
        if (daemon_ && HasFailure()) {
            const std::string log = daemon_->log();
            std::cerr << "---- tcptuned log (tail) ----\n"
                      << log.substr(log.size() > 4000 ? log.size() - 4000 : 0) << "----\n";
        }
        if (daemon_) {
            daemon_->stop();
        }
        notes_.reset();
    }

    // `busctl call` of a Manager1 method as root, with its output.
    CommandOutput busctl(const std::string& method_and_args) const {
        return run_command("busctl --address=" + bus_->address() +
                               " call net.tcptune /net/tcptune/Manager1 net.tcptune.Manager1 " +
                               method_and_args,
                           {.merge_stderr = true});
    }

    TempDir dir_;
    std::unique_ptr<PrivateBus> bus_;
    std::uint16_t port_ = 0;
    std::unique_ptr<NotifySocket> notify_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::unique_ptr<NotifyLog> notes_;
};

TEST_F(BusDaemonTest, HostileReadersAndSlowHttpClientsCannotStallTheDaemon) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    ASSERT_TRUE(write_namespace_sysctl("net.ipv4.tcp_max_tw_buckets", "4194304").has_value());
    start_daemon();
    auto& daemon = *daemon_;
    auto& notes = *notes_;
    const std::uint16_t port = port_;

    // Tens of thousands of sockets, and a TIME_WAIT storm the profile reacts to.
    SocketFactory factory;
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, 6000).has_value());
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 20000).has_value());

    // Resources before any hostile load: after it they must be back there.
    std::this_thread::sleep_for(1s);
    const std::size_t fds_before = daemon.standing_fds();
    const std::size_t rss_before = daemon.rss_kb();

    // The hostile user: 64 calls in flight on one connection, as nobody.
    auto flood = ReaderFlood::start(
        bus_->address(),
        {ReaderCall{"GetTop", "time_wait", "port", 1000}, ReaderCall{"ListProfiles"},
         ReaderCall{"GetTop", "close_wait", "peer", 10}},
        64);
    ASSERT_TRUE(flood.has_value()) << flood.error().message;
    auto slow = std::make_unique<SlowClients>(port, 8, 200);
    ASSERT_GT(slow->connected(), 0U);

    std::this_thread::sleep_for(3s);  // let the load settle
    const std::size_t rss_under_load = daemon.rss_kb();
    const auto measured_from = Clock::now();

    std::vector<double> status_seconds;
    std::vector<double> scrape_seconds;
    int status_failures = 0;
    int scrape_failures = 0;
    const auto until = Clock::now() + 25s;
    while (Clock::now() < until) {
        const auto a = Clock::now();
        const auto status = run_command("timeout 10 " + std::string(TCPTUNE_BIN_DIR) +
                                        "/tcptune status --json >/dev/null 2>&1");
        status_seconds.push_back(std::chrono::duration<double>(Clock::now() - a).count());
        status_failures += status.exit_code == 0 ? 0 : 1;
        const auto b = Clock::now();
        auto scraped = http_get(kHost, port, "/metrics", 10s);
        scrape_seconds.push_back(std::chrono::duration<double>(Clock::now() - b).count());
        scrape_failures += scraped && scraped->status == 200 ? 0 : 1;
        std::this_thread::sleep_for(500ms);
    }
    const auto measured_to = Clock::now();
    const std::size_t rss_end_of_load = daemon.rss_kb();
    const long answers = flood->stop();
    slow.reset();
    // Every connection the load made is gone again (the daemon notices a closed
    // HTTP connection at once; the flood's bus connection when it exits).
    std::size_t fds_after = 0;
    eventually(
        [&] {
            fds_after = daemon.standing_fds();
            return fds_after <= fds_before;
        },
        15s);
    const std::size_t rss_after = daemon.rss_kb();

    // Watchdog pings and poll progress from the notify messages.
    const auto messages = notes.since(measured_from);
    double worst_ping_gap = 0;
    std::optional<Clock::time_point> last_ping;
    std::optional<std::uint64_t> first_polls;
    std::optional<std::uint64_t> last_polls;
    for (const auto& [at, text] : messages) {
        if (text.find("WATCHDOG=1") != std::string::npos) {
            if (last_ping) {
                worst_ping_gap = std::max(worst_ping_gap,
                                          std::chrono::duration<double>(at - *last_ping).count());
            }
            last_ping = at;
        }
        if (auto polls = polls_in_status(text)) {
            first_polls = first_polls.value_or(*polls);
            last_polls = *polls;
        }
    }
    const double window = std::chrono::duration<double>(measured_to - measured_from).count();
    const double polls_per_second =
        first_polls && last_polls ? static_cast<double>(*last_polls - *first_polls) / window : 0;
    const double worst_status = *std::max_element(status_seconds.begin(), status_seconds.end());
    const double worst_scrape = *std::max_element(scrape_seconds.begin(), scrape_seconds.end());
    std::printf(
        "[ MEASURED ] hostile load %.0f s: %ld flood answers; polls %.1f/s (profile: 5/s); worst "
        "watchdog gap %.2f s; tcptune status worst %.2f s (%zu runs, %d failed); scrape worst "
        "%.2f s (%zu, %d failed); fds %zu -> %zu; RSS %zu -> %zu (under load %zu -> %zu) kB\n",
        window, answers, polls_per_second, worst_ping_gap, worst_status, status_seconds.size(),
        status_failures, worst_scrape, scrape_seconds.size(), scrape_failures, fds_before,
        fds_after, rss_before, rss_after, rss_under_load, rss_end_of_load);

    EXPECT_GT(answers, 0) << "the flood never got an answer: it did not load the daemon";
    EXPECT_GE(polls_per_second, 2.5) << "polls fell behind their 200 ms cadence";
    EXPECT_LE(worst_ping_gap, 1.6) << "watchdog pinged late (every 1 s expected)";
    EXPECT_EQ(status_failures, 0);
    EXPECT_LE(worst_status, 2.0) << "root's tcptune status was not answered within 2 s";
    EXPECT_EQ(scrape_failures, 0);
    EXPECT_LE(worst_scrape, 4.0) << "a scrape waited behind slow HTTP clients";
    EXPECT_LE(fds_after, fds_before) << "fds left behind by the load";
    // The first breakdowns allocate their tables once (a few MB); after that,
    // 25 s of flood must not add to it.
    EXPECT_LE(rss_end_of_load, rss_under_load + 2048) << "RSS grew under load";
    EXPECT_LE(rss_after, rss_before + 16384) << "RSS kept after the load";
    EXPECT_TRUE(daemon.running());
    EXPECT_EQ(read_sysctl("net.ipv4.tcp_tw_reuse").value_or(""), "1")
        << "the daemon stopped tuning under load";
}

// #16 item 1: GetTop's limit is validated instead of sizing an allocation.
TEST_F(BusDaemonTest, GetTopLimitsAreValidated) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start_daemon();
    for (const char* limit : {"4294967295", "1001"}) {
        const auto result = busctl(std::string("GetTop ssu time_wait port ") + limit);
        EXPECT_NE(result.exit_code, 0) << result.out;
        EXPECT_NE(result.out.find("out of range"), std::string::npos) << result.out;
    }
    const auto ok = busctl("GetTop ssu time_wait port 1000");
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_TRUE(daemon_->running());
}

// #16 item 5: an unprivileged caller's denied or invalid calls are logged at a
// bounded rate, with how many lines were suppressed.
TEST_F(BusDaemonTest, DeniedCallsAreLoggedAtABoundedRatePerSender) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start_daemon();
    auto flood = ReaderFlood::start(bus_->address(),
                                    {ReaderCall{"GetTop", "time_wait", "process", 10},
                                     ReaderCall{"GetTop", "no_such_state", "port", 10}},
                                    16);
    ASSERT_TRUE(flood.has_value()) << flood.error().message;
    std::this_thread::sleep_for(12s);  // a bit more than one 10 s window
    const long answers = flood->stop();
    const std::size_t denied = daemon_->count_in_log("denied for uid");
    std::printf("[ MEASURED ] %ld refused calls in 12 s logged as %zu lines\n", answers, denied);
    ASSERT_GT(answers, 1000) << "the flood did not run";
    // 5 lines per 10 s window: two windows, a third at most on a slow machine.
    EXPECT_LE(denied, 15U) << "one line per call";
    EXPECT_TRUE(daemon_->wait_for_log("similar lines from this caller suppressed", 1s))
        << daemon_->log().substr(0, 3000);
}

// #16 item 12: HEAD /metrics is answered like GET, without a body.
TEST_F(BusDaemonTest, HeadOfMetricsIsAnswered) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start_daemon();
    const auto head =
        run_command("curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -I " +
                    std::string("http://") + kHost + ":" + std::to_string(port_) + "/metrics");
    EXPECT_EQ(head.out, "200") << head.out;
}

// #16 item 12: GetStatus does not show the state directory to everyone.
TEST_F(BusDaemonTest, TheJournalErrorNamesTheStatePathToRootOnly) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    fs::create_directories(dir_.path() / "state");
    std::ofstream(dir_.path() / "state" / "journal.json") << "{ not json";
    start_daemon();
    const std::string state = (dir_.path() / "state").string();
    const auto as_root = busctl("GetStatus");
    ASSERT_EQ(as_root.exit_code, 0) << as_root.out;
    EXPECT_NE(as_root.out.find(state), std::string::npos) << as_root.out;
    const auto as_nobody =
        run_command("setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address=" +
                        bus_->address() +
                        " call net.tcptune /net/tcptune/Manager1 net.tcptune.Manager1 GetStatus",
                    {.merge_stderr = true});
    ASSERT_EQ(as_nobody.exit_code, 0) << as_nobody.out;
    EXPECT_EQ(as_nobody.out.find(state), std::string::npos) << as_nobody.out;
    EXPECT_NE(as_nobody.out.find("journal cannot be used"), std::string::npos) << as_nobody.out;
}

// #16 item 7: root's `tcptune apply` of a 1 GiB file took the daemon to 2.1 GB.
TEST_F(BusDaemonTest, ApplyingAHugeFileCostsTheDaemonNothing) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start_daemon();
    const fs::path huge = dir_.path() / "huge.yaml";
    {
        std::ofstream out(huge);
        out << "name: huge\ndescription: d\n";
    }
    fs::resize_file(huge, 1ULL << 30);  // sparse: 1 GiB of zeros after the header
    const std::size_t rss_before = daemon_->rss_kb();
    const auto r = run_command(
        "timeout 20 " + std::string(TCPTUNE_BIN_DIR) + "/tcptune apply " + huge.string(),
        {.merge_stderr = true});
    EXPECT_EQ(r.exit_code, 6) << r.out;
    EXPECT_NE(r.out.find("too large"), std::string::npos) << r.out;
    EXPECT_LE(daemon_->rss_kb(), rss_before + 4096) << "the daemon read the file";
    EXPECT_TRUE(daemon_->running());
}

// #16 item 10: a D-Bus call that times out is "daemon unreachable" (exit 3),
// not a generic failure. sd-bus names its own call timeout Error.Timeout.
TEST_F(BusDaemonTest, ACallTimeoutCountsAsUnreachable) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start_daemon();
    daemon_->signal(SIGSTOP);
    std::string name;
    try {
        auto connection = sdbus::createSystemBusConnection();
        auto proxy = sdbus::createProxy(*connection, dbus::kServiceName, dbus::kObjectPath);
        proxy->callMethod("GetStatus")
            .onInterface(dbus::kInterfaceName)
            .withTimeout(std::chrono::milliseconds(500));
    } catch (const sdbus::Error& e) {
        name = e.getName();
    }
    daemon_->signal(SIGCONT);
    std::printf("[ MEASURED ] a call to a stopped daemon fails with %s\n", name.c_str());
    EXPECT_FALSE(name.empty()) << "the stopped daemon answered";
    EXPECT_TRUE(dbus::means_unreachable(name)) << name;
}

}  // namespace
}  // namespace tcptune::test
