// Every shipped rule against its scenario, with real traffic in a private network
// namespace and the real tcptuned running the shipped profile: it fires on its
// scenario and not on the look-alike, and where it changes a key, the measured
// outcome improves. (docs/profile-format.md, "Shipped profiles".)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon_fixture.hpp"
#include "support/run_command.hpp"
#include "support/skip.hpp"
#include "support/traffic.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

const std::string kShipped = std::string(TCPTUNE_SOURCE_DIR) + "/profiles";

class PressureScenario : public DaemonTest {
  protected:
    // The shipped profile, optionally with a faster poll interval (seconds).
    void launch_shipped(const std::string& profile, const std::string& interval = "") {
        std::vector<std::string> args = {"--profile-dir", kShipped, "--profile", profile};
        if (!interval.empty()) {
            args.insert(args.end(), {"--interval", interval});
        }
        launch(args);
        ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    }

    bool fired(const std::string& rule) const {
        return daemon_->count_in_log("rule " + rule + " fired") > 0;
    }

    static std::uint64_t syn_recv_now() {
        auto counts = count_states_with_ss();
        return counts ? (*counts)[TcpState::kSynRecv] : 0;
    }

    // hping3 SYNs from a spoofed loopback source; the SYN-ACKs would be answered
    // with RSTs (nobody listens at the source), so an nft rule drops those RSTs.
    static void drop_resets() {
        auto done = nft_apply(
            "table inet pressure_test {\n"
            "  chain out { type filter hook output priority 0; tcp flags & rst == rst drop; }\n"
            "}\n");
        ASSERT_TRUE(done.has_value()) << done.error().message;
    }

    static BackgroundCommand syn_flood(const std::string& ip, std::uint16_t port,
                                       std::vector<std::string> extra = {"-i", "u500"}) {
        std::vector<std::string> argv = {"hping3", "-S",       "-p", std::to_string(port),
                                         "-a",     "127.0.0.9"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(ip);
        auto cmd = BackgroundCommand::start(argv);
        EXPECT_TRUE(cmd.has_value()) << cmd.error().message;
        return std::move(*cmd);
    }

    static void set(const std::string& key, const std::string& value) {
        auto done = write_namespace_sysctl(key, value);
        ASSERT_TRUE(done.has_value()) << done.error().message;
    }

    static nlohmann::json top_listen() {
        const auto out =
            run_command(std::string(TCPTUNE_BIN_DIR) + "/tcptune top listen --json 2>&1");
        EXPECT_EQ(out.exit_code, 0) << out.out;
        return nlohmann::json::parse(out.out, nullptr, false);
    }
};

bool hping3_available() {
    return run_command("command -v hping3 >/dev/null 2>&1").exit_code == 0;
}

#define REQUIRE_HPING3() \
    TCPTUNE_SKIP_UNLESS(hping3_available(), "hping3 is not installed (apt-get install hping3)")

// ---- syn-flood-guard (and default's syn-queue-full) ----

TEST_F(PressureScenario, SynFloodFillsOneListenerAndTheGuardFiresWithinThreePollsChangingNothing) {
    REQUIRE_HPING3();
    ASSERT_EQ(sysctl("net.ipv4.tcp_syncookies"), "1");
    const std::string backlog_before = sysctl("net.ipv4.tcp_max_syn_backlog");
    const std::string synack_before = sysctl("net.ipv4.tcp_synack_retries");
    auto listener = listen_on({"127.0.0.5", 8080}, 511);
    ASSERT_TRUE(listener.has_value()) << listener.error().message;
    drop_resets();
    launch_shipped("syn-flood-guard");  // its own 1 s polls

    auto flood = syn_flood("127.0.0.5", 8080);
    // The listener's own limit: listen(511) holds 511 or 512 request sockets.
    ASSERT_TRUE(eventually([] { return syn_recv_now() >= 511; }, 10s)) << syn_recv_now();
    const auto full_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(daemon_->wait_for_log("rule syn-queue-full fired", 5s)) << daemon_->log();
    const auto took = std::chrono::steady_clock::now() - full_at;
    EXPECT_LE(took, 3s + 500ms) << "more than 3 polls of 1 s";
    EXPECT_NE(daemon_->log().find("on 127.0.0.5:8080: SYN queue of 127.0.0.5:8080 51"),
              std::string::npos)
        << daemon_->log();

    // The view names the listener with its SYN queue full.
    const auto j = top_listen();
    ASSERT_TRUE(j.is_object());
    bool seen = false;
    for (const auto& q : j["listen"]["filling"]) {
        if (q["local"] == "127.0.0.5:8080") {
            seen = true;
            EXPECT_EQ(q["port"], 8080);
            EXPECT_EQ(q["backlog"], 511);
            EXPECT_GE(q["syn_queue"].get<int>(), 511);
            EXPECT_EQ(q["syn_queue_full"], true);
            EXPECT_EQ(q["full"], false);
            EXPECT_EQ(q["queued"], 0);
        }
    }
    EXPECT_TRUE(seen) << j.dump(2);

    // Cookies are on, so nothing is dropped and nothing needs changing: no
    // ineffective key is touched (tcp_max_syn_backlog, tcp_synack_retries).
    std::this_thread::sleep_for(3s);
    EXPECT_FALSE(fired("syn-drops-without-cookies")) << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log("applied "), 0U) << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_max_syn_backlog"), backlog_before);
    EXPECT_EQ(sysctl("net.ipv4.tcp_synack_retries"), synack_before);
    EXPECT_FALSE(std::filesystem::exists(journal_file()));
    ::close(*listener);
}

