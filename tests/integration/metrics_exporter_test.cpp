// End-to-end: the real tcptuned, in the test's private network namespace, serves
// http://127.0.0.1:<port>/metrics (and [::1], [::]). What users rely on: promtool accepts the text
// under real load, the socket gauges equal what the kernel holds, a rule firing
// shows in the rule and change metrics, a busy port is a clear startup error,
// and scrapes stay fast because they never dump the socket table.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/socket_factory.hpp"
#include "support/traffic.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/version.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHost = "127.0.0.1";
constexpr const char* kRule = "time-wait-pressure";
constexpr std::size_t kRuleThreshold = 250;  // the test profile fires above this

// Fires on TIME_WAIT above kRuleThreshold for 2 polls of 200 ms and turns on
// tcp_tw_reuse (a per-namespace sysctl: the host is never touched).
constexpr const char* kProfile = R"(name: metrics-test
description: Metrics end-to-end test profile
interval: 200ms
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 250, for: 2 }
    clear: { below: 10, for: 2 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
    why: "test: TIME_WAIT pressure"
)";

class MetricsExporterTest : public ::testing::Test {
  protected:
    void write_profile() {
        std::filesystem::create_directories(dir_.path() / "profiles");
        std::ofstream(dir_.path() / "profiles" / "metrics-test.yaml") << kProfile;
    }

    // Starts tcptuned on a free loopback port and waits until a scrape has counts.
    // `listen` is the --metrics-address host as written ("127.0.0.1", "[::1]");
    // scrapes then go to `scrape_host` (numeric, no brackets).
    void launch(std::vector<std::string> extra = {}, const std::string& listen = kHost,
                const std::string& scrape_host = kHost) {
        write_profile();
        port_ = free_loopback_port();
        ASSERT_NE(port_, 0);
        scrape_host_ = scrape_host;
        start(listen + ":" + std::to_string(port_), std::move(extra));
        auto started = daemon_->start();
        ASSERT_TRUE(started.has_value()) << started.error().message;
        ASSERT_TRUE(eventually(
            [&] {
                auto text = scrape();
                return text && series_value(*text, R"(tcptune_tcp_sockets{state="listen"})");
            },
            10s))
            << "no counts on /metrics within 10 s\n"
            << daemon_->log();
    }

    // The daemon on `metrics_address`, with the test profile and no bus.
    void start(const std::string& metrics_address, std::vector<std::string> extra = {}) {
        daemon_ = std::make_unique<DaemonProcess>(isolated_launch({.dir = dir_.path(),
                                                                   .profile = "metrics-test",
                                                                   .metrics = metrics_address,
                                                                   .extra = std::move(extra)}));
    }

    void TearDown() override {
        if (daemon_ && HasFailure()) {
            std::cerr << "---- tcptuned log ----\n" << daemon_->log() << "----\n";
        }
        if (daemon_) {
            daemon_->stop();
        }
    }

    std::optional<std::string> scrape() const {
        auto response = http_get(scrape_host_, port_, "/metrics", 5s);
        if (!response || response->status != 200) {
            return std::nullopt;
        }
        return response->body;
    }

    // Scrapes until `series` has `value` (bounded); returns the last value seen.
    std::optional<double> wait_for_series(const std::string& series, double value,
                                          std::chrono::milliseconds timeout = 10s) const {
        std::optional<double> last;
        eventually(
            [&] {
                auto text = scrape();
                last = text ? series_value(*text, series) : std::nullopt;
                return last == value;
            },
            timeout);
        return last;
    }

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::string scrape_host_ = kHost;
    std::unique_ptr<DaemonProcess> daemon_;
};

std::string sockets_series(TcpState state) {
    return "tcptune_tcp_sockets{state=\"" + std::string(state_name(state)) + "\"}";
}

TEST_F(MetricsExporterTest, ScrapedTimeWaitGaugeEqualsTheSocketsMade) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch();
    const auto series = sockets_series(TcpState::kTimeWait);
    EXPECT_EQ(wait_for_series(series, 0), 0.0);

    constexpr std::size_t kTimeWait = 180;  // below the rule's threshold
    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, kTimeWait).has_value());
    wait_for_population(factory);

    EXPECT_EQ(wait_for_series(series, static_cast<double>(kTimeWait)),
              static_cast<double>(kTimeWait));
    // Our scrapes end with an RST and the daemon keeps connections alive, so
    // scraping adds no TIME_WAIT of its own: the value stays put.
    for (int i = 0; i < 5; ++i) {
        auto text = scrape();
        ASSERT_TRUE(text.has_value());
        EXPECT_EQ(series_value(*text, series), static_cast<double>(kTimeWait));
        std::this_thread::sleep_for(250ms);
    }
}

