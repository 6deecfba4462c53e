// Views of other network namespaces (issue #13): `top --netns`, the daemon's
// GetNamespaceTop and the per-namespace metrics under namespaces.watch: all, against
// real namespaces (`ip netns add`, unique names, always deleted) that hold their own
// sockets. Each namespace's view must show its own sockets and nobody else's.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
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
#include "support/run_command.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/netns/netns_discovery.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

std::string unique_name(const char* tag) {
    return fmt::format("tcptune-it-{}-{}", ::getpid(), tag);
}

// A factory whose sockets `build` makes inside `ns` (servers on `server`): its holder
// processes are forked in the namespace the calling thread is in at each add_*().
std::unique_ptr<SocketFactory> factory_in(const IpNetns& ns, const std::string& server,
                                          const std::function<bool(SocketFactory&)>& build) {
    InsideNetns inside(ns.path());
    if (!inside.ok()) {
        ADD_FAILURE() << inside.why();
        return nullptr;
    }
    FactoryOptions options;
    options.v4_server_address = server;
    auto factory = std::make_unique<SocketFactory>(options);
    if (!build(*factory)) {
        ADD_FAILURE() << "could not build the sockets in " << ns.name();
        return nullptr;
    }
    return factory;
}

// The peers of the TIME_WAIT breakdown in `top --json` output.
std::set<std::string> time_wait_peers(const nlohmann::json& doc) {
    std::set<std::string> peers;
    for (const auto& b : doc.at("breakdowns")) {
        if (b.at("state") == "time_wait") {
            for (const auto& row : b.at("peers").at("top")) {
                peers.insert(row.at("address").get<std::string>());
            }
        }
    }
    return peers;
}

std::uint64_t breakdown_total(const nlohmann::json& doc, const char* state) {
    for (const auto& b : doc.at("breakdowns")) {
        if (b.at("state") == state) {
            return b.at("total").get<std::uint64_t>();
        }
    }
    return 0;
}

constexpr const char* kProfile = "name: observe\ndescription: Observes only\ninterval: 200ms\n";

// Two namespaces and the test's own, each with a different TIME_WAIT population
// towards a different server address: each view names its own servers only.
class NetnsViews : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::string why = enter_fresh_netns();
        if (!why.empty()) {
            GTEST_SKIP() << why;
        }
        edge_ = std::make_unique<IpNetns>(unique_name("edge"));
        ASSERT_TRUE(edge_->ok()) << edge_->why();
        backend_ = std::make_unique<IpNetns>(unique_name("backend"));
        ASSERT_TRUE(backend_->ok()) << backend_->why();
        edge_sockets_ = factory_in(*edge_, "127.0.0.2", [](SocketFactory& f) {
            return f.add_time_wait(IpFamily::kV4, 6).has_value();
        });
        ASSERT_TRUE(edge_sockets_);
        backend_sockets_ = factory_in(*backend_, "127.0.0.3", [](SocketFactory& f) {
            return f.add_time_wait(IpFamily::kV4, 3).has_value() &&
                   f.add_close_wait(IpFamily::kV4, 2).has_value();
        });
        ASSERT_TRUE(backend_sockets_);
        FactoryOptions own_options;
        own_options.v4_server_address = "127.0.0.4";
        own_sockets_ = std::make_unique<SocketFactory>(own_options);
        ASSERT_TRUE(own_sockets_->add_time_wait(IpFamily::kV4, 4));
    }

    nlohmann::json top_json(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {bin("tcptune"), "top"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.emplace_back("--json");
        const auto out = run_process(argv);
        EXPECT_EQ(out.exit_code, 0) << describe(out);
        return out.exit_code == 0 ? nlohmann::json::parse(out.out) : nlohmann::json();
    }

    // An observing tcptuned (profile "observe": no rules, 200 ms polls) with `config`
    // as its tcptune.yaml; `launch` says which bus and metrics address it serves.
    std::unique_ptr<DaemonProcess> start_observer(const std::string& config, Isolated launch) {
        std::filesystem::create_directories(dir_.path() / "profiles");
        EXPECT_TRUE(write_text(dir_.path() / "profiles" / "observe.yaml", kProfile));
        EXPECT_TRUE(write_text(dir_.path() / "tcptune.yaml", config));
        launch.dir = dir_.path();
        launch.profile = "observe";
        auto daemon = std::make_unique<DaemonProcess>(isolated_launch(launch));
        EXPECT_TRUE(daemon->start());
        return daemon;
    }

    TempDir dir_;
    std::unique_ptr<IpNetns> edge_;
    std::unique_ptr<IpNetns> backend_;
    // Declared after the namespaces: destroyed (holders killed) before they go.
    std::unique_ptr<SocketFactory> edge_sockets_;
    std::unique_ptr<SocketFactory> backend_sockets_;
    std::unique_ptr<SocketFactory> own_sockets_;
};

