// tcptuned's census engine choice end to end (root): the real daemon in a private
// namespace picks the bpf engine, says so in its log and metrics and counts a
// real population with it; a real load failure (the verifier rejecting the
// program, capabilities dropped) makes `auto` fall back to netlink with one log
// line saying why, and `bpf` refuse to start. A machine without BPF keeps
// working as before: the netlink engine counts the same population.
#include <chrono>
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
        std::ofstream(dir_.path() / "tcptune.yaml") << "# empty: defaults and flags only\n";
        port_ = free_loopback_port();
        ASSERT_NE(port_, 0);
        DaemonLaunch launch;
        std::vector<std::string> args = {"--config",
                                         (dir_.path() / "tcptune.yaml").string(),
                                         "--state-dir",
                                         (dir_.path() / "state").string(),
                                         "--profile-dir",
                                         std::string(TCPTUNE_SOURCE_DIR) + "/profiles",
                                         "--advise",
                                         "--interval",
                                         "0.2",
                                         "--bus",
                                         "none",
                                         "--metrics-address",
                                         std::string(kHost) + ":" + std::to_string(port_)};
        args.insert(args.end(), extra.begin(), extra.end());
        if (!wrapper.empty()) {
            launch.binary = wrapper.front();
            launch.args.assign(wrapper.begin() + 1, wrapper.end());
            launch.args.push_back(std::string(TCPTUNE_BIN_DIR) + "/tcptuned");
        }
        launch.args.insert(launch.args.end(), args.begin(), args.end());
        launch.env = std::move(env);
        launch.log_file = dir_.path() / "tcptuned.log";
        daemon_ = std::make_unique<DaemonProcess>(launch);
        auto started = daemon_->start();
        ASSERT_TRUE(started.has_value()) << started.error().message;
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
        auto response = http_get(kHost, port_, "/metrics", 5s);
        if (!response || response->status != 200) {
            return std::nullopt;
        }
        return response->body;
    }

    std::optional<double> wait_for_series(const std::string& series, double value) const {
        std::optional<double> last;
        eventually(
            [&] {
                auto text = scrape();
                last = text ? series_value(*text, series) : std::nullopt;
                return last == value;
            },
            10s);
        return last;
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

    // SIGHUP (tcptune reload) reconciles on demand: drift 0 for every counted state.
    daemon_->signal(SIGHUP);
    EXPECT_EQ(wait_for_series("tcptune_census_reconciliations_total", 2), 2);
    EXPECT_EQ(wait_for_series(R"(tcptune_census_drift_sockets{state="established"})", 0), 0);
    EXPECT_EQ(wait_for_series(R"(tcptune_census_drift_sockets{state="close_wait"})", 0), 0);
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
