// The D-Bus control interface end to end: the real tcptuned on a private
// dbus-daemon that loads the project's own policy file (systemd/net.tcptune.conf),
// the real tcptune CLI, busctl and dbus-send, all inside the test's private
// network namespace (sysctl writes never reach the host).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dbus_fixture.hpp"
#include "support/netns.hpp"
#include "support/private_bus.hpp"
#include "support/private_polkit.hpp"
#include "support/socket_factory.hpp"
#include "support/traffic.hpp"
#include "tcptune/census/bpf/bpf_census_engine.hpp"

namespace tcptune::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kTestProfile = R"(name: dbustest
description: D-Bus integration test profile
interval: 200ms
sysctls:
  net.ipv4.tcp_syncookies: 1
rules:
  - name: tw-pressure
    when: { state: time_wait, above: 20, for: 1 }
    clear: { below: 5, for: 1 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
    verify: false
    why: test rule that fires on a small TIME_WAIT population
  - name: accept-full
    when: { listener: accept_queue, above: 100%, for: 1 }
    why: test rule that names the listener whose accept queue is full
)";

constexpr const char* kAltProfile = R"(name: dbusalt
description: Second test profile with another baseline
interval: 300ms
sysctls:
  net.ipv4.tcp_fin_timeout: 33
)";

constexpr const char* kBrokenProfile = R"(name: broken
sysctls:
  net.ipv4.tcp_tw_recycle: 1
)";

constexpr const char* kService = tcptune::dbus::kServiceName;
constexpr const char* kObject = tcptune::dbus::kObjectPath;
constexpr const char* kInterface = tcptune::dbus::kInterfaceName;

std::string read_sysctl_value(const std::string& key) {
    std::string path = "/proc/sys/" + key;
    for (char& c : path) {
        if (c == '.') {
            c = '/';
        }
    }
    std::string value = read_text(path);
    while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) {
        value.pop_back();
    }
    return value;
}

void write_sysctl_value(const std::string& key, const std::string& value) {
    std::string path = "/proc/sys/" + key;
    for (char& c : path) {
        if (c == '.') {
            c = '/';
        }
    }
    std::ofstream out(path);
    out << value << "\n";
}

class DbusApiTest : public ::testing::Test {
  protected:
    // Starts bus + daemon. Call at the start of each test (after the netns macro).
    void start(BusPolicy policy, const std::vector<std::string>& daemon_env = {}) {
        char dir_template[] = "/tmp/tcptune-dbus-test-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        dir_ = dir_template;
        fs::create_directories(dir_ / "profiles");
        fs::create_directories(dir_ / "state");
        write_text(dir_ / "profiles" / "dbustest.yaml", kTestProfile);
        write_text(dir_ / "profiles" / "dbusalt.yaml", kAltProfile);
        write_text(dir_ / "profiles" / "broken.yaml", kBrokenProfile);
        write_text(dir_ / "tcptune.yaml", "profile: dbustest\n");

        auto bus = start_system_bus(policy);
        ASSERT_TRUE(bus) << bus.error().message;
        bus_ = std::move(*bus);

        daemon_ = std::make_unique<DaemonProcess>(isolated_launch(
            {.dir = dir_, .bus = "system", .extra = {"--log-level", "debug"}, .env = daemon_env}));
        ASSERT_TRUE(daemon_->start().has_value());
        proxy_ = std::make_unique<TestProxy>(sdbus::createSystemBusConnection());
        ASSERT_TRUE(wait_until_polled(*proxy_)) << "tcptuned did not come up; log:\n"
                                                << daemon_log();
    }

