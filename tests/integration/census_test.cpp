// The census against the real kernel: known populations of real sockets in a private
// network namespace, counted by tcptune and by `ss`, which must agree exactly.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/netns.hpp"
#include "support/run_command.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/census_netlink.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune {
namespace {

using test::IpFamily;
using test::SocketFactory;

using test::run_command;

StateCounts census_counts() {
    auto source = make_netlink_census_source();
    EXPECT_TRUE(source) << source.error().message;
    if (!source) {
        return {};
    }
    auto snapshot = (*source)->poll();
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return snapshot ? snapshot->counts : StateCounts{};
}

void expect_same(const StateCounts& got, const StateCounts& want, const char* who) {
    for (TcpState s : kAllTcpStates) {
        EXPECT_EQ(got[s], want[s]) << who << ": " << state_name(s);
    }
}

TEST(CensusIntegration, EmptyNamespaceCountsNothing) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    auto source = make_netlink_census_source();
    ASSERT_TRUE(source) << source.error().message;
    auto snapshot = (*source)->poll();
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(snapshot->counts.total(), 0U);
    EXPECT_EQ(snapshot->sockstat.tcp_inuse, 0U);
}

TEST(CensusIntegration, CountsEveryStateExactlyAsBuiltAndAsSsShows) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    SocketFactory factory;
    for (auto [family, k] : {std::pair{IpFamily::kV4, 1U}, std::pair{IpFamily::kV6, 2U}}) {
        ASSERT_TRUE(factory.add_listeners(family, 3 * k));
        ASSERT_TRUE(factory.add_established(family, 5 * k));
        ASSERT_TRUE(factory.add_close_wait(family, 4 * k));
        ASSERT_TRUE(factory.add_time_wait(family, 6 * k));
        auto syn = factory.add_syn_recv(family, 7 * k);
        ASSERT_TRUE(syn) << syn.error().message;
    }
    const StateCounts expected = factory.expected();
    // Built by hand from the numbers above: the factory's bookkeeping is checked too.
    EXPECT_EQ(expected[TcpState::kEstablished], 2U * (5 + 10));
    EXPECT_EQ(expected[TcpState::kCloseWait], 4U + 8);
    EXPECT_EQ(expected[TcpState::kFinWait2], 4U + 8);
    EXPECT_EQ(expected[TcpState::kTimeWait], 6U + 12);
    EXPECT_EQ(expected[TcpState::kSynRecv], 7U + 14);
    EXPECT_EQ(expected[TcpState::kListen], (3U + 6) + 2 /*close_wait queues*/ + 2 /*syn_recv*/);

    auto settled = test::wait_until_ss_shows(expected);
    ASSERT_TRUE(settled) << settled.error().message;

    const StateCounts census = census_counts();
    expect_same(census, expected, "census vs built");
    auto ss = test::count_states_with_ss();
    ASSERT_TRUE(ss) << ss.error().message;
    expect_same(census, *ss, "census vs ss");
}

TEST(CensusIntegration, VisitorSeesEverySocketOnce) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    SocketFactory factory;
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 4));
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV6, 3));
    ASSERT_TRUE(test::wait_until_ss_shows(factory.expected()));

    auto census = NetlinkCensus::open();
    ASSERT_TRUE(census) << census.error().message;
    struct ByFamily {
        std::size_t v4 = 0;
        std::size_t v6 = 0;
        void operator()(const inet_diag_msg& msg, TcpState) {
            (msg.idiag_family == AF_INET ? v4 : v6)++;
        }
        void reset() { v4 = v6 = 0; }
    } by_family;
    auto snapshot = (*census)->poll_with(by_family);
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(by_family.v4, 8U);
    EXPECT_EQ(by_family.v6, 3U);
    expect_same(snapshot->counts, factory.expected(), "census");
}

// Enough sockets for hundreds of netlink datagrams and more than one process's fds.
TEST(CensusIntegration, LargePopulationIsCountedExactly) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    auto raised = test::write_namespace_sysctl("net.core.somaxconn", "8192");
    ASSERT_TRUE(raised) << raised.error().message;
    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 20000));
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV4, 12000));
    ASSERT_TRUE(factory.add_established(IpFamily::kV6, 9000));
    ASSERT_TRUE(factory.add_syn_recv(IpFamily::kV4, 1000));
    EXPECT_GE(factory.holder_count(), 3U);
    auto settled = test::wait_until_ss_shows(factory.expected(), std::chrono::seconds(30));
    ASSERT_TRUE(settled) << settled.error().message;
    expect_same(census_counts(), factory.expected(), "census");
}

TEST(CensusIntegration, CensusCommandPrintsTheSameCountsAsJson) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    SocketFactory factory;
    ASSERT_TRUE(factory.add_listeners(IpFamily::kV4, 2));
    ASSERT_TRUE(factory.add_close_wait(IpFamily::kV6, 3));
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 5));
    ASSERT_TRUE(test::wait_until_ss_shows(factory.expected()));

    const auto result = run_command(std::string(TCPTUNE_BIN_DIR) + "/tcptune census --json");
    ASSERT_EQ(result.exit_code, 0) << result.out;
    const auto json = nlohmann::json::parse(result.out);
    ASSERT_TRUE(json.contains("states"));
    ASSERT_EQ(json["states"].size(), kTcpStateCount);
    for (TcpState s : kAllTcpStates) {
        EXPECT_EQ(json["states"][std::string(state_name(s))].get<std::uint64_t>(),
                  factory.expected()[s])
            << state_name(s);
    }
    EXPECT_GE(json["duration_seconds"].get<double>(), 0.0);
    EXPECT_TRUE(json["netstat"].contains("listen_overflows"));

    const auto table = run_command(std::string(TCPTUNE_BIN_DIR) + "/tcptune census");
    ASSERT_EQ(table.exit_code, 0) << table.out;
    EXPECT_NE(table.out.find("time_wait"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("ListenOverflows"), std::string::npos) << table.out;
    EXPECT_EQ(table.out.find("\x1b["), std::string::npos) << "no colour when not a TTY";
}

}  // namespace
}  // namespace tcptune