TEST_F(MetricsExporterTest, PromtoolAcceptsTheScrapeUnderRealLoad) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch();
    SocketFactory factory;
    ASSERT_TRUE(factory.add_listeners(IpFamily::kV6, 3).has_value());
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 300).has_value());
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, 120).has_value());
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV6, 400).has_value());  // fires the rule
    wait_for_population(factory);
    const StateCounts expected = factory.expected();

    ASSERT_EQ(wait_for_series(sockets_series(TcpState::kCloseWait),
                              static_cast<double>(expected[TcpState::kCloseWait])),
              static_cast<double>(expected[TcpState::kCloseWait]));
    auto text = scrape();
    ASSERT_TRUE(text.has_value());

    const auto check = promtool_check_metrics(*text, dir_.path() / "scrape.prom");
    EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << *text;
    EXPECT_EQ(check.out, "") << "promtool lint findings";

    // Every state is present, zero or not, and the loaded ones match the kernel.
    for (const auto state : kAllTcpStates) {
        const auto value = series_value(*text, sockets_series(state));
        ASSERT_TRUE(value.has_value()) << state_name(state);
        if (state == TcpState::kListen) {
            // The factory's listeners plus the daemon's own metrics listener.
            EXPECT_EQ(*value, static_cast<double>(expected[state] + 1));
        } else if (state == TcpState::kEstablished) {
            // A poll may have caught one of our scrape connections (2 ends).
            EXPECT_GE(*value, static_cast<double>(expected[state]));
            EXPECT_LE(*value, static_cast<double>(expected[state] + 2));
        } else {
            EXPECT_EQ(*value, static_cast<double>(expected[state])) << state_name(state);
        }
    }
    // The core metric set of docs/metrics.md, each with HELP and TYPE.
    for (const char* name :
         {"tcptune_build_info", "tcptune_tcp_sockets", "tcptune_poll_duration_seconds",
          "tcptune_poll_errors_total", "tcptune_rule_active", "tcptune_rule_triggers_total",
          "tcptune_sysctl_value", "tcptune_sysctl_changes_total", "tcptune_sysctl_overridden",
          "tcptune_tcp_listen_overflows_total", "tcptune_tcp_listen_drops_total",
          "tcptune_tcp_syncookies_sent_total", "tcptune_tcp_syncookies_failed_total",
          "tcptune_tcp_timewait_overflows_total"}) {
        EXPECT_NE(text->find("# HELP " + std::string(name) + " "), std::string::npos) << name;
        EXPECT_NE(text->find("# TYPE " + std::string(name) + " "), std::string::npos) << name;
    }
    EXPECT_EQ(series_value(*text, "tcptune_build_info{version=\"" + std::string(kVersion) + "\"}"),
              1.0);
    EXPECT_GE(series_value(*text, "tcptune_poll_duration_seconds_count").value_or(0), 1.0);
    EXPECT_EQ(series_value(*text, "tcptune_poll_errors_total"), 0.0);
    // Limits an alert relates counts to are exported even though no profile sets them.
    auto buckets = read_sysctl("net.ipv4.tcp_max_tw_buckets");
    ASSERT_TRUE(buckets.has_value());
    EXPECT_EQ(series_value(*text, R"(tcptune_sysctl_value{key="net.ipv4.tcp_max_tw_buckets"})"),
              std::stod(*buckets));
    EXPECT_TRUE(series_value(
        *text, R"(tcptune_sysctl_value{key="net.ipv4.ip_local_port_range",bound="high"})"));
}

TEST_F(MetricsExporterTest, ARuleFiringShowsInRuleAndChangeMetrics) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch();
    const std::string active = std::string("tcptune_rule_active{rule=\"") + kRule + "\"}";
    const std::string triggers = std::string("tcptune_rule_triggers_total{rule=\"") + kRule + "\"}";
    const std::string applied =
        R"(tcptune_sysctl_changes_total{key="net.ipv4.tcp_tw_reuse",result="applied"})";
    const std::string reuse = R"(tcptune_sysctl_value{key="net.ipv4.tcp_tw_reuse"})";
    {
        auto text = scrape();
        ASSERT_TRUE(text.has_value());
        EXPECT_EQ(series_value(*text, active), 0.0);
        EXPECT_EQ(series_value(*text, triggers), 0.0);
        // Present at 0 before anything happened, so increase() sees the first change.
        EXPECT_EQ(series_value(*text, applied), 0.0);
        EXPECT_NE(series_value(*text, reuse), 1.0);
    }

    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, kRuleThreshold + 150).has_value());
    wait_for_population(factory);

    EXPECT_EQ(wait_for_series(active, 1), 1.0);
    auto text = scrape();
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(series_value(*text, triggers), 1.0);
    EXPECT_EQ(series_value(*text, applied), 1.0);
    EXPECT_EQ(series_value(*text, reuse), 1.0);
    EXPECT_EQ(series_value(*text, R"(tcptune_sysctl_overridden{key="net.ipv4.tcp_tw_reuse"})"),
              0.0);
    EXPECT_EQ(
        series_value(
            *text, R"(tcptune_sysctl_changes_total{key="net.ipv4.tcp_tw_reuse",result="failed"})"),
        0.0);

    // An administrator changes the managed key: the override shows.
    ASSERT_TRUE(write_namespace_sysctl("net.ipv4.tcp_tw_reuse", "0").has_value());
    EXPECT_EQ(wait_for_series(R"(tcptune_sysctl_overridden{key="net.ipv4.tcp_tw_reuse"})", 1), 1.0);
    EXPECT_EQ(wait_for_series(reuse, 0), 0.0);
}