TEST_F(NetnsViews, TopNetnsShowsThatNamespacesSocketsOnly) {
    const auto edge = top_json({"--netns", edge_->name()});
    ASSERT_FALSE(edge.is_null());
    EXPECT_EQ(edge.at("netns").at("name"), edge_->name());
    EXPECT_EQ(edge.at("netns").at("inode").get<std::uint64_t>(), netns_id_of(edge_->path())->inode);
    EXPECT_EQ(edge.at("states").at("time_wait").get<std::uint64_t>(), 6U);
    EXPECT_EQ(breakdown_total(edge, "time_wait"), 6U);
    EXPECT_EQ(breakdown_total(edge, "close_wait"), 0U);
    EXPECT_EQ(time_wait_peers(edge), std::set<std::string>{"127.0.0.2"});

    // The same namespace by inode and by path; the other one by its name.
    const std::string inode = std::to_string(netns_id_of(backend_->path())->inode);
    const auto backend = top_json({"--netns", inode});
    ASSERT_FALSE(backend.is_null());
    EXPECT_EQ(backend.at("netns").at("name"), backend_->name());
    EXPECT_EQ(breakdown_total(backend, "time_wait"), 3U);
    EXPECT_EQ(breakdown_total(backend, "close_wait"), 2U);
    EXPECT_EQ(time_wait_peers(backend), std::set<std::string>{"127.0.0.3"});
    const auto by_path = top_json({"time_wait", "--netns", backend_->path().string()});
    ASSERT_FALSE(by_path.is_null());
    EXPECT_EQ(breakdown_total(by_path, "time_wait"), 3U);

    // Without --netns: the CLI's own namespace, untouched by the others.
    const auto own = top_json({});
    ASSERT_FALSE(own.is_null());
    EXPECT_FALSE(own.contains("netns"));
    EXPECT_EQ(breakdown_total(own, "time_wait"), 4U);
    EXPECT_EQ(time_wait_peers(own), std::set<std::string>{"127.0.0.4"});
}

TEST_F(NetnsViews, TopNetnsRefusesAllAndUnknownNamespaces) {
    const auto all = run_process({bin("tcptune"), "top", "--netns", "all"});
    EXPECT_EQ(all.exit_code, 2) << describe(all);
    const auto unknown = run_process({bin("tcptune"), "top", "--netns", unique_name("nope")});
    EXPECT_EQ(unknown.exit_code, 1) << describe(unknown);
    EXPECT_NE(unknown.err.find("no network namespace"), std::string::npos) << describe(unknown);
}

// The rows of GetNamespaceTop as busctl prints them: key -> count.
std::map<std::string, std::uint64_t> dbus_rows(const std::string& address,
                                               const std::string& netns) {
    const auto out =
        run_process(as_nobody({"busctl", "--address=" + address, "--json=short", "call",
                               "net.tcptune", "/net/tcptune/Manager1", "net.tcptune.Manager1",
                               "GetNamespaceTop", "sssu", netns, "time_wait", "peer", "10"}));
    EXPECT_EQ(out.exit_code, 0) << describe(out);
    std::map<std::string, std::uint64_t> rows;
    if (out.exit_code == 0) {
        const auto data = nlohmann::json::parse(out.out).at("data");
        EXPECT_TRUE(data.is_array() && data.size() == 1 && data[0].is_array()) << out.out;
        for (const auto& row : data[0]) {
            rows[row[0].get<std::string>()] = row[1].get<std::uint64_t>();
        }
    }
    return rows;
}

std::map<std::string, std::uint64_t> cli_rows(const nlohmann::json& doc) {
    std::map<std::string, std::uint64_t> rows;
    for (const auto& b : doc.at("breakdowns")) {
        if (b.at("state") == "time_wait") {
            for (const auto& row : b.at("peers").at("top")) {
                rows[row.at("address").get<std::string>()] = row.at("count").get<std::uint64_t>();
            }
        }
    }
    return rows;
}

