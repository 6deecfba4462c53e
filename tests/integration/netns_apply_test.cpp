// namespaces.watch: all with per-namespace profiles, end to end with the real daemon:
// several `ip netns` namespaces and an unshared process, each with its own sockets.
// A selected profile changes that namespace's sysctl only (read back inside each; the
// daemon's own namespace and an unselected one untouched), an override inside a
// namespace is detected and respected, a host-wide key is refused, a namespace
// deleted mid-run has its controller dropped and its journal closed while the daemon
// stays healthy, and rollback restores one namespace's original.
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
#include "tcptune/apply/journal.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/netns/netns_journal.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kWait = 20s;
constexpr const char* kFinTimeout = "net.ipv4.tcp_fin_timeout";
constexpr const char* kKeepalive = "net.ipv4.tcp_keepalive_time";

fs::path proc_sys(const std::string& key) {
    std::string path = key;
    std::replace(path.begin(), path.end(), '.', '/');
    return fs::path("/proc/sys") / path;
}

// The value of `key` as seen from inside the namespace at `ns_path`.
std::string read_inside(const fs::path& ns_path, const std::string& key) {
    InsideNetns inside(ns_path);
    EXPECT_TRUE(inside.ok()) << inside.why();
    std::string value = read_text(proc_sys(key));
    while (!value.empty() && value.back() == '\n') {
        value.pop_back();
    }
    return value;
}

void write_inside(const fs::path& ns_path, const std::string& key, const std::string& value) {
    InsideNetns inside(ns_path);
    ASSERT_TRUE(inside.ok()) << inside.why();
    std::ofstream out(proc_sys(key));
    out << value << "\n";
    out.close();
    ASSERT_TRUE(out.good()) << "cannot write " << key;
}

// The name discovery gives the namespace at `path` (e.g. "pid:<N>").
std::string discovered_name(const fs::path& path) {
    auto id = netns_id_of(path);
    auto all = discover_namespaces();
    if (id && all) {
        for (const auto& ns : *all) {
            if (ns.id == *id) {
                return ns.name;
            }
        }
    }
    return "";
}

std::unique_ptr<SocketFactory> sockets_in(const fs::path& ns_path, std::size_t time_wait) {
    InsideNetns inside(ns_path);
    EXPECT_TRUE(inside.ok()) << inside.why();
    auto factory = std::make_unique<SocketFactory>();
    EXPECT_TRUE(factory->add_listeners(IpFamily::kV4, 2));
    EXPECT_TRUE(factory->add_time_wait(IpFamily::kV4, time_wait));
    return factory;
}

struct Fixture {
    TempDir dir;
    fs::path state() const { return dir.path() / "state"; }
    void profile(const std::string& name, const std::string& body) {
        fs::create_directories(dir.path() / "profiles");
        ASSERT_TRUE(write_text(dir.path() / "profiles" / (name + ".yaml"),
                               "name: " + name + "\ndescription: test profile " + name +
                                   "\ninterval: 200ms\n" + body));
    }
};

