// namespaces.watch: all in the real daemon: every per-namespace series carries a netns
// label (this namespace is "host"), other namespaces' socket counts are exported by
// name, and a namespace deleted mid-run loses its series while the daemon stays
// healthy. promtool checks the exposition.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dbus_fixture.hpp"
#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/files.hpp"
#include "support/netns.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/netns/netns_discovery.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProfile = "name: observe\ndescription: Observes only\ninterval: 200ms\n";

std::string sockets_series(const std::string& netns, const char* state) {
    return fmt::format("tcptune_tcp_sockets{{netns=\"{}\",state=\"{}\"}}", netns, state);
}

TEST(NetnsMetricsIntegration, WatchAllLabelsEverySeriesAndDropsVanishedNamespaces) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    IpNetns edge(fmt::format("tcptune-it-{}-metrics", ::getpid()));
    ASSERT_TRUE(edge.ok()) << edge.why();
    auto factory = sockets_in(edge.path(), [](SocketFactory& f) -> Result<void> {
        TRY(f.add_listeners(IpFamily::kV4, 3));
        return f.add_established(IpFamily::kV4, 4);
    });
    ASSERT_TRUE(factory) << factory.error().message;

    TempDir dir;
    std::filesystem::create_directories(dir.path() / "profiles");
    ASSERT_TRUE(write_text(dir.path() / "profiles" / "observe.yaml", kProfile));
    ASSERT_TRUE(write_text(dir.path() / "tcptune.yaml", "namespaces:\n  watch: all\n"));
    const std::uint16_t port = free_loopback_port();
    DaemonProcess daemon(isolated_launch(
        {.dir = dir.path(), .profile = "observe", .metrics = fmt::format("127.0.0.1:{}", port)}));
    ASSERT_TRUE(daemon.start());

    const std::string listen = sockets_series(edge.name(), "listen");
    std::string text = scrape_until(port, [&](const std::string& t) {
        return series_value(t, listen) && series_value(t, sockets_series("host", "listen"));
    });
    ASSERT_TRUE(series_value(text, listen)) << text << daemon.log();
    EXPECT_EQ(*series_value(text, listen),
              static_cast<double>((*factory)->expected()[TcpState::kListen]));
    EXPECT_EQ(*series_value(text, sockets_series(edge.name(), "established")), 8.0);
    // The daemon's own namespace: its metrics listener.
    EXPECT_GE(*series_value(text, sockets_series("host", "listen")), 1.0);
    // Per-namespace counters carry the label too; process-wide series do not.
    EXPECT_TRUE(series_value(text, "tcptune_tcp_listen_overflows_total{netns=\"host\"}")) << text;
    EXPECT_TRUE(series_value(text, "tcptune_poll_errors_total")) << text;
    EXPECT_EQ(text.find("tcptune_tcp_sockets{state="), std::string::npos)
        << "unlabelled series left";
    auto checked = promtool_check_metrics(text, dir.path() / "scrape.txt");
    EXPECT_EQ(checked.exit_code, 0) << checked.out;

    // Deleted mid-run: its series go, the daemon keeps serving.
    factory->reset();
    edge.remove();
    text = scrape_until(port,
                        [&](const std::string& t) { return !series_value(t, listen).has_value(); });
    EXPECT_FALSE(series_value(text, listen)) << "series of a deleted namespace are still exported";
    EXPECT_TRUE(series_value(text, sockets_series("host", "listen")));
    EXPECT_TRUE(daemon.running()) << daemon.log();
}

TEST(NetnsMetricsIntegration, WatchHostKeepsTheSeriesUnlabelled) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "profiles");
    ASSERT_TRUE(write_text(dir.path() / "profiles" / "observe.yaml", kProfile));
    const std::uint16_t port = free_loopback_port();
    DaemonProcess daemon(isolated_launch(
        {.dir = dir.path(), .profile = "observe", .metrics = fmt::format("127.0.0.1:{}", port)}));
    ASSERT_TRUE(daemon.start());
    const std::string text = scrape_until(port, [](const std::string& t) {
        return series_value(t, "tcptune_tcp_sockets{state=\"listen\"}").has_value();
    });
    EXPECT_TRUE(series_value(text, "tcptune_tcp_sockets{state=\"listen\"}")) << text;
    EXPECT_EQ(text.find("netns="), std::string::npos);
}

TEST(NetnsMetricsIntegration, ListNamespacesOverDbusAndTheCli) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    IpNetns edge(fmt::format("tcptune-it-{}-dbus", ::getpid()));
    ASSERT_TRUE(edge.ok()) << edge.why();
    auto factory =
        sockets_in(edge.path(), [](SocketFactory& f) { return f.add_time_wait(IpFamily::kV4, 5); });
    ASSERT_TRUE(factory) << factory.error().message;
    auto bus = start_system_bus(BusPolicy::kProject);
    ASSERT_TRUE(bus) << bus.error().message;
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "profiles");
    ASSERT_TRUE(write_text(dir.path() / "profiles" / "observe.yaml", kProfile));
    ASSERT_TRUE(write_text(dir.path() / "tcptune.yaml", "namespaces:\n  watch: all\n"));
    DaemonProcess daemon(
        isolated_launch({.dir = dir.path(), .profile = "observe", .bus = "system"}));
    ASSERT_TRUE(daemon.start());

    // As nobody: ListNamespaces is a read method, open to everyone.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    nlohmann::json doc;
    const nlohmann::json* edge_row = nullptr;
    while (std::chrono::steady_clock::now() < deadline && edge_row == nullptr) {
        auto out = run_process(as_nobody({bin("tcptune"), "namespaces", "--json"}),
                               {"DBUS_SYSTEM_BUS_ADDRESS=" + (*bus)->address()});
        if (out.exit_code == 0) {
            doc = nlohmann::json::parse(out.out);
            for (const auto& row : doc.at("namespaces")) {
                if (row.at("name") == edge.name()) {
                    edge_row = &row;
                }
            }
        }
        if (edge_row == nullptr) {
            std::this_thread::sleep_for(100ms);
        }
    }
    ASSERT_NE(edge_row, nullptr) << doc.dump() << daemon.log();
    EXPECT_EQ(doc.at("namespaces")[0].at("name"), "host");
    EXPECT_TRUE(doc.at("namespaces")[0].at("own").get<bool>());
    EXPECT_EQ(doc.at("namespaces")[0].at("profile"), "observe");
    EXPECT_EQ(edge_row->at("inode").get<std::uint64_t>(), netns_id_of(edge.path())->inode);
    EXPECT_EQ(edge_row->at("profile"), "none");
    EXPECT_EQ(edge_row->at("states").at("time_wait").get<std::uint64_t>(), 5U);
    EXPECT_NE(edge_row->at("health").get<std::string>().find("5 time_wait"), std::string::npos);
}

}  // namespace
}  // namespace tcptune::test