// Why an IPv6 test cannot run in this namespace ("" when it can).
std::string ipv6_unavailable() {
    if (!std::filesystem::exists("/proc/net/if_inet6")) {
        return "IPv6 is disabled in this kernel";
    }
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return "no IPv6 sockets here";
    }
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return bound ? "" : "::1 is not configured on lo";
}

// --metrics-address [::1]:PORT serves /metrics over IPv6, the same text
// (promtool-clean) with the same counts.
TEST_F(MetricsExporterTest, ServesOnIpv6Loopback) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (const auto why = ipv6_unavailable(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    launch({}, "[::1]", "::1");
    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV6, 40).has_value());
    wait_for_population(factory);
    EXPECT_EQ(wait_for_series(sockets_series(TcpState::kTimeWait), 40), 40.0);
    auto text = scrape();
    ASSERT_TRUE(text.has_value());
    const auto check = promtool_check_metrics(*text, dir_.path() / "scrape.prom");
    EXPECT_EQ(check.exit_code, 0) << check.out;
    EXPECT_NE(daemon_->log().find("serving metrics on http://[::1]:" + std::to_string(port_)),
              std::string::npos)
        << daemon_->log();
    // Only on ::1: the IPv4 loopback has nothing on that port.
    EXPECT_FALSE(http_get(kHost, port_, "/metrics", 1s).has_value());
    // Other paths and methods are refused, not served.
    auto response = http_get("::1", port_, "/", 5s);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 404);
}

// [::]:PORT is the IPv6 wildcard and, as Linux binds it by default, serves IPv4
// clients too.
TEST_F(MetricsExporterTest, Ipv6WildcardServesBothFamilies) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (const auto why = ipv6_unavailable(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    launch({}, "[::]", "::1");
    auto v6 = http_get("::1", port_, "/metrics", 5s);
    ASSERT_TRUE(v6.has_value()) << v6.error().message;
    EXPECT_EQ(v6->status, 200);
    auto v4 = http_get(kHost, port_, "/metrics", 5s);
    ASSERT_TRUE(v4.has_value()) << v4.error().message;
    EXPECT_EQ(v4->status, 200);
    EXPECT_NE(v4->headers.find("content-type: text/plain; version=0.0.4"), std::string::npos)
        << v4->headers;
}

TEST_F(MetricsExporterTest, ABusyPortIsAClearStartupError) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    write_profile();
    // Something else already listens on the port.
    const int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(blocker, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(blocker, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(blocker, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(blocker, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string address = std::string(kHost) + ":" + std::to_string(ntohs(addr.sin_port));

    start(address);
    ASSERT_TRUE(daemon_->start().has_value());
    const auto status = daemon_->wait_exit(15s);
    ::close(blocker);
    ASSERT_TRUE(status.has_value()) << "tcptuned kept running on a busy metrics port";
    EXPECT_NE(*status, 0);
    const std::string log = daemon_->log();
    EXPECT_NE(log.find("cannot serve metrics on " + address), std::string::npos) << log;
}

TEST_F(MetricsExporterTest, NoneServesNothing) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    write_profile();
    start("none");
    ASSERT_TRUE(daemon_->start().has_value());
    // Running (give it time to have started a server, were it to) ...
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(daemon_->running()) << daemon_->log();
    // ... with no listening socket at all in the namespace, the default port included.
    auto counts = count_states_with_ss();
    ASSERT_TRUE(counts.has_value());
    EXPECT_EQ((*counts)[TcpState::kListen], 0u);
    EXPECT_FALSE(http_get(kHost, 9477, "/metrics", 1s).has_value());
}

// Scrape latency with a large population: scrapes are served from the last
// poll's snapshot, so they cost the same with 20k sockets as with none. Set
// TCPTUNE_METRICS_SCRAPE_SOCKETS to measure another population (docs/metrics.md
// has the 500k figure and command).
TEST_F(MetricsExporterTest, ScrapesStayFastWithManySockets) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    std::size_t population = 20000;
    if (const char* env = std::getenv("TCPTUNE_METRICS_SCRAPE_SOCKETS")) {
        population = std::stoul(env);
    }
    // Room for a big TIME_WAIT population in this namespace.
    ASSERT_TRUE(write_namespace_sysctl("net.ipv4.tcp_max_tw_buckets", "4194304").has_value());
    launch({"--interval", "1"});
    SocketFactory factory;
    // Half CLOSE_WAIT + FIN_WAIT2 (one fd per pair), a quarter ESTABLISHED, and a
    // quarter TIME_WAIT (no fd, but they expire after 60 s, so they come last).
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, population / 4).has_value());
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, population / 8).has_value());
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, population / 4).has_value());
    const double close_wait = static_cast<double>(factory.expected()[TcpState::kCloseWait]);
    ASSERT_EQ(wait_for_series(sockets_series(TcpState::kCloseWait), close_wait, 30s), close_wait);
    auto text = scrape();
    ASSERT_TRUE(text.has_value());
    std::size_t seen = 0;
    for (const auto state : kAllTcpStates) {
        seen += static_cast<std::size_t>(series_value(*text, sockets_series(state)).value_or(0));
    }
    ASSERT_GE(seen, population * 8 / 10) << "population not built";

    constexpr int kScrapes = 100;
    std::vector<double> ms;
    for (int i = 0; i < kScrapes; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto response = http_get(kHost, port_, "/metrics", 5s);
        const auto took = std::chrono::steady_clock::now() - start;
        ASSERT_TRUE(response.has_value()) << response.error().message;
        ASSERT_EQ(response->status, 200);
        ms.push_back(std::chrono::duration<double, std::milli>(took).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double p99 = ms[ms.size() * 99 / 100];
    std::printf(
        "[ MEASURED ] %zu sockets on the host: %d scrapes, median %.3f ms, p99 %.3f ms, "
        "max %.3f ms\n",
        seen, kScrapes, median, p99, ms.back());
    // The target is 10 ms; the median is asserted (the max on a shared CI machine
    // says more about the scheduler than about the exporter).
    EXPECT_LE(median, 10.0);
}

}  // namespace
}  // namespace tcptune::test