TEST(NetnsApplyIntegration, EachNamespaceGetsItsOwnProfileAndIsNeverFought) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    const std::string prefix = fmt::format("tcptune-it-{}-apply", ::getpid());
    IpNetns edge(prefix + "-edge");
    IpNetns plain(prefix + "-plain");
    IpNetns global(prefix + "-global");
    UnsharedProcess worker;
    ASSERT_TRUE(edge.ok()) << edge.why();
    ASSERT_TRUE(plain.ok()) << plain.why();
    ASSERT_TRUE(global.ok()) << global.why();
    ASSERT_TRUE(worker.ok()) << worker.why();
    auto edge_sockets = sockets_in(edge.path(), 6);
    auto plain_sockets = sockets_in(plain.path(), 2);
    auto worker_sockets = sockets_in(worker.path(), 1);
    const std::string worker_name = discovered_name(worker.path());
    ASSERT_FALSE(worker_name.empty());

    Fixture f;
    f.profile("observe", "");
    // edge: a baseline and a rule driven by edge's own TIME_WAIT count (6 > 4).
    f.profile("edge-tune",
              fmt::format("sysctls:\n  {}: 33\nrules:\n  - name: tw\n"
                          "    when: {{ state: time_wait, above: 4 }}\n"
                          "    apply:\n      {}: 900\n    why: probe dead peers sooner\n",
                          kFinTimeout, kKeepalive));
    f.profile("worker-tune", fmt::format("sysctls:\n  {}: 41\n", kFinTimeout));
    f.profile("orphans", "sysctls:\n  net.ipv4.tcp_max_orphans: 8192\n");
    ASSERT_TRUE(write_text(f.dir.path() / "tcptune.yaml",
                           fmt::format("namespaces:\n  watch: all\n  default_profile: none\n"
                                       "  select:\n"
                                       "    - name: \"{}\"\n      profile: edge-tune\n"
                                       "    - name: \"{}\"\n      profile: worker-tune\n"
                                       "    - name: \"{}\"\n      profile: orphans\n",
                                       edge.name(), worker_name, global.name())));
    const std::string host_fin = read_text(proc_sys(kFinTimeout));
    const std::string host_keepalive = read_text(proc_sys(kKeepalive));
    const std::string plain_fin = read_inside(plain.path(), kFinTimeout);
    const std::string edge_fin = read_inside(edge.path(), kFinTimeout);

    const std::uint16_t port = free_loopback_port();
    DaemonProcess daemon(isolated_launch(
        {.dir = f.dir.path(), .profile = "observe", .metrics = fmt::format("127.0.0.1:{}", port)}));
    ASSERT_TRUE(daemon.start());

    // Each selected namespace gets its own values, read back inside it.
    ASSERT_TRUE(eventually([&] { return read_inside(edge.path(), kFinTimeout) == "33"; }, kWait))
        << daemon.log();
    ASSERT_TRUE(eventually([&] { return read_inside(edge.path(), kKeepalive) == "900"; }, kWait))
        << daemon.log();
    ASSERT_TRUE(eventually([&] { return read_inside(worker.path(), kFinTimeout) == "41"; }, kWait))
        << daemon.log();
    EXPECT_EQ(read_inside(worker.path(), kKeepalive), "7200") << "the rule is edge's only";
    EXPECT_EQ(read_inside(plain.path(), kFinTimeout), plain_fin);
    EXPECT_EQ(read_text(proc_sys(kFinTimeout)), host_fin) << "the daemon's namespace changed";
    EXPECT_EQ(read_text(proc_sys(kKeepalive)), host_keepalive);

    // Its rule and changes are series labelled with its name; promtool accepts them.
    const std::string edge_rule =
        fmt::format("tcptune_rule_active{{netns=\"{}\",rule=\"tw\"}}", edge.name());
    EXPECT_EQ(wait_for_series("127.0.0.1", port, edge_rule, 1.0, kWait), 1.0);
    const std::string worker_applied =
        fmt::format("tcptune_sysctl_changes_total{{netns=\"{}\",key=\"{}\",result=\"applied\"}}",
                    worker_name, kFinTimeout);
    EXPECT_EQ(wait_for_series("127.0.0.1", port, worker_applied, 1.0, kWait), 1.0);
    auto text = scrape_metrics("127.0.0.1", port);
    ASSERT_TRUE(text);
    auto checked = promtool_check_metrics(*text, f.dir.path() / "scrape.txt");
    EXPECT_EQ(checked.exit_code, 0) << checked.out;

    // The host-wide key is refused for its namespace, with the reason.
    EXPECT_TRUE(daemon.wait_for_log("net.ipv4.tcp_max_orphans is host-wide", 10s)) << daemon.log();
    EXPECT_NE(daemon.log().find(fmt::format("namespace {}", global.name())), std::string::npos);

    // edge's journal: its identity and the original, written before the change.
    const auto edge_id = netns_id_of(edge.path());
    ASSERT_TRUE(edge_id);
    const fs::path edge_dir = netns_journal_dir(f.state(), edge_id->inode);
    auto identity = read_netns_identity(edge_dir);
    ASSERT_TRUE(identity) << identity.error().message;
    EXPECT_EQ(identity->inode, edge_id->inode);
    EXPECT_EQ(identity->name, edge.name());
    EXPECT_NE(identity->cookie, 0U);
    const auto journal = nlohmann::json::parse(read_text(edge_dir / "journal.json"));
    EXPECT_EQ(journal.at("entries").at(kFinTimeout).at("original"), edge_fin) << journal.dump();
    EXPECT_EQ(journal.at("entries").at(kFinTimeout).at("last_written"), "33");
    EXPECT_FALSE(fs::exists(netns_journal_dir(f.state(), netns_id_of(plain.path())->inode)));
    EXPECT_FALSE(fs::exists(f.state() / "journal.json")) << "the host's journal was written";

    // Someone else writes edge's sysctl: it is theirs from then on.
    write_inside(edge.path(), kFinTimeout, "44");
    ASSERT_TRUE(eventually(
        [&] {
            const auto j = nlohmann::json::parse(read_text(edge_dir / "journal.json"));
            return j.at("entries").at(kFinTimeout).at("overridden").get<bool>();
        },
        kWait))
        << daemon.log();
    // Logged with the namespace's name, once.
    ASSERT_TRUE(daemon.wait_for_log(fmt::format("netns {}: overridden", edge.name()), 10s))
        << daemon.log();
    const std::uint64_t rounds_before = daemon.count_in_log("overridden");
    std::this_thread::sleep_for(1s);  // five more rounds: none may write it back
    EXPECT_EQ(read_inside(edge.path(), kFinTimeout), "44");
    EXPECT_EQ(daemon.count_in_log("overridden"), rounds_before) << "reported more than once";

    // Deleted mid-run: the controller goes, the journal is closed, the daemon stays.
    worker_sockets.reset();
    const auto worker_id = netns_id_of(worker.path());
    ASSERT_TRUE(worker_id);
    const fs::path worker_dir = netns_journal_dir(f.state(), worker_id->inode);
    ASSERT_TRUE(fs::exists(worker_dir / "journal.json"));
    worker.stop();
    ASSERT_TRUE(eventually([&] { return !fs::exists(worker_dir); }, kWait)) << daemon.log();
    EXPECT_TRUE(daemon.wait_for_log(
        fmt::format("namespace {} (inode {}) vanished", worker_name, worker_id->inode), 5s))
        << daemon.log();
    bool closed = false;
    for (const auto& entry : fs::directory_iterator(closed_netns_journals_dir(f.state()))) {
        closed = closed || (entry.path().filename().string().rfind(
                                std::to_string(worker_id->inode) + "-", 0) == 0 &&
                            fs::exists(entry.path() / "journal.json"));
    }
    EXPECT_TRUE(closed) << "no closed journal of the vanished namespace";
    EXPECT_TRUE(eventually(
        [&] {
            auto now = scrape_metrics("127.0.0.1", port);
            return now && now->find(fmt::format("netns=\"{}\"", worker_name)) == std::string::npos;
        },
        kWait))
        << "series of the vanished namespace are still exported";
    EXPECT_TRUE(daemon.running()) << daemon.log();
    EXPECT_EQ(read_inside(edge.path(), kKeepalive), "900");
    EXPECT_EQ(read_text(proc_sys(kFinTimeout)), host_fin);
}