    void TearDown() override {
        proxy_.reset();
        if (daemon_) {
            EXPECT_TRUE(daemon_->running()) << "tcptuned died during the test; log:\n"
                                            << daemon_log();
            daemon_->stop();
        }
        if (HasFailure() && !dir_.empty()) {
            std::cerr << "--- tcptuned log ---\n" << daemon_log() << "\n";
        }
        daemon_.reset();
        polkit_.reset();
        bus_.reset();
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    std::string daemon_log() const { return daemon_ ? daemon_->log() : std::string(); }

    // Starts a real polkitd on the test's bus (start(kProjectWithPolkit) first)
    // whose only rule file is `rules_js`; skips the test where that cannot run.
    void start_polkit(const std::string& rules_js) {
        const std::string why = PrivatePolkit::unavailable_reason();
        if (!why.empty()) {
            GTEST_SKIP() << why;
        }
        auto polkit = PrivatePolkit::start(bus_->address(), rules_js);
        ASSERT_TRUE(polkit) << polkit.error().message;
        polkit_ = std::move(*polkit);
    }

    // The helpers run as root, or as `user` (setpriv, no supplementary groups).
    struct Caller {
        std::string user;  // "": root
        std::string group;
    };
    static Caller root() { return {}; }
    static Caller nobody() { return {"nobody", "nogroup"}; }
    static std::vector<std::string> as(const Caller& caller, std::vector<std::string> argv) {
        return caller.user.empty() ? argv : as_user(caller.user, caller.group, std::move(argv));
    }

    ProcessResult cli_as(const Caller& caller, std::vector<std::string> args) {
        args.insert(args.begin(), bin("tcptune"));
        return run_process(as(caller, std::move(args)));
    }
    ProcessResult cli(std::vector<std::string> args, bool nobody = false) {
        return cli_as(nobody ? DbusApiTest::nobody() : root(), std::move(args));
    }

    ProcessResult busctl_as(const Caller& caller, std::vector<std::string> args) {
        std::vector<std::string> argv = {"busctl", "--address=" + bus_->address(), "--json=short"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(as(caller, std::move(argv)));
    }
    ProcessResult busctl(std::vector<std::string> args, bool nobody = false) {
        return busctl_as(nobody ? DbusApiTest::nobody() : root(), std::move(args));
    }

    ProcessResult busctl_call_as(const Caller& caller, const std::string& method,
                                 std::vector<std::string> args = {}) {
        std::vector<std::string> argv = {"call", kService, kObject, kInterface, method};
        argv.insert(argv.end(), args.begin(), args.end());
        return busctl_as(caller, std::move(argv));
    }
    ProcessResult busctl_call(const std::string& method, std::vector<std::string> args = {},
                              bool nobody = false) {
        return busctl_call_as(nobody ? DbusApiTest::nobody() : root(), method, std::move(args));
    }

    ProcessResult dbus_send_as(const Caller& caller, const std::string& method,
                               std::vector<std::string> args) {
        std::vector<std::string> argv = {"dbus-send",     "--bus=" + bus_->address(),
                                         "--print-reply", "--dest=" + std::string(kService),
                                         kObject,         std::string(kInterface) + "." + method};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(as(caller, std::move(argv)));
    }
    ProcessResult dbus_send(const std::string& method, std::vector<std::string> args,
                            bool nobody = false) {
        return dbus_send_as(nobody ? DbusApiTest::nobody() : root(), method, std::move(args));
    }

    json status_json(bool nobody = false) {
        const ProcessResult r = cli({"status", "--json"}, nobody);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        return json::parse(r.out);
    }

    fs::path dir_;
    std::unique_ptr<PrivateBus> bus_;
    std::unique_ptr<PrivatePolkit> polkit_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::unique_ptr<TestProxy> proxy_;
};

const json* find_by(const json& array, const std::string& field, const std::string& value) {
    for (const auto& item : array) {
        if (item.at(field) == value) {
            return &item;
        }
    }
    return nullptr;
}

// Every read method and property, through the CLI and busctl, against what the
// daemon's proxy reports and what the kernel shows.
TEST_F(DbusApiTest, ReadMethodsAndPropertiesRoundTrip) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 7));
    start(BusPolicy::kProject);
    ASSERT_FALSE(HasFatalFailure());

    // Wait for a poll that sees the population, then compare the CLI's JSON.
    const std::uint64_t expected_tw = factory.expected()[TcpState::kTimeWait];
    ASSERT_TRUE(proxy_->pump_until([&] {
        return std::get<1>(proxy_->GetCounts()).at("time_wait") == expected_tw;
    })) << "daemon never counted "
        << expected_tw << " TIME_WAIT";

    const json status = status_json();
    EXPECT_EQ(status.at("source"), "daemon");
    EXPECT_EQ(status.at("profile"), "dbustest");
    EXPECT_EQ(status.at("mode"), "apply");
    EXPECT_DOUBLE_EQ(status.at("interval_seconds").get<double>(), 0.2);
    EXPECT_EQ(status.at("profile_file"), (dir_ / "profiles" / "dbustest.yaml").string());
    EXPECT_EQ(status.at("counts").at("states").at("time_wait").get<std::uint64_t>(), expected_tw);
    EXPECT_TRUE(status.at("counts").at("valid").get<bool>());
    EXPECT_GT(status.at("polls").get<std::uint64_t>(), 0u);

    // Rules: the CLI and the raw method agree.
    const auto rules = proxy_->GetRules();
    ASSERT_EQ(rules.size(), 2u);
    ASSERT_EQ(status.at("rules").size(), 2u);
    EXPECT_EQ(status.at("rules")[0].at("name"), rules[0].get<0>());
    EXPECT_EQ(status.at("rules")[0].at("metric"), "time_wait");
    EXPECT_FALSE(status.at("rules")[0].at("active").get<bool>());
    EXPECT_EQ(status.at("rules")[1].at("metric"), "listener.accept_queue");
    EXPECT_EQ(status.at("rules")[1].at("subject"), "") << "not firing";

    // Sysctls: the baseline key was applied; current/original/desired/owner travel.
    const json* syncookies = find_by(status.at("sysctls"), "key", "net.ipv4.tcp_syncookies");
    ASSERT_NE(syncookies, nullptr) << status.dump(2);
    EXPECT_EQ(syncookies->at("current"), read_sysctl_value("net.ipv4.tcp_syncookies"));
    EXPECT_EQ(syncookies->at("desired"), "1");
    const json* tw_reuse = find_by(status.at("sysctls"), "key", "net.ipv4.tcp_tw_reuse");
    ASSERT_NE(tw_reuse, nullptr) << "rule keys are listed too: " << status.dump(2);
    EXPECT_EQ(tw_reuse->at("owner"), "unmanaged");
    EXPECT_EQ(tw_reuse->at("current"), read_sysctl_value("net.ipv4.tcp_tw_reuse"));

    // Properties through busctl get-property.
    auto prop = [&](const std::string& name) {
        const ProcessResult r = busctl({"get-property", kService, kObject, kInterface, name});
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        return json::parse(r.out).at("data");
    };
    EXPECT_EQ(prop("ActiveProfile"), "dbustest");
    EXPECT_EQ(prop("Mode"), "apply");
    EXPECT_DOUBLE_EQ(prop("Interval").get<double>(), 0.2);
    EXPECT_EQ(prop("Version"), status.at("version"));
    // As root the bpf census engine loads wherever the build has it.
    const std::string engine = bpf_census_engine_built_in() ? "bpf" : "netlink";
    EXPECT_EQ(prop("CensusEngine"), engine);
    EXPECT_EQ(prop("CensusEngineNote"), "");
    EXPECT_EQ(status.at("census_engine"), engine);

    // ListProfiles and ShowProfile through busctl.
    ProcessResult r = busctl_call("ListProfiles");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::map<std::string, bool> valid;
    const json listed = json::parse(r.out);
    for (const auto& p : listed.at("data")[0]) {
        valid[p[0].get<std::string>()] = p[4].get<bool>();
    }
    EXPECT_TRUE(valid.at("dbustest"));
    EXPECT_TRUE(valid.at("dbusalt"));
    EXPECT_FALSE(valid.at("broken"));

    r = busctl_call("ShowProfile", {"s", "dbusalt"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json shown = json::parse(r.out).at("data");
    EXPECT_NE(shown[0].get<std::string>().find("net.ipv4.tcp_fin_timeout: 33"), std::string::npos)
        << shown[0];
    EXPECT_EQ(json::parse(shown[1].get<std::string>()).at("name"), "dbusalt");
    r = busctl_call("ShowProfile", {"s", "/etc/shadow"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("not a path"), std::string::npos) << describe(r);
    r = busctl_call("ShowProfile", {"s", "no-such-profile"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("no profile named"), std::string::npos) << describe(r);

    // GetCounts and GetRecentChanges through busctl match the CLI's view.
    r = busctl_call("GetCounts");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json counts = json::parse(r.out).at("data");
    EXPECT_TRUE(counts[0].get<bool>());
    EXPECT_EQ(counts[1].at("time_wait").get<std::uint64_t>(), expected_tw);
    r = busctl_call("GetRecentChanges", {"u", "0"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(json::parse(r.out).at("data")[0].size(), status.at("recent_changes").size());

    // GetTop: the TIME_WAIT sockets all point at the factory's server address.
    r = busctl_call("GetTop", {"ssu", "time_wait", "peer", "5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json top = json::parse(r.out).at("data")[0];
    ASSERT_FALSE(top.empty()) << r.out;
    EXPECT_EQ(top[0][0], "127.0.0.2") << r.out;
    EXPECT_EQ(top[0][1].get<std::uint64_t>(), expected_tw) << r.out;
    // The destination view: the same TIME_WAITs hold ephemeral ports towards
    // the factory's server ports.
    r = busctl_call("GetTop", {"ssu", "", "destination", "5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json destinations = json::parse(r.out).at("data")[0];
    ASSERT_FALSE(destinations.empty()) << r.out;
    EXPECT_NE(destinations[0][0].get<std::string>().find(" -> 127.0.0.2:"), std::string::npos)
        << r.out;
    EXPECT_NE(destinations[0][2].get<std::string>().find("usable ports"), std::string::npos);
    r = busctl_call("GetTop", {"ssu", "", "listener", "5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    r = busctl_call("GetTop", {"ssu", "no_such_state", "peer", "5"});
    EXPECT_NE(r.exit_code, 0) << describe(r);
    r = busctl_call("GetTop", {"ssu", "time_wait", "process", "5"}, /*nobody=*/true);
    EXPECT_NE(r.exit_code, 0) << "process names are root-only: " << describe(r);

    // GetSysctls through busctl: same rows as the CLI.
    r = busctl_call("GetSysctls");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(json::parse(r.out).at("data")[0].size(), status.at("sysctls").size());

    // Human output: aligned tables, no colour when not a TTY.
    r = cli({"status"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("profile dbustest (apply mode"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("SYSCTL"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "colour on a pipe";
}

// The mutating verbs as root through the CLI, with their signals and
// PropertiesChanged, and the documented exit codes.
TEST_F(DbusApiTest, MutatingVerbsAsRootWithSignals) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start(BusPolicy::kProject);
    ASSERT_FALSE(HasFatalFailure());
    const std::string fin_before = read_sysctl_value("net.ipv4.tcp_fin_timeout");
    ASSERT_NE(fin_before, "33");

    // Dry run: planned records, nothing changes.
    ProcessResult r = cli({"apply", "dbusalt", "--dry-run", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    json changes = json::parse(r.out);
    const json* planned = find_by(changes, "key", "net.ipv4.tcp_fin_timeout");
    ASSERT_NE(planned, nullptr) << r.out;
    EXPECT_EQ(planned->at("result"), "advised");
    EXPECT_EQ(planned->at("new_value"), "33");
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_fin_timeout"), fin_before);
    EXPECT_EQ(proxy_->ActiveProfile(), "dbustest");

    // Real switch: applied, profile property changes and signals arrive.
    r = cli({"apply", "dbusalt", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    changes = json::parse(r.out);
    const json* applied = find_by(changes, "key", "net.ipv4.tcp_fin_timeout");
    ASSERT_NE(applied, nullptr) << r.out;
    EXPECT_EQ(applied->at("result"), "applied");
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_fin_timeout"), "33");
    EXPECT_TRUE(proxy_->pump_until([&] {
        return !proxy_->profile_changed.empty() && proxy_->properties_changed.size() >= 2;
    })) << "ProfileChanged / PropertiesChanged did not arrive";
    ASSERT_FALSE(proxy_->profile_changed.empty());
    EXPECT_EQ(proxy_->profile_changed.back(), "dbusalt");
    EXPECT_NE(std::find(proxy_->properties_changed.begin(), proxy_->properties_changed.end(),
                        "ActiveProfile"),
              proxy_->properties_changed.end());
    EXPECT_NE(
        std::find(proxy_->properties_changed.begin(), proxy_->properties_changed.end(), "Interval"),
        proxy_->properties_changed.end());
    EXPECT_EQ(proxy_->ActiveProfile(), "dbusalt");
    EXPECT_DOUBLE_EQ(proxy_->Interval(), 0.3);
    EXPECT_TRUE(proxy_->pump_until([&] {
        return proxy_->saw_sysctl_change("net.ipv4.tcp_fin_timeout", "applied");
    })) << "SysctlChanged for the applied key did not arrive";

    // Status shows the new owner, original and desired values.
    json status = status_json();
    const json* fin = find_by(status.at("sysctls"), "key", "net.ipv4.tcp_fin_timeout");
    ASSERT_NE(fin, nullptr) << status.dump(2);
    EXPECT_EQ(fin->at("owner"), "tcptune");
    EXPECT_EQ(fin->at("original"), fin_before);
    EXPECT_EQ(fin->at("desired"), "33");
    EXPECT_EQ(fin->at("current"), "33");

    // An invalid profile is exit 6, an unknown one exit 1 (as for `profile
    // show`: one exit-code table); the active profile stays.
    r = cli({"apply", "broken"});
    EXPECT_EQ(r.exit_code, 6) << describe(r);
    EXPECT_NE(r.err.find("tcp_tw_recycle"), std::string::npos) << describe(r);
    r = cli({"apply", "no-such-profile"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("not found"), std::string::npos) << describe(r);
    EXPECT_EQ(proxy_->ActiveProfile(), "dbusalt");

    // Reload keeps the profile and answers.
    r = cli({"reload", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(json::parse(r.out).at("profile"), "dbusalt");

    // Resume of a key that is not overridden / not managed: a readable error.
    r = cli({"resume", "net.ipv4.tcp_keepalive_time"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_FALSE(r.err.empty());

    // Rollback restores the original, and the record says so.
    r = cli({"rollback", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json rolled_back = json::parse(r.out);
    const json* restored = find_by(rolled_back, "key", "net.ipv4.tcp_fin_timeout");
    ASSERT_NE(restored, nullptr) << r.out;
    EXPECT_EQ(restored->at("result"), "restored");
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_fin_timeout"), fin_before);
}

// A rule firing and an administrator's override both arrive as signals, and
// resume hands the key back.
TEST_F(DbusApiTest, RuleAndOverrideSignalsArrive) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    ASSERT_EQ(read_sysctl_value("net.ipv4.tcp_tw_reuse"), "2") << "fresh namespace default";
    start(BusPolicy::kProject);
    ASSERT_FALSE(HasFatalFailure());

    SocketFactory factory;
    ASSERT_TRUE(factory.add_time_wait(IpFamily::kV4, 30));
    ASSERT_TRUE(proxy_->pump_until([&] { return !proxy_->rule_activated.empty(); }))
        << "RuleActivated did not arrive";
    EXPECT_EQ(proxy_->rule_activated.front(), "tw-pressure");
    ASSERT_TRUE(proxy_->pump_until([&] {
        return proxy_->saw_sysctl_change("net.ipv4.tcp_tw_reuse", "applied");
    })) << "SysctlChanged(tcp_tw_reuse applied) did not arrive";
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_tw_reuse"), "1");
    json status = status_json();
    EXPECT_TRUE(status.at("rules")[0].at("active").get<bool>()) << status.dump(2);
    EXPECT_FALSE(status.at("rules")[0].at("since").is_null());

    // An administrator changes the key behind tcptune's back.
    write_sysctl_value("net.ipv4.tcp_tw_reuse", "0");
    ASSERT_TRUE(proxy_->pump_until([&] { return !proxy_->overrides.empty(); }))
        << "OverrideDetected did not arrive";
    EXPECT_EQ(std::get<0>(proxy_->overrides.front()), "net.ipv4.tcp_tw_reuse");
    EXPECT_EQ(std::get<1>(proxy_->overrides.front()), "1");
    EXPECT_EQ(std::get<2>(proxy_->overrides.front()), "0");
    status = status_json();
    const json* key = find_by(status.at("sysctls"), "key", "net.ipv4.tcp_tw_reuse");
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->at("owner"), "administrator");
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_tw_reuse"), "0") << "tcptune must not fight";

    const ProcessResult r = cli({"resume", "net.ipv4.tcp_tw_reuse", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(json::parse(r.out)[0].at("result"), "resumed");
    status = status_json();
    key = find_by(status.at("sysctls"), "key", "net.ipv4.tcp_tw_reuse");
    ASSERT_NE(key, nullptr);
    EXPECT_NE(key->at("owner"), "administrator");

    // A per-listener rule says which listener: RuleFiredOn, GetRuleSignals, status.
    auto stuck = listen_on({"127.0.0.7", 7070}, 4);
    ASSERT_TRUE(stuck.has_value()) << stuck.error().message;
    const std::vector<int> clients = connect_burst({"127.0.0.7", 7070}, 10);
    ASSERT_TRUE(proxy_->pump_until([&] { return !proxy_->rule_fired_on.empty(); }))
        << "RuleFiredOn did not arrive";
    EXPECT_EQ(proxy_->rule_fired_on.front(),
              std::make_pair(std::string("accept-full"), std::string("127.0.0.7:7070")));
    const ProcessResult signals = busctl_call("GetRuleSignals", {});
    ASSERT_EQ(signals.exit_code, 0) << describe(signals);
    EXPECT_NE(signals.out.find("accept queue of 127.0.0.7:7070 5/4"), std::string::npos)
        << signals.out;
    status = status_json();
    const json* rule = find_by(status.at("rules"), "name", "accept-full");
    ASSERT_NE(rule, nullptr) << status.dump(2);
    EXPECT_EQ(rule->at("subject"), "127.0.0.7:7070");
    EXPECT_NE(rule->at("signal").get<std::string>().find("accept queue of 127.0.0.7:7070"),
              std::string::npos);
    const ProcessResult text = cli({"status"});
    EXPECT_NE(text.out.find("accept-full: accept queue of 127.0.0.7:7070 5/4"), std::string::npos)
        << text.out;
    for (int fd : clients) {
        ::close(fd);
    }
    ::close(*stuck);
}

class DbusAuthorizationTest : public DbusApiTest {
  public:
    // The daemon's AccessDenied text for nobody: without polkit, and when
    // polkit is asked and says no.
    static constexpr const char* kRootOnly =
        "requires root (caller uid 65534): no polkit on the bus";
    static constexpr const char* kPolkitSaidNo =
        "requires root or the polkit action net.tcptune.manage (caller uid 65534)";

    // Every mutating method, through the CLI, busctl and dbus-send, as nobody:
    // AccessDenied whose message contains `refusal`, and nothing changes.
    void expect_all_mutations_denied(const std::string& refusal) {
        const std::vector<std::vector<std::string>> verbs = {{"apply", "dbusalt"},
                                                             {"apply", "dbusalt", "--dry-run"},
                                                             {"rollback"},
                                                             {"reload"},
                                                             {"resume", "net.ipv4.tcp_syncookies"}};
        for (const auto& verb : verbs) {
            const ProcessResult r = cli(verb, /*nobody=*/true);
            EXPECT_EQ(r.exit_code, 4) << verb[0] << ": " << describe(r);
            EXPECT_NE(r.err.find("permission denied"), std::string::npos) << describe(r);
            EXPECT_NE(r.err.find(refusal), std::string::npos) << describe(r);
        }
        const std::vector<std::pair<std::string, std::vector<std::string>>> calls = {
            {"SetProfile", {"sb", "dbusalt", "false"}},
            {"Rollback", {"b", "true"}},
            {"Reload", {}},
            {"Resume", {"s", "net.ipv4.tcp_syncookies"}}};
        for (const auto& [method, args] : calls) {
            const ProcessResult r = busctl_call(method, args, /*nobody=*/true);
            EXPECT_NE(r.exit_code, 0) << method << ": " << describe(r);
            // busctl reduces AccessDenied to "Access denied"; dbus-send (below)
            // prints the name and the message.
            EXPECT_NE(r.err.find("Access denied"), std::string::npos) << describe(r);
        }
        const std::vector<std::pair<std::string, std::vector<std::string>>> sends = {
            {"SetProfile", {"string:dbusalt", "boolean:false"}},
            {"Rollback", {"boolean:false"}},
            {"Reload", {}},
            {"Resume", {"string:net.ipv4.tcp_syncookies"}}};
        for (const auto& [method, args] : sends) {
            const ProcessResult r = dbus_send(method, args, /*nobody=*/true);
            EXPECT_NE(r.exit_code, 0) << method << ": " << describe(r);
            EXPECT_NE(r.err.find(tcptune::dbus::error::kAccessDenied), std::string::npos)
                << method << ": " << describe(r);
            // tcptuned itself refused (the policy lets these four through).
            EXPECT_NE(r.err.find(refusal), std::string::npos) << method << ": " << describe(r);
        }
        // Nothing changed.
        EXPECT_EQ(proxy_->ActiveProfile(), "dbustest");
    }

    bool start_with_polkit_granting_daemon();

    void expect_reads_work_for_nobody() {
        const json status = status_json(/*nobody=*/true);
        EXPECT_EQ(status.at("source"), "daemon");
        EXPECT_EQ(status.at("profile"), "dbustest");
        for (const auto& [method, args] :
             std::vector<std::pair<std::string, std::vector<std::string>>>{
                 {"GetStatus", {}},
                 {"GetCounts", {}},
                 {"ListProfiles", {}},
                 {"ShowProfile", {"s", "dbustest"}},
                 {"GetSysctls", {}},
                 {"GetRules", {}},
                 {"GetRuleSignals", {}},
                 {"GetRecentChanges", {"u", "5"}}}) {
            const ProcessResult r = busctl_call(method, args, /*nobody=*/true);
            EXPECT_EQ(r.exit_code, 0) << method << ": " << describe(r);
        }
        const ProcessResult r = busctl(
            {"get-property", kService, kObject, kInterface, "ActiveProfile"}, /*nobody=*/true);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
    }

    // With no polkit that grants it, tcptuned keeps the root-only rule: it refuses
    // (and logs) every mutation by nobody, whom the reads still serve.
    void expect_root_only_rule_for_nobody() {
        expect_all_mutations_denied(kRootOnly);
        expect_reads_work_for_nobody();
        EXPECT_NE(daemon_log().find("denied for uid 65534"), std::string::npos) << daemon_log();
    }
};

// A bus without polkit (as on a system without polkitd): the project's policy
// lets nobody reach the mutating methods, and the daemon, finding no polkit to
// ask, keeps the root-only rule. Members the policy does not list stay denied
// by the bus itself.
TEST_F(DbusAuthorizationTest, ProjectPolicyWithoutPolkitDeniesNobodyAndAllowsReads) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start(BusPolicy::kProject);
    ASSERT_FALSE(HasFatalFailure());
    expect_root_only_rule_for_nobody();
    // The bus policy still denies what it does not list: nobody's call of an
    // unknown member never reaches the daemon, root's does (UnknownMethod).
    ProcessResult r = dbus_send("NoSuchMethod", {}, /*nobody=*/true);
    EXPECT_NE(r.err.find("Rejected send message"), std::string::npos) << describe(r);
    r = dbus_send("NoSuchMethod", {});
    EXPECT_NE(r.err.find("org.freedesktop.DBus.Error.UnknownMethod"), std::string::npos)
        << describe(r);
    // Root still may.
    r = cli({"apply", "dbusalt", "--dry-run"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

// A bus whose policy lets everyone call everything: the daemon's own check is
// what stops nobody.
TEST_F(DbusAuthorizationTest, DaemonChecksUidEvenWhenPolicyAllowsAll) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start(BusPolicy::kAllowAll);
    ASSERT_FALSE(HasFatalFailure());
    expect_root_only_rule_for_nobody();
}

// The user a test rule grants net.tcptune.manage: an ordinary uid (1) that
// every Debian system has (base-passwd).
const char* const kGrantedUser = "daemon";
constexpr const char* kGrantDaemonRule = R"(// tcptune test: grant the action to one user
polkit.addRule(function(action, subject) {
    if (action.id == "net.tcptune.manage" && subject.user == "daemon") {
        return polkit.Result.YES;
    }
});
)";

// Bus with polkit's policy, a real polkitd granting kGrantedUser, the daemon.
// False when the test cannot go on (skipped or failed).
bool DbusAuthorizationTest::start_with_polkit_granting_daemon() {
    start(BusPolicy::kProjectWithPolkit);
    if (HasFatalFailure()) {
        return false;
    }
    start_polkit(kGrantDaemonRule);
    return !IsSkipped() && !HasFatalFailure();
}

// A real polkitd with the shipped action file and a rule granting one
// unprivileged user: that user may call every mutating method, nobody still
// may not (the action's default is auth_admin, which a non-interactive check
// never passes), reads stay open.
TEST_F(DbusAuthorizationTest, PolkitRuleGrantsTheActionToOneUser) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!start_with_polkit_granting_daemon()) {
        return;
    }
    const Caller granted{kGrantedUser, kGrantedUser};

    expect_all_mutations_denied(kPolkitSaidNo);
    expect_reads_work_for_nobody();
    ProcessResult r = cli({"apply", "dbusalt"}, /*nobody=*/true);
    EXPECT_NE(r.err.find("administrator's authentication"), std::string::npos) << describe(r);

    // The granted user: every mutating method, through each client.
    r = cli_as(granted, {"apply", "dbusalt"});
    ASSERT_EQ(r.exit_code, 0) << describe(r) << "\npolkitd:\n" << polkit_->log();
    EXPECT_EQ(proxy_->ActiveProfile(), "dbusalt");
    EXPECT_EQ(read_sysctl_value("net.ipv4.tcp_fin_timeout"), "33");
    r = busctl_call_as(granted, "Reload");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    r = dbus_send_as(granted, "SetProfile", {"string:dbustest", "boolean:true"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(proxy_->ActiveProfile(), "dbusalt") << "a dry run switched the profile";
    r = busctl_call_as(granted, "Rollback", {"b", "false"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    // Resume reaches the controller: a key tcptune does not manage is its
    // NotFound, not AccessDenied.
    r = dbus_send_as(granted, "Resume", {"string:net.ipv4.tcp_keepalive_time"});
    EXPECT_NE(r.err.find("net.tcptune.Error.NotFound"), std::string::npos) << describe(r);

    // A grant for one user is not one for all.
    r = cli({"apply", "dbustest"}, /*nobody=*/true);
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    EXPECT_EQ(proxy_->ActiveProfile(), "dbusalt");
    const std::string log = daemon_log();
    EXPECT_NE(log.find("uid 1 authorized by polkit (net.tcptune.manage)"), std::string::npos)
        << log;
    EXPECT_NE(log.find("denied for uid 65534"), std::string::npos) << log;
}

// polkit is asked asynchronously: a polkitd that never answers delays only the
// caller waiting for it. Meanwhile the daemon polls and serves everyone else,
// root is answered without asking polkit, and the waiting caller gets
// AccessDenied when the call times out (10 s).
TEST_F(DbusAuthorizationTest, AStalledPolkitDelaysOnlyItsCallerNeverTheLoop) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    if (!start_with_polkit_granting_daemon()) {
        return;
    }
    polkit_->freeze();
    const auto asked_at = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point answered_at;
    auto waiting = std::async(std::launch::async, [&] {
        ProcessResult answer = dbus_send_as({kGrantedUser, kGrantedUser}, "SetProfile",
                                            {"string:dbusalt", "boolean:false"});
        answered_at = std::chrono::steady_clock::now();
        return answer;
    });
    // While that call waits for polkit, the loop goes on: polls continue and
    // every other caller is answered.
    const auto polls_before = std::get<5>(proxy_->GetStatus());
    EXPECT_TRUE(
        proxy_->pump_until([&] { return std::get<5>(proxy_->GetStatus()) > polls_before + 2; },
                           std::chrono::seconds(5)))
        << "the poll loop stalled while polkit was frozen";
    const auto root_started = std::chrono::steady_clock::now();
    ProcessResult r = cli({"apply", "dbusalt", "--dry-run"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_LT(std::chrono::steady_clock::now() - root_started, std::chrono::seconds(3))
        << "root waited for polkit";
    r = cli({"status", "--json"}, /*nobody=*/true);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(waiting.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
        << "the granted call returned although polkit never answered";

    // At most 32 questions wait for polkit at once: of 33 more callers, the
    // two over the cap are told so at once (LimitsExceeded), the rest wait.
    std::vector<std::future<ProcessResult>> crowd;
    for (int i = 0; i < 33; ++i) {
        crowd.push_back(std::async(std::launch::async, [&] {
            return dbus_send_as({kGrantedUser, kGrantedUser}, "Reload", {});
        }));
    }
    int over_the_cap = 0;
    for (auto& call : crowd) {
        const ProcessResult answer = call.get();
        EXPECT_NE(answer.exit_code, 0) << describe(answer);
        if (answer.err.find("org.freedesktop.DBus.Error.LimitsExceeded") != std::string::npos) {
            ++over_the_cap;
        } else {
            EXPECT_NE(answer.err.find("polkit could not be asked"), std::string::npos)
                << describe(answer);
        }
    }
    EXPECT_EQ(over_the_cap, 2);

    r = waiting.get();
    const auto waited = answered_at - asked_at;
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("org.freedesktop.DBus.Error.AccessDenied"), std::string::npos)
        << describe(r);
    EXPECT_NE(r.err.find("polkit could not be asked"), std::string::npos) << describe(r);
    EXPECT_GE(waited, std::chrono::seconds(9));
    EXPECT_LT(waited, std::chrono::seconds(14));
    EXPECT_EQ(proxy_->ActiveProfile(), "dbustest");

    // Thawed, polkit answers again.
    polkit_->thaw();
    r = cli_as({kGrantedUser, kGrantedUser}, {"apply", "dbusalt", "--dry-run"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

// A handler that throws an arbitrary exception (TCPTUNE_DBUS_FAULT test seam)
// and one that hits a real error both return D-Bus errors; the daemon keeps serving.
TEST_F(DbusApiTest, HandlerErrorsBecomeDbusErrorsAndDaemonKeepsServing) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    start(BusPolicy::kProject, {"TCPTUNE_DBUS_FAULT=GetRules"});
    ASSERT_FALSE(HasFatalFailure());

    for (int i = 0; i < 3; ++i) {
        const ProcessResult r = dbus_send("GetRules", {});
        EXPECT_NE(r.exit_code, 0) << describe(r);
        EXPECT_NE(r.err.find(tcptune::dbus::error::kInternal), std::string::npos) << describe(r);
    }
    ProcessResult r = cli({"status"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("internal error"), std::string::npos) << describe(r);

    // A real failure: a key tcptune does not manage.
    r = dbus_send("Resume", {"string:net.ipv4.no_such_key"});
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("net.tcptune.Error."), std::string::npos) << describe(r);

    // Still serving.
    r = busctl_call("GetStatus");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const auto polls_before = std::get<5>(proxy_->GetStatus());
    EXPECT_TRUE(proxy_->pump_until([&] { return std::get<5>(proxy_->GetStatus()) > polls_before; }))
        << "the poll loop stopped";
    EXPECT_NE(daemon_log().find("injected fault"), std::string::npos);
}

}  // namespace
}  // namespace tcptune::test
