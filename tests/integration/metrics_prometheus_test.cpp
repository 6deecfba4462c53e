// The way users consume the exporter: a real Prometheus server (Debian's
// /usr/bin/prometheus), on loopback only with a temporary storage dir, scrapes
// the real tcptuned every second with the shipped recording and alerting rules
// loaded, and its HTTP query API returns the series with the expected values.

#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/socket_factory.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHost = "127.0.0.1";
const std::filesystem::path kPrometheus = "/usr/bin/prometheus";

constexpr const char* kProfile = R"(name: metrics-observe
description: Observes only (no rules)
interval: 200ms
)";

// Percent-encodes a PromQL expression for a query string.
std::string url_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || ch == '_' || ch == '.' || ch == '-' || ch == '~') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

class PrometheusScrapeTest : public ::testing::Test {
  protected:
    void TearDown() override {
        for (auto* process : {prometheus_.get(), daemon_.get()}) {
            if (process != nullptr && HasFailure()) {
                std::cerr << "---- log ----\n" << process->log() << "----\n";
            }
        }
        if (prometheus_) {
            prometheus_->stop();
        }
        if (daemon_) {
            daemon_->stop();
        }
    }

    void start_daemon() {
        std::filesystem::create_directories(dir_.path() / "profiles");
        std::ofstream(dir_.path() / "profiles" / "metrics-observe.yaml") << kProfile;
        daemon_port_ = free_loopback_port();
        ASSERT_NE(daemon_port_, 0);
        daemon_ = std::make_unique<DaemonProcess>(
            isolated_launch({.dir = dir_.path(),
                             .profile = "metrics-observe",
                             .metrics = std::string(kHost) + ":" + std::to_string(daemon_port_)}));
        ASSERT_TRUE(daemon_->start().has_value());
        ASSERT_TRUE(eventually(
            [&] { return http_get(kHost, daemon_port_, "/metrics", 2s).has_value(); }, 10s));
    }

    void start_prometheus() {
        const auto config = dir_.path() / "prometheus.yml";
        const auto rules =
            std::filesystem::path(TCPTUNE_SOURCE_DIR) / "docs" / "prometheus" / "tcptune-rules.yml";
        std::ofstream(config) << "global:\n"
                                 "  scrape_interval: 1s\n"
                                 "  scrape_timeout: 800ms\n"
                                 "  evaluation_interval: 1s\n"
                                 "rule_files:\n"
                                 "  - '"
                              << rules.string()
                              << "'\n"
                                 "scrape_configs:\n"
                                 "  - job_name: tcptune\n"
                                 "    static_configs:\n"
                                 "      - targets: ['"
                              << kHost << ":" << daemon_port_ << "']\n";
        prometheus_port_ = free_loopback_port();
        ASSERT_NE(prometheus_port_, 0);
        DaemonLaunch launch;
        launch.binary = kPrometheus;
        launch.args = {
            "--config.file=" + config.string(),
            "--web.listen-address=" + std::string(kHost) + ":" + std::to_string(prometheus_port_),
            "--storage.tsdb.path=" + (dir_.path() / "tsdb").string()};
        launch.log_file = dir_.path() / "prometheus.log";
        prometheus_ = std::make_unique<DaemonProcess>(launch);
        ASSERT_TRUE(prometheus_->start().has_value());
    }

    // The single sample of an instant query, or nullopt (no answer, no result).
    std::optional<double> query(const std::string& promql) const {
        auto response =
            http_get(kHost, prometheus_port_, "/api/v1/query?query=" + url_encode(promql), 3s);
        if (!response || response->status != 200) {
            return std::nullopt;
        }
        const auto json = nlohmann::json::parse(response->body, nullptr, false);
        if (json.is_discarded() || json.value("status", "") != "success") {
            return std::nullopt;
        }
        const auto& result = json["data"]["result"];
        if (!result.is_array() || result.size() != 1) {
            return std::nullopt;
        }
        const auto& labels = result[0]["metric"];
        // The series came from our scrape job and target.
        if (labels.value("job", "") != "tcptune" ||
            labels.value("instance", "") !=
                std::string(kHost) + ":" + std::to_string(daemon_port_)) {
            return std::nullopt;
        }
        return std::stod(result[0]["value"][1].get<std::string>());
    }

    std::optional<double> wait_for_query(const std::string& promql,
                                         const std::function<bool(double)>& good,
                                         std::chrono::milliseconds timeout = 30s) const {
        std::optional<double> last;
        eventually(
            [&] {
                last = query(promql);
                return last && good(*last);
            },
            timeout);
        return last;
    }

    TempDir dir_;
    std::uint16_t daemon_port_ = 0;
    std::uint16_t prometheus_port_ = 0;
    std::unique_ptr<DaemonProcess> daemon_;
    std::unique_ptr<DaemonProcess> prometheus_;
};

TEST_F(PrometheusScrapeTest, PrometheusScrapesTheDaemonAndAnswersQueries) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!std::filesystem::exists(kPrometheus)) {
        GTEST_SKIP() << kPrometheus << " not installed (Debian package prometheus)";
    }
    start_daemon();
    constexpr std::size_t kTimeWait = 240;
    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, kTimeWait).has_value());
    wait_for_population(factory);
    start_prometheus();

    const double n = static_cast<double>(kTimeWait);
    EXPECT_EQ(wait_for_query(R"(up{job="tcptune"})", [](double v) { return v == 1; }), 1.0);
    EXPECT_EQ(wait_for_query(R"(tcptune_tcp_sockets{state="time_wait"})",
                             [&](double v) { return v == n; }),
              n);
    EXPECT_EQ(wait_for_query(R"(tcptune_tcp_sockets{state="close_wait"})",
                             [](double v) { return v == 0; }),
              0.0);

    // The shipped recording rule joins the count with the exported bucket limit.
    auto buckets = read_sysctl("net.ipv4.tcp_max_tw_buckets");
    ASSERT_TRUE(buckets.has_value());
    const double ratio = n / std::stod(*buckets);
    const auto recorded = wait_for_query("instance:tcptune_time_wait_bucket_usage:ratio",
                                         [&](double v) { return std::fabs(v - ratio) < 1e-9; });
    ASSERT_TRUE(recorded.has_value()) << "recording rule produced nothing";
    EXPECT_NEAR(*recorded, ratio, 1e-9);

    // Counters arrive as counters: rate() over them works.
    EXPECT_TRUE(wait_for_query("rate(tcptune_poll_duration_seconds_count[5s])", [](double v) {
                    return v > 0;
                }).has_value());
    EXPECT_TRUE(wait_for_query("tcptune_tcp_listen_overflows_total", [](double v) {
                    return v >= 0;
                }).has_value());
}

}  // namespace
}  // namespace tcptune::test