TEST_F(NetnsViews, GetNamespaceTopAnswersAsTopNetnsDoesAndOpenToEveryone) {
    auto bus = start_system_bus(BusPolicy::kProject);
    ASSERT_TRUE(bus) << bus.error().message;
    auto daemon = start_observer("", {.bus = "system"});
    ASSERT_TRUE(daemon->wait_for_log("D-Bus: serving", 20s)) << daemon->log();

    const auto over_dbus = dbus_rows((*bus)->address(), edge_->name());
    const auto from_cli =
        cli_rows(top_json({"time_wait", "--by", "peer", "--netns", edge_->name()}));
    EXPECT_EQ(over_dbus, (std::map<std::string, std::uint64_t>{{"127.0.0.2", 6}}));
    EXPECT_EQ(over_dbus, from_cli);
    // By inode: the other namespace.
    const std::string inode = std::to_string(netns_id_of(backend_->path())->inode);
    EXPECT_EQ(dbus_rows((*bus)->address(), inode),
              (std::map<std::string, std::uint64_t>{{"127.0.0.3", 3}}));
    // "host" is the daemon's own namespace (here the test's).
    EXPECT_EQ(dbus_rows((*bus)->address(), "host"),
              (std::map<std::string, std::uint64_t>{{"127.0.0.4", 4}}));

    // An unknown namespace is a clear D-Bus error, a path is refused.
    auto call = [&](const std::string& netns) {
        return run_process(as_nobody({"dbus-send", "--bus=" + (*bus)->address(), "--print-reply",
                                      "--dest=net.tcptune", "/net/tcptune/Manager1",
                                      "net.tcptune.Manager1.GetNamespaceTop", "string:" + netns,
                                      "string:time_wait", "string:peer", "uint32:10"}));
    };
    const auto unknown = call(unique_name("nope"));
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("net.tcptune.Error.NotFound"), std::string::npos)
        << describe(unknown);
    const auto path = call(edge_->path().string());
    EXPECT_NE(path.err.find("org.freedesktop.DBus.Error.InvalidArgs"), std::string::npos)
        << describe(path);
    EXPECT_TRUE(daemon->running()) << daemon->log();
}

TEST_F(NetnsViews, WatchNetnsShowsTheNamespacesCountsFromTheDaemon) {
    auto bus = start_system_bus(BusPolicy::kProject);
    ASSERT_TRUE(bus) << bus.error().message;
    auto daemon = start_observer("namespaces:\n  watch: all\n", {.bus = "system"});
    const std::string inode = std::to_string(netns_id_of(backend_->path())->inode);
    CommandOutput out;
    const bool shown = eventually(
        [&] {
            out = run_process(
                as_nobody({bin("tcptune"), "watch", "--iterations", "1", "--netns", inode}),
                {"DBUS_SYSTEM_BUS_ADDRESS=" + (*bus)->address()});
            return out.out.find("Network namespace " + backend_->name() + " (inode " + inode +
                                ")") != std::string::npos;
        },
        20s);
    ASSERT_TRUE(shown) << describe(out) << daemon->log();
    EXPECT_NE(out.out.find("close_wait"), std::string::npos);
    // One table: the namespace's, not the daemon's own (4 TIME_WAIT there).
    const auto tw = out.out.find("time_wait");
    ASSERT_NE(tw, std::string::npos);
    const auto line = out.out.substr(tw, out.out.find('\n', tw) - tw);
    EXPECT_NE(line.find(" 3"), std::string::npos) << line;
    const auto unknown =
        run_process({bin("tcptune"), "watch", "--iterations", "1", "--netns", unique_name("nope")},
                    {"DBUS_SYSTEM_BUS_ADDRESS=" + (*bus)->address()});
    EXPECT_EQ(unknown.exit_code, 0) << describe(unknown);
    EXPECT_NE(unknown.out.find("not among the namespaces tcptuned watches"), std::string::npos)
        << describe(unknown);
}

std::string series(const char* family, const std::string& netns, const char* state = nullptr) {
    return state == nullptr ? fmt::format("{}{{netns=\"{}\"}}", family, netns)
                            : fmt::format("{}{{netns=\"{}\",state=\"{}\"}}", family, netns, state);
}

// The netns label values of tcptune_tcp_sockets{state="listen"} (one per namespace).
std::set<std::string> exported_namespaces(const std::string& text) {
    std::set<std::string> names;
    const std::string head = "tcptune_tcp_sockets{netns=\"";
    for (auto at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
        const auto begin = at + head.size();
        const auto end = text.find('"', begin);
        if (text.compare(end, 18, "\",state=\"listen\"} ") == 0) {
            names.insert(text.substr(begin, end - begin));
        }
    }
    return names;
}

class NetnsViewsMetrics : public NetnsViews {
  protected:
    std::unique_ptr<DaemonProcess> start_daemon(const std::string& config) {
        port_ = free_loopback_port();
        return start_observer(config, {.metrics = fmt::format("127.0.0.1:{}", port_)});
    }
    std::uint16_t port_ = 0;
};

