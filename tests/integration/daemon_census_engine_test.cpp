// tcptuned's census engine choice end to end (root): the real daemon in a private
// namespace picks the bpf engine, says so in its log and metrics and counts a
// real population with it; a real load failure (the verifier rejecting the
// program, capabilities dropped) makes `auto` fall back to netlink with one log
// line saying why, and `bpf` refuse to start. A machine without BPF keeps
// working as before: the netlink engine counts the same population.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/census/bpf/bpf_census_engine.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHost = "127.0.0.1";

class DaemonCensusEngineTest : public ::testing::Test {
  protected:
    // Starts tcptuned (advice mode, no bus) serving metrics on a free port.
    // `wrapper` runs it under another program (setpriv), `env` adds variables.
    void launch(std::vector<std::string> extra, std::vector<std::string> env = {},
                std::vector<std::string> wrapper = {}) {
        port_ = free_loopback_port();
        ASSERT_NE(port_, 0);
        extra.insert(extra.begin(), {"--advise", "--interval", "0.2"});
        daemon_ = std::make_unique<DaemonProcess>(
            isolated_launch({.dir = dir_.path(),
                             .profile_dir = std::filesystem::path(TCPTUNE_SOURCE_DIR) / "profiles",
                             .metrics = std::string(kHost) + ":" + std::to_string(port_),
                             .extra = std::move(extra),
                             .env = std::move(env),
                             .wrapper = std::move(wrapper)}));
        auto started = daemon_->start();
        ASSERT_TRUE(started.has_value()) << started.error().message;
    }

    void TearDown() override { stop_daemon(daemon_, HasFailure()); }

    std::optional<std::string> scrape() const { return scrape_metrics(kHost, port_); }

    // Long enough for the bpf source to repair a state change the kernel did not
    // deliver (sockstat check, at most one reconciliation per 30 s; see
    // census_bpf_test.cpp's agree_within); quick when the value is there.
    std::optional<double> wait_for_series(const std::string& series, double value) const {
        return test::wait_for_series(kHost, port_, series, value, 45s);
    }

    // The daemon counts exactly what was built (plus its own metrics listener).
    void expect_counts(const SocketFactory& factory) const {
        StateCounts expected = factory.expected();
        expected[TcpState::kListen] += 1;
        for (TcpState s : kAllTcpStates) {
            const std::string series =
                "tcptune_tcp_sockets{state=\"" + std::string(state_name(s)) + "\"}";
            EXPECT_EQ(wait_for_series(series, static_cast<double>(expected[s])),
                      static_cast<double>(expected[s]))
                << series;
        }
    }

    static void build(SocketFactory& factory) {
        ASSERT_TRUE(factory.add_established(IpFamily::kV4, 30));
        ASSERT_TRUE(factory.add_close_wait(IpFamily::kV6, 12));
        ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 20));
        wait_for_population(factory);  // plus the daemon's metrics listener
    }

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<DaemonProcess> daemon_;
};

constexpr const char* kEngineBpf = R"(tcptune_census_engine{engine="bpf"})";
constexpr const char* kEngineNetlink = R"(tcptune_census_engine{engine="netlink"})";
constexpr const char* kFallback = "census engine: netlink, because bpf is not available: ";

TEST_F(DaemonCensusEngineTest, AutoUsesBpfSaysSoAndCountsARealPopulation) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!bpf_census_engine_built_in()) {
        GTEST_SKIP() << "this build has no bpf census engine";
    }
    launch({"--census-engine", "auto"});
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(daemon_->wait_for_log("census engine: bpf", 10s)) << daemon_->log();
    EXPECT_EQ(wait_for_series(kEngineBpf, 1), 1);
    EXPECT_EQ(wait_for_series(kEngineNetlink, 0), 0);
    EXPECT_EQ(wait_for_series("tcptune_census_reconciliations_total", 1), 1) << "the seeding";

    SocketFactory factory;  // built after the engine attached
    build(factory);
    if (HasFatalFailure()) {
        return;
    }
    expect_counts(factory);
    auto text = scrape();
    ASSERT_TRUE(text);
    auto checked = promtool_check_metrics(*text, dir_.path() / "scrape.txt");
    EXPECT_EQ(checked.exit_code, 0) << checked.out;

    // SIGHUP (tcptune reload) reconciles on demand and reports the drift it
    // corrected: 0 unless the kernel skipped a change (then the sockstat check
    // may already have reconciled once more).
    const auto before = test::series_value(*text, "tcptune_census_reconciliations_total");
    ASSERT_TRUE(before.has_value());
    daemon_->signal(SIGHUP);
    EXPECT_EQ(wait_for_series("tcptune_census_reconciliations_total", *before + 1), *before + 1);
    for (const char* state : {"established", "close_wait"}) {
        const std::string series =
            std::string(R"(tcptune_census_drift_sockets{state=")") + state + "\"}";
        const auto drift = wait_for_series(series, 0);
        ASSERT_TRUE(drift.has_value()) << series;
        EXPECT_LE(std::abs(*drift), 2.0) << series;
    }
}

TEST_F(DaemonCensusEngineTest, AVerifierRejectionFallsBackToNetlinkWithOneLogLine) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!bpf_census_engine_built_in()) {
        GTEST_SKIP() << "this build has no bpf census engine to reject";
    }
    launch({"--census-engine", "auto"}, {"TCPTUNE_TEST_BPF_REJECT=1"});
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log(kFallback), 1U) << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log("the kernel's verifier rejected the bpf program"), 1U);
    EXPECT_EQ(wait_for_series(kEngineNetlink, 1), 1);
    EXPECT_EQ(wait_for_series(kEngineBpf, 0), 0);

    SocketFactory factory;  // and the census works exactly as before
    build(factory);
    if (HasFatalFailure()) {
        return;
    }
    expect_counts(factory);
}

TEST_F(DaemonCensusEngineTest, MissingCapabilitiesFallBackToNetlinkAndSayWhich) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!bpf_census_engine_built_in()) {
        GTEST_SKIP() << "this build has no bpf census engine";
    }
    launch({"--census-engine", "auto"}, {},
           {"/usr/bin/setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--"});
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log(std::string(kFallback) +
                                    "permission denied: the bpf census engine needs CAP_BPF "
                                    "and CAP_PERFMON"),
              1U)
        << daemon_->log();
    EXPECT_EQ(wait_for_series(kEngineNetlink, 1), 1);
}

TEST_F(DaemonCensusEngineTest, BpfRequiredButRejectedRefusesToStart) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch({"--census-engine", "bpf"}, {"TCPTUNE_TEST_BPF_REJECT=1"});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(daemon_->wait_exit(10s), 1);
    const std::string why = bpf_census_engine_built_in()
                                ? "the kernel's verifier rejected the bpf program"
                                : "built without the bpf census engine";
    EXPECT_EQ(daemon_->count_in_log("cannot open the socket census (bpf engine): "), 1U)
        << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log(why), 1U) << daemon_->log();
}

TEST_F(DaemonCensusEngineTest, NetlinkChosenExplicitlyCountsAsBefore) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    launch({"--census-engine", "netlink"});
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(daemon_->wait_for_log("census engine: netlink (a sock_diag dump per poll)", 10s))
        << daemon_->log();
    EXPECT_EQ(daemon_->count_in_log(kFallback), 0U);
    EXPECT_EQ(wait_for_series(kEngineNetlink, 1), 1);
    SocketFactory factory;
    build(factory);
    if (HasFatalFailure()) {
        return;
    }
    expect_counts(factory);
}

}  // namespace
}  // namespace tcptune::test