TEST_F(PressureScenario, ManyHalfOpenConnectionsOnABigBacklogAreNotAFlood) {
    REQUIRE_HPING3();
    // 2000 half-open connections: more than 80% of tcp_max_syn_backlog (what the old
    // namespace-wide rule compared with), but less than half of this listener's 4096.
    auto listener = listen_on({"127.0.0.6", 9090}, 4096);
    ASSERT_TRUE(listener.has_value()) << listener.error().message;
    drop_resets();
    launch_shipped("syn-flood-guard");
    auto burst = syn_flood("127.0.0.6", 9090, {"-c", "2000", "-i", "u200"});
    ASSERT_TRUE(eventually([] { return syn_recv_now() >= 1900; }, 10s)) << syn_recv_now();
    const std::uint64_t max_syn_backlog = std::stoull(sysctl("net.ipv4.tcp_max_syn_backlog"));
    EXPECT_GT(syn_recv_now() * 10, max_syn_backlog * 8) << "not a look-alike any more";
    std::this_thread::sleep_for(4s);  // 4 polls
    EXPECT_FALSE(fired("syn-queue-full")) << daemon_->log();
    EXPECT_FALSE(fired("syn-drops-without-cookies")) << daemon_->log();
    ::close(*listener);
}

TEST_F(PressureScenario, SynsDroppedWithCookiesOffTurnCookiesOnAndTheDropsStop) {
    REQUIRE_HPING3();
    set("net.ipv4.tcp_syncookies", "0");
    auto listener = listen_on({"127.0.0.5", 8080}, 511);
    ASSERT_TRUE(listener.has_value()) << listener.error().message;
    drop_resets();
    launch_shipped("syn-flood-guard");
    auto flood = syn_flood("127.0.0.5", 8080);
    ASSERT_TRUE(daemon_->wait_for_log("rule syn-drops-without-cookies fired", 10s))
        << daemon_->log();
    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_syncookies", "1", 3s)) << daemon_->log();
    EXPECT_TRUE(daemon_->wait_for_log("applied net.ipv4.tcp_syncookies 0 -> 1", 2s));

    // The outcome: SYNs beyond the full queue get cookies instead of being dropped.
    std::this_thread::sleep_for(500ms);
    const auto drops = netstat_counter("TCPReqQFullDrop");
    const auto cookies = netstat_counter("TCPReqQFullDoCookies");
    ASSERT_TRUE(drops && cookies);
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(*netstat_counter("TCPReqQFullDrop"), *drops) << "SYNs still dropped";
    EXPECT_GT(*netstat_counter("TCPReqQFullDoCookies"), *cookies + 100);
    // Verification saw the drop rate fall: no "did not help", the key stays.
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(daemon_->count_in_log("did not help"), 0U) << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_syncookies"), "1");
    ::close(*listener);
}

// ---- default: ephemeral ports towards one destination ----

class PortScenario : public PressureScenario {
  protected:
    // A 500-port range and no TIME_WAIT reuse, so the client's TIME_WAITs hold ports.
    void small_range() {
        set("net.ipv4.ip_local_port_range", "40000 40499");
        set("net.ipv4.tcp_tw_reuse", "0");
    }
};