// Two `ip netns` namespaces named after the test, and a private system bus with
// the project's policy with the environment that points the CLI at it.
struct TwoNamespacesOnABus {
    TwoNamespacesOnABus(const std::string& test, const std::string& a, const std::string& b)
        : first(fmt::format("tcptune-it-{}-{}-{}", ::getpid(), test, a)),
          second(fmt::format("tcptune-it-{}-{}-{}", ::getpid(), test, b)),
          bus(start_system_bus(BusPolicy::kProject)) {
        if (bus) {
            env = {"DBUS_SYSTEM_BUS_ADDRESS=" + (*bus)->address()};
        }
    }
    std::string why() const {
        return !first.ok() ? first.why() : !second.ok() ? second.why() : bus.error().message;
    }
    bool ok() const { return first.ok() && second.ok() && bus.has_value(); }

    IpNetns first;
    IpNetns second;
    Result<std::unique_ptr<PrivateBus>> bus;
    std::vector<std::string> env;
};

TEST(NetnsApplyIntegration, StatusRollbackAndExportOfOneNamespace) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    TwoNamespacesOnABus setup("rb", "first", "second");
    ASSERT_TRUE(setup.ok()) << setup.why();
    auto first_sockets = sockets_in(setup.first.path(), 3);
    const std::string original = read_inside(setup.first.path(), kFinTimeout);
    Fixture f;
    f.profile("observe", "");
    f.profile("tune", fmt::format("sysctls:\n  {}: 37\n", kFinTimeout));
    ASSERT_TRUE(write_text(f.dir.path() / "tcptune.yaml",
                           fmt::format("namespaces:\n  watch: all\n  select:\n"
                                       "    - name: \"{}\"\n      profile: tune\n"
                                       "    - name: \"{}\"\n      profile: tune\n",
                                       setup.first.name(), setup.second.name())));
    // Journals left from before: one for an inode that now holds another namespace
    // (the cookie differs), one for a namespace that is gone. Both are closed at
    // start, never applied (the stale original 99 must never be restored).
    const auto first_id = netns_id_of(setup.first.path());
    ASSERT_TRUE(first_id);
    auto stale = [&](std::uint64_t inode) {
        const fs::path dir = netns_journal_dir(f.state(), inode);
        ASSERT_TRUE(write_netns_identity(
            dir, NetnsIdentity{inode, first_id->device, 1, current_boot_id(), "old"}));
        auto journal = Journal::open(dir);
        ASSERT_TRUE(journal);
        ASSERT_TRUE(journal->record_write(kFinTimeout, "99", "37", std::chrono::system_clock::now(),
                                          "tune", "", "stale"));
    };
    stale(first_id->inode);
    stale(1);

    DaemonProcess daemon(
        isolated_launch({.dir = f.dir.path(), .profile = "observe", .bus = "system"}));
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(
        eventually([&] { return read_inside(setup.first.path(), kFinTimeout) == "37"; }, kWait))
        << daemon.log();
    ASSERT_TRUE(
        eventually([&] { return read_inside(setup.second.path(), kFinTimeout) == "37"; }, kWait))
        << daemon.log();

    std::size_t closed_at_start = 0;
    for (const auto& entry : fs::directory_iterator(closed_netns_journals_dir(f.state()))) {
        closed_at_start += fs::exists(entry.path() / "journal.json") ? 1U : 0U;
    }
    EXPECT_EQ(closed_at_start, 2U) << daemon.log();
    EXPECT_FALSE(fs::exists(netns_journal_dir(f.state(), 1)));

    // status --netns is a read: open to everyone.
    auto status = run_process(
        as_nobody({bin("tcptune"), "status", "--netns", setup.first.name(), "--json"}), setup.env);
    ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
    auto doc = nlohmann::json::parse(status.out);
    EXPECT_EQ(doc.at("state"), "managed");
    EXPECT_EQ(doc.at("profile"), "tune");
    EXPECT_EQ(doc.at("states").at("time_wait").get<std::uint64_t>(), 3U) << doc.dump();
    bool owned = false;
    for (const auto& row : doc.at("sysctls")) {
        owned = owned || (row.at("key") == kFinTimeout && row.at("owner") == "tcptune" &&
                          row.at("original") == original && row.at("current") == "37");
    }
    EXPECT_TRUE(owned) << doc.dump();
    auto listed = run_process({bin("tcptune"), "namespaces", "--json"}, setup.env);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const auto listed_doc = nlohmann::json::parse(listed.out);  // outlives the loop
    bool listed_first = false;
    for (const auto& row : listed_doc.at("namespaces")) {
        if (row.at("name") == setup.first.name()) {
            listed_first = true;
            EXPECT_EQ(row.at("profile"), "tune") << "the profile in force";
        }
    }
    EXPECT_TRUE(listed_first) << listed.out;

    // export --netns reads that namespace's journal.
    auto exported = run_process({bin("tcptune"), "export", "--netns", setup.first.name(),
                                 "--state-dir", f.state().string(), "--json"},
                                setup.env);
    ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
    const auto exported_doc = nlohmann::json::parse(exported.out);
    ASSERT_EQ(exported_doc.at("sysctls").size(), 1U) << exported.out;
    EXPECT_EQ(exported_doc.at("sysctls")[0].at("original"), original);

    // rollback --netns is mutating: nobody is refused, root restores that namespace only.
    auto denied = run_process(
        as_nobody({bin("tcptune"), "rollback", "--netns", setup.first.name()}), setup.env);
    EXPECT_EQ(denied.exit_code, 4) << denied.out << denied.err;
    EXPECT_EQ(read_inside(setup.first.path(), kFinTimeout), "37");
    auto rolled = run_process({bin("tcptune"), "rollback", "--netns", setup.first.name(), "--json"},
                              setup.env);
    ASSERT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err << daemon.log();
    EXPECT_EQ(read_inside(setup.first.path(), kFinTimeout), original);
    EXPECT_EQ(read_inside(setup.second.path(), kFinTimeout), "37")
        << "the other namespace was rolled back";
    auto unknown =
        run_process({bin("tcptune"), "rollback", "--netns", "no-such-namespace"}, setup.env);
    EXPECT_NE(unknown.exit_code, 0);
    auto all = run_process({bin("tcptune"), "rollback", "--netns", "all"}, setup.env);
    ASSERT_EQ(all.exit_code, 0) << all.out << all.err;
    EXPECT_EQ(read_inside(setup.second.path(), kFinTimeout), original);
    EXPECT_TRUE(daemon.running()) << daemon.log();
}