namespace tcptune::test {
namespace {

TEST_F(MetricsExporterTest, PressureSeriesNameTheListenerAndTheDestinationAndPassPromtool) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch();
    // A listener that never accepts, its accept queue full: listen(8), 20 connects.
    auto stuck = listen_on({"127.0.0.7", 7070}, 8);
    ASSERT_TRUE(stuck.has_value()) << stuck.error().message;
    const std::vector<int> clients = connect_burst({"127.0.0.7", 7070}, 20);
    // Ports held towards one destination: 300 client-side TIME_WAITs.
    auto server = DrainServer::start({{"127.0.0.8", 5432}});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    const auto churn = churn_connections({{"127.0.0.8", 5432}}, 300, 1000.0);
    ASSERT_EQ(churn.failed, 0U);

    const std::string accept = R"(tcptune_listener_accept_queue{listener="127.0.0.7:7070"})";
    ASSERT_EQ(wait_for_series(accept, 9.0), 9.0);
    const std::string held =
        R"(tcptune_destination_sockets{local="127.0.0.1",destination="127.0.0.8:5432"})";
    ASSERT_EQ(wait_for_series(held, 300.0), 300.0);
    auto text = scrape();
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(series_value(*text, R"(tcptune_listener_backlog{listener="127.0.0.7:7070"})"), 8.0);
    EXPECT_EQ(series_value(*text, R"(tcptune_listener_syn_queue{listener="127.0.0.7:7070"})"), 0.0);
    const auto usable = series_value(*text, "tcptune_ephemeral_ports_usable");
    ASSERT_TRUE(usable.has_value());
    EXPECT_EQ(*usable, 28232.0);  // a new namespace's 32768-60999, nothing reserved
    EXPECT_NEAR(
        series_value(
            *text,
            R"(tcptune_destination_port_usage_ratio{local="127.0.0.1",destination="127.0.0.8:5432"})")
            .value_or(-1),
        300.0 / 28232.0, 1e-6);
    EXPECT_TRUE(series_value(*text, R"(tcptune_dead_peer_sockets{kind="keepalive"})"));
    EXPECT_TRUE(series_value(*text, R"(tcptune_tcp_event_rate{counter="listen_overflows"})"));
    const auto check = promtool_check_metrics(*text, dir_.path() / "pressure.prom");
    EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << *text;
    EXPECT_EQ(check.out, "") << "promtool lint findings";
    for (int fd : clients) {
        ::close(fd);
    }
    ::close(*stuck);
}

}  // namespace
}  // namespace tcptune::test