TEST_F(PortScenario, DefaultFiresBeforeTheFirstEaddrnotavailTowardsOneDestination) {
    small_range();
    auto server = DrainServer::start({{"127.0.0.8", 5432}});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    launch_shipped("default", "0.2");
    std::optional<std::size_t> fired_at;
    const auto churn = churn_connections({{"127.0.0.8", 5432}}, 700, 100.0, [&](std::size_t i) {
        if (!fired_at && i % 5 == 0 && fired("ports-towards-one-destination")) {
            fired_at = i;
        }
        return true;
    });
    // The scenario is real: connect() runs out of ports at the range's size.
    ASSERT_TRUE(churn.first_failure) << "no EADDRNOTAVAIL: not port exhaustion";
    EXPECT_EQ(churn.first_errno, EADDRNOTAVAIL);
    EXPECT_GE(*churn.first_failure, 490U);
    ASSERT_TRUE(fired_at) << daemon_->log();
    EXPECT_LT(*fired_at, *churn.first_failure) << "the rule came too late";
    EXPECT_NE(daemon_->log().find("on 127.0.0.1 -> 127.0.0.8:5432: ephemeral ports towards "
                                  "127.0.0.8:5432 from 127.0.0.1"),
              std::string::npos)
        << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log("applied "), 0U) << "default only reports";
}

TEST_F(PortScenario, TheSameRateSpreadOverTenDestinationsFiresNothing) {
    small_range();
    std::vector<Address> destinations;
    for (std::uint16_t port = 6000; port < 6010; ++port) {
        destinations.push_back({"127.0.0.10", port});
    }
    auto server = DrainServer::start(destinations);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    launch_shipped("default", "0.2");
    const auto churn = churn_connections(destinations, 1200, 200.0);
    EXPECT_FALSE(churn.first_failure)
        << "at #" << churn.first_failure.value_or(0) << ", errno " << churn.first_errno;
    auto counts = count_states_with_ss();
    ASSERT_TRUE(counts);
    EXPECT_GT((*counts)[TcpState::kTimeWait], 500U) << "total TIME_WAIT above the range";
    std::this_thread::sleep_for(600ms);  // 3 more polls
    EXPECT_FALSE(fired("ports-towards-one-destination")) << daemon_->log();
}

TEST_F(PortScenario, WebFrontendAllowsTimeWaitReuseAndConnectKeepsWorking) {
    small_range();
    auto server = DrainServer::start({{"127.0.0.8", 5432}});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    launch_shipped("web-frontend", "0.2");
    // Twice the range: without reuse connect() fails from about #500 on (the
    // default test above measures it).
    const auto churn = churn_connections({{"127.0.0.8", 5432}}, 1000, 100.0);
    EXPECT_TRUE(fired("ports-towards-one-destination")) << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_tw_reuse"), "1");
    EXPECT_NE(daemon_->log().find("applied net.ipv4.tcp_tw_reuse 0 -> 1"), std::string::npos);
    EXPECT_EQ(churn.failed, 0U) << "first failure at #" << churn.first_failure.value_or(0)
                                << ", errno " << churn.first_errno;
}

TEST_F(PortScenario, ReverseProxyWidensTheRangeAfterReservingAListenersPort) {
    small_range();
    set("net.ipv4.ip_local_reserved_ports", "");
    // A local server inside the range the rule will open (10240-65535).
    auto local_server = listen_on({"127.0.0.20", 20000}, 128);
    ASSERT_TRUE(local_server.has_value()) << local_server.error().message;
    auto server = DrainServer::start({{"127.0.0.8", 5432}});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    // Without TCP timestamps no TIME_WAIT port can be reused, so the profile's
    // baseline tcp_tw_reuse=1 would do nothing: the gate refuses it, and only more
    // ports help.
    set("net.ipv4.tcp_timestamps", "0");
    launch_shipped("reverse-proxy", "0.2");
    EXPECT_NE(daemon_->log().find("refused net.ipv4.tcp_tw_reuse ? -> 1 (profile reverse-proxy): "
                                  "net.ipv4.tcp_tw_reuse has no effect now"),
              std::string::npos)
        << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_tw_reuse"), "0");
    const auto churn = churn_connections({{"127.0.0.8", 5432}}, 1000, 100.0);
    EXPECT_TRUE(fired("ports-towards-one-destination")) << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.ip_local_port_range"), "10240\t65535");
    EXPECT_EQ(sysctl("net.ipv4.ip_local_reserved_ports"), "20000");
    const std::string log = daemon_->log();
    const auto reserved = log.find("applied net.ipv4.ip_local_reserved_ports");
    const auto widened = log.find("applied net.ipv4.ip_local_port_range");
    ASSERT_NE(reserved, std::string::npos) << log;
    ASSERT_NE(widened, std::string::npos) << log;
    EXPECT_LT(reserved, widened) << "the listener's port is reserved first";
    EXPECT_EQ(churn.failed, 0U);
    // The share held towards the destination fell: verification keeps the change.
    std::this_thread::sleep_for(1s);  // 5 polls, more than verify.within = 3
    EXPECT_EQ(daemon_->count_in_log("did not help"), 0U) << daemon_->log();
    ::close(*local_server);
}