// Reload reconfigures the fleet: a namespace switched to another profile follows it
// (its journal's original stays the one recorded before the first write), one
// switched to none is released under the stop policy (restore here); a select entry
// naming host puts its profile in force in the daemon's own namespace (the test's
// private one); watch: host <-> all at reload is refused, nothing reloaded.
TEST(NetnsApplyIntegration, ReloadSwitchesProfilesAndAHostEntrySelectsTheDaemonsOwn) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    // first: moves between profiles; second: selects a host-wide key, refused.
    TwoNamespacesOnABus setup("reload", "moving", "global");
    ASSERT_TRUE(setup.ok()) << setup.why();
    auto moving_sockets = sockets_in(setup.first.path(), 1);
    const std::string original = read_inside(setup.first.path(), kFinTimeout);
    const std::string host_keepalive = read_text(proc_sys(kKeepalive));
    Fixture f;
    f.profile("observe", "");
    f.profile("node", fmt::format("sysctls:\n  {}: 1234\n", kKeepalive));
    f.profile("first", fmt::format("sysctls:\n  {}: 33\n", kFinTimeout));
    f.profile("second", fmt::format("sysctls:\n  {}: 44\n", kFinTimeout));
    f.profile("orphans", "sysctls:\n  net.ipv4.tcp_max_orphans: 8192\n");
    auto configure = [&](const std::string& watch, const std::string& profile) {
        ASSERT_TRUE(
            write_text(f.dir.path() / "tcptune.yaml",
                       fmt::format("stop_policy: restore\nsafety: {{ key_cooldown: 1s }}\n"
                                   "namespaces:\n  watch: {}\n"
                                   "  select:\n"
                                   "    - name: host\n      profile: node\n"
                                   "    - name: \"{}\"\n      profile: {}\n"
                                   "    - name: \"{}\"\n      profile: orphans\n",
                                   watch, setup.first.name(), profile, setup.second.name())));
    };
    configure("all", "first");
    DaemonProcess daemon(
        isolated_launch({.dir = f.dir.path(), .profile = "observe", .bus = "system"}));
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(
        eventually([&] { return read_inside(setup.first.path(), kFinTimeout) == "33"; }, kWait))
        << daemon.log();
    // The host entry beats --profile observe in the daemon's own namespace.
    ASSERT_TRUE(eventually([&] { return read_text(proc_sys(kKeepalive)) == "1234\n"; }, kWait))
        << daemon.log();
    // The refused namespace is listed as refused, with the selected profile and why.
    ASSERT_TRUE(daemon.wait_for_log("net.ipv4.tcp_max_orphans is host-wide", 10s)) << daemon.log();
    auto listed = run_process(as_nobody({bin("tcptune"), "namespaces", "--json"}), setup.env);
    ASSERT_EQ(listed.exit_code, 0) << listed.out << listed.err;
    bool seen = false;
    const auto listed_doc = nlohmann::json::parse(listed.out);  // outlives the loop
    for (const auto& row : listed_doc.at("namespaces")) {
        if (row.at("name") == setup.second.name()) {
            seen = true;
            EXPECT_EQ(row.at("state"), "refused") << row.dump();
            EXPECT_EQ(row.at("profile"), "none") << "none is in force";
            EXPECT_EQ(row.at("refused_profile"), "orphans") << row.dump();
            EXPECT_NE(
                row.at("reason").get<std::string>().find("net.ipv4.tcp_max_orphans is host-wide"),
                std::string::npos)
                << row.dump();
        } else if (row.at("name") == setup.first.name()) {
            EXPECT_EQ(row.at("state"), "managed") << row.dump();
            EXPECT_TRUE(row.at("reason").is_null()) << row.dump();
        }
    }
    EXPECT_TRUE(seen) << listed.out;
    auto table = run_process({bin("tcptune"), "namespaces"}, setup.env);
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("refused: orphans: "), std::string::npos) << table.out;

    const auto moving_id = netns_id_of(setup.first.path());
    ASSERT_TRUE(moving_id);
    const fs::path journal = netns_journal_dir(f.state(), moving_id->inode) / "journal.json";

    // Another profile at reload: the sysctl follows, the original stays the first one.
    configure("all", "second");
    auto reloaded = run_process({bin("tcptune"), "reload"}, setup.env);
    ASSERT_EQ(reloaded.exit_code, 0) << reloaded.out << reloaded.err << daemon.log();
    ASSERT_TRUE(
        eventually([&] { return read_inside(setup.first.path(), kFinTimeout) == "44"; }, kWait))
        << daemon.log();
    auto doc = nlohmann::json::parse(read_text(journal));
    EXPECT_EQ(doc.at("entries").at(kFinTimeout).at("original"), original) << doc.dump();
    EXPECT_EQ(doc.at("entries").at(kFinTimeout).at("last_written"), "44");
    auto status =
        run_process({bin("tcptune"), "status", "--netns", setup.first.name(), "--json"}, setup.env);
    ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
    EXPECT_EQ(nlohmann::json::parse(status.out).at("profile"), "second");

    // watch: host at reload needs a restart: refused, everything stays in force.
    configure("host", "first");
    auto refused = run_process({bin("tcptune"), "reload"}, setup.env);
    EXPECT_NE(refused.exit_code, 0) << refused.out;
    EXPECT_NE((refused.out + refused.err)
                  .find("namespaces.watch changed from all to host: needs a "
                        "restart"),
              std::string::npos)
        << refused.out << refused.err;
    configure("all", "second");  // the same as in force: nothing moves
    auto again = run_process({bin("tcptune"), "reload"}, setup.env);
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_EQ(read_inside(setup.first.path(), kFinTimeout), "44");

    // none at reload: released under stop_policy restore, the original is back.
    configure("all", "none");
    auto released = run_process({bin("tcptune"), "reload"}, setup.env);
    ASSERT_EQ(released.exit_code, 0) << released.out << released.err;
    ASSERT_TRUE(
        eventually([&] { return read_inside(setup.first.path(), kFinTimeout) == original; }, kWait))
        << daemon.log();
    EXPECT_TRUE(daemon.wait_for_log(fmt::format("released under stop policy restore"), 5s))
        << daemon.log();
    std::this_thread::sleep_for(1s);  // five more rounds: nothing writes it again
    EXPECT_EQ(read_inside(setup.first.path(), kFinTimeout), original);

    // The host's select entry gone: the daemon's own profile (observe) again.
    ASSERT_TRUE(write_text(f.dir.path() / "tcptune.yaml",
                           "stop_policy: restore\nsafety: { key_cooldown: 1s }\n"
                           "namespaces:\n  watch: all\n"));
    auto plain = run_process({bin("tcptune"), "reload"}, setup.env);
    ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
    auto host = run_process({bin("tcptune"), "status", "--json"}, setup.env);
    ASSERT_EQ(host.exit_code, 0) << host.out << host.err;
    EXPECT_EQ(nlohmann::json::parse(host.out).at("profile"), "observe") << host.out;
    daemon.signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(10s), std::optional<int>(0)) << daemon.log();
    EXPECT_EQ(read_text(proc_sys(kKeepalive)), host_keepalive) << "restored at stop";
    EXPECT_EQ(read_inside(setup.first.path(), kFinTimeout), original);
}

}  // namespace
}  // namespace tcptune::test