TEST_F(NetnsViewsMetrics, EveryNamespaceSeriesCarriesNetnsAndADeletedOneGoesWithinTwoPolls) {
    auto daemon = start_daemon("namespaces:\n  watch: all\n");
    const std::string edge_tw = series("tcptune_tcp_sockets", edge_->name(), "time_wait");
    const std::string backend_tw = series("tcptune_tcp_sockets", backend_->name(), "time_wait");
    std::string text = scrape_until(port_, [&](const std::string& t) {
        return series_value(t, edge_tw) && series_value(t, backend_tw);
    });
    ASSERT_TRUE(series_value(text, edge_tw)) << text << daemon->log();
    EXPECT_EQ(*series_value(text, edge_tw), 6.0);
    EXPECT_EQ(*series_value(text, backend_tw), 3.0);
    EXPECT_EQ(*series_value(text, series("tcptune_tcp_sockets", backend_->name(), "close_wait")),
              2.0);
    EXPECT_EQ(*series_value(text, series("tcptune_tcp_sockets", "host", "time_wait")), 4.0);
    // sockstat's per-namespace lines and the census duration, per namespace.
    EXPECT_EQ(*series_value(text, series("tcptune_sockstat_tcp_tw", edge_->name())), 6.0);
    EXPECT_EQ(*series_value(text, series("tcptune_sockstat_tcp_tw", backend_->name())), 3.0);
    EXPECT_EQ(*series_value(text, series("tcptune_sockstat_tcp_tw", "host")), 4.0);
    // In use: every IPv4 socket the factory made there but TIME_WAIT.
    const StateCounts built = backend_sockets_->expected();
    EXPECT_EQ(*series_value(text, series("tcptune_sockstat_tcp_inuse", backend_->name())),
              static_cast<double>(built.total() - built[TcpState::kTimeWait]));
    EXPECT_TRUE(series_value(text, series("tcptune_sockstat_tcp6_inuse", edge_->name())));
    EXPECT_GT(
        *series_value(text, series("tcptune_namespace_census_duration_seconds", edge_->name())),
        0.0);
    auto checked = promtool_check_metrics(text, dir_.path() / "scrape.txt");
    EXPECT_EQ(checked.exit_code, 0) << checked.out;

    // Deleted: gone by the second poll after the deletion.
    const auto polls_before = series_value(text, "tcptune_poll_duration_seconds_count");
    ASSERT_TRUE(polls_before) << text;
    edge_sockets_.reset();
    edge_->remove();
    text = scrape_until(port_, [&](const std::string& t) { return !series_value(t, edge_tw); });
    ASSERT_FALSE(series_value(text, edge_tw)) << "a deleted namespace's series are still exported";
    EXPECT_EQ(text.find("netns=\"" + edge_->name() + "\""), std::string::npos) << text;
    const auto polls_after = series_value(text, "tcptune_poll_duration_seconds_count");
    ASSERT_TRUE(polls_after);
    EXPECT_LE(*polls_after - *polls_before, 2.0) << "series outlived two polls";
    EXPECT_EQ(*series_value(text, backend_tw), 3.0);
    EXPECT_TRUE(daemon->running()) << daemon->log();
}

TEST_F(NetnsViewsMetrics, ATopKSmallerThanTheNamespacesSumsTheRestIntoOther) {
    auto daemon = start_daemon("namespaces:\n  watch: all\n  metrics_top_k: 1\n");
    // The machine has namespaces besides ours (its real host's at least): with top_k 1
    // one of them is named, every other one is summed into _other.
    std::string text = scrape_until(port_, [&](const std::string& t) {
        return series_value(t, series("tcptune_tcp_sockets", "_other", "listen")).has_value();
    });
    const std::set<std::string> names = exported_namespaces(text);
    ASSERT_TRUE(names.contains("_other")) << text << daemon->log();
    ASSERT_TRUE(names.contains("host"));
    EXPECT_EQ(names.size(), 3U) << "host, one by name, _other";
    // Ours are named with their own counts, or counted in _other.
    double in_other_tw = 0;
    double in_other_cw = 0;
    if (!names.contains(edge_->name())) {
        in_other_tw += 6;
    }
    if (!names.contains(backend_->name())) {
        in_other_tw += 3;
        in_other_cw += 2;
    }
    EXPECT_GE(*series_value(text, series("tcptune_tcp_sockets", "_other", "time_wait")),
              in_other_tw);
    EXPECT_GE(*series_value(text, series("tcptune_tcp_sockets", "_other", "close_wait")),
              in_other_cw);
    EXPECT_GE(*series_value(text, series("tcptune_sockstat_tcp_tw", "_other")), in_other_tw);
    EXPECT_TRUE(series_value(text, series("tcptune_namespace_census_duration_seconds", "_other")));
    auto checked = promtool_check_metrics(text, dir_.path() / "scrape.txt");
    EXPECT_EQ(checked.exit_code, 0) << checked.out;
}

}  // namespace
}  // namespace tcptune::test