// ---- default: accept queue ----

TEST_F(PressureScenario, AnAcceptQueueThatOverflowsIsAttributedToItsPort) {
    launch_shipped("default", "0.25");
    // The look-alike first: the same burst against a server that accepts.
    auto accepting = DrainServer::start({{"127.0.0.8", 7071}});
    ASSERT_TRUE(accepting.has_value()) << accepting.error().message;
    auto quick = connect_burst({"127.0.0.8", 7071}, 40);
    std::this_thread::sleep_for(1500ms);  // 6 polls
    EXPECT_FALSE(fired("accept-queue-full")) << daemon_->log();

    // A server that never accepts: listen(8), 40 connects.
    auto stuck = listen_on({"127.0.0.7", 7070}, 8);
    ASSERT_TRUE(stuck.has_value()) << stuck.error().message;
    auto waiting = connect_burst({"127.0.0.7", 7070}, 40);
    ASSERT_TRUE(daemon_->wait_for_log("rule accept-queue-full fired", 5s)) << daemon_->log();
    EXPECT_NE(daemon_->log().find("on 127.0.0.7:7070: accept queue of 127.0.0.7:7070 9/8"),
              std::string::npos)
        << daemon_->log();
    EXPECT_EQ(daemon_->log().find("127.0.0.8:7071"), std::string::npos);
    for (int fd : quick) {
        ::close(fd);
    }
    for (int fd : waiting) {
        ::close(fd);
    }
    ::close(*stuck);
}

// ---- database: dead peers ----

TEST_F(PressureScenario, PeersWhosePacketsAreDroppedShowUpAsDeadPeerEvidence) {
    auto server = listen_on({"127.0.0.11", 7000}, 128);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    std::vector<int> fds;
    const sockaddr_in sin = Address{"127.0.0.11", 7000}.to_sockaddr();
    for (int i = 0; i < 30; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        const int probes = 60;
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one));
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one));
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
        ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin)), 0);
        fds.push_back(fd);
        fds.push_back(::accept(*server, nullptr, nullptr));
    }
    launch_shipped("database", "0.5");
    // The look-alike: idle connections whose keepalive probes are answered.
    std::this_thread::sleep_for(3s);
    EXPECT_FALSE(fired("dead-peers")) << daemon_->log();

    // The peer stops answering: everything 127.0.0.11 sends is dropped.
    auto dropped = nft_apply(
        "table inet dead_peer_test {\n"
        "  chain out { type filter hook output priority 0; ip saddr 127.0.0.11 drop; }\n"
        "}\n");
    ASSERT_TRUE(dropped.has_value()) << dropped.error().message;
    ASSERT_TRUE(daemon_->wait_for_log("rule dead-peers fired", 10s)) << daemon_->log();
    EXPECT_NE(daemon_->log().find("rule dead-peers fired: dead_peers(any) is "), std::string::npos)
        << daemon_->log();
    for (int fd : fds) {
        ::close(fd);
    }
    ::close(*server);
}

// ---- default: CLOSE_WAIT leak ----

TEST_F(PressureScenario, ACloseWaitLeakIsReportedAndAFewCloseWaitsAreNot) {
    launch_shipped("default", "0.2");
    SocketFactory factory;
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, 50).has_value());
    ASSERT_TRUE(wait_until_ss_shows(factory.expected()).has_value());
    std::this_thread::sleep_for(2s);  // 10 polls
    EXPECT_FALSE(fired("close-wait-leak")) << daemon_->log();
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, 1100).has_value());
    ASSERT_TRUE(daemon_->wait_for_log("rule close-wait-leak fired", 10s)) << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log("applied "), 0U);
}

}  // namespace
}  // namespace tcptune::test
