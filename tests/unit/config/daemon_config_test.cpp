#include "tcptune/config/daemon_config.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;

TEST(DaemonConfigTest, IntervalAcceptsSecondsAndDurationsWithinBounds) {
    EXPECT_EQ(parse_interval("5"), 5000ms);
    EXPECT_EQ(parse_interval("0.25"), 250ms);
    EXPECT_EQ(parse_interval("0.001"), 1ms);
    EXPECT_EQ(parse_interval("250ms"), 250ms);
    EXPECT_EQ(parse_interval("1m"), 60000ms);
    for (const char* bad : {"0", "-1", "2h", "fast", ""}) {
        EXPECT_FALSE(parse_interval(bad).has_value()) << bad;
    }
}

TEST(DaemonConfigTest, MetricsAddressNeedsHostAndPortOrNone) {
    EXPECT_EQ(parse_metrics_address("none"), "none");
    EXPECT_EQ(parse_metrics_address("127.0.0.1:9477"), "127.0.0.1:9477");
    EXPECT_EQ(parse_metrics_address("[::1]:9477"), "[::1]:9477");
    EXPECT_EQ(parse_metrics_address("[::]:9477"), "[::]:9477");
    // The HTTP server binds numeric addresses only: a host name is a config error at start.
    for (const char* bad : {"9477", ":9477", "localhost:0", "localhost:70000", "::1:9477",
                            "localhost:9477", "127.0.0.1:0"}) {
        EXPECT_FALSE(parse_metrics_address(bad).has_value()) << bad;
    }
}

TEST(DaemonConfigTest, BusAndLogLevelNames) {
    EXPECT_EQ(parse_bus_kind("system"), BusKind::kSystem);
    EXPECT_EQ(parse_bus_kind("session"), BusKind::kSession);
    EXPECT_EQ(parse_bus_kind("none"), BusKind::kNone);
    EXPECT_FALSE(parse_bus_kind("sytem").has_value());
    EXPECT_EQ(parse_log_level("warn"), LogLevel::kWarning);
    EXPECT_EQ(parse_log_level("debug"), LogLevel::kDebug);
    EXPECT_EQ(to_string(LogLevel::kWarning), "warning");
    EXPECT_FALSE(parse_log_level("loud").has_value());
}

TEST(DaemonConfigTest, FileSetsEveryFieldItNames) {
    auto parsed = parse_daemon_config(R"(# comment
profile: web-frontend
profile_dirs: [/srv/profiles, /usr/share/tcptune/profiles]
state_dir: /srv/state
interval: 2s
metrics_address: none
bus: session
advise: true
log_level: debug
stop_policy: restore
census_engine: netlink
census_reconcile_interval: 90s
metrics_top_k: 25
)",
                                      "tcptune.yaml");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->profile, "web-frontend");
    EXPECT_EQ(parsed->profile_dirs, (ProfileDirs{"/srv/profiles", "/usr/share/tcptune/profiles"}));
    EXPECT_EQ(parsed->state_dir, "/srv/state");
    EXPECT_EQ(parsed->interval, 2000ms);
    EXPECT_FALSE(parsed->metrics_enabled());
    EXPECT_EQ(parsed->bus, BusKind::kSession);
    EXPECT_TRUE(parsed->advise);
    EXPECT_EQ(parsed->log_level, LogLevel::kDebug);
    EXPECT_EQ(parsed->stop_policy, StopPolicy::kRestore);
    EXPECT_EQ(parsed->census_engine, CensusEngineChoice::kNetlink);
    EXPECT_EQ(parsed->census_reconcile_interval, 90000ms);
    EXPECT_EQ(parsed->metrics_top_k, 25U);
}

TEST(DaemonConfigTest, CensusEngineAndReconcileInterval) {
    EXPECT_EQ(parse_census_engine("auto"), CensusEngineChoice::kAuto);
    EXPECT_EQ(parse_census_engine("bpf"), CensusEngineChoice::kBpf);
    EXPECT_EQ(parse_census_engine("netlink"), CensusEngineChoice::kNetlink);
    EXPECT_FALSE(parse_census_engine("ebpf").has_value());
    EXPECT_EQ(to_string(CensusEngineChoice::kAuto), "auto");
    EXPECT_EQ(DaemonOptions{}.census_engine, CensusEngineChoice::kAuto);
    EXPECT_EQ(DaemonOptions{}.census_reconcile_interval, std::chrono::minutes(5));

    EXPECT_EQ(parse_reconcile_interval("10s"), 10000ms);
    EXPECT_EQ(parse_reconcile_interval("24h"), std::chrono::hours(24));
    EXPECT_FALSE(parse_reconcile_interval("9s").has_value());
    EXPECT_FALSE(parse_reconcile_interval("25h").has_value());
    EXPECT_FALSE(parse_reconcile_interval("300").has_value());  // a unit is required

    auto bad = parse_daemon_config("census_engine: fast\n", "tcptune.yaml");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message.rfind("tcptune.yaml:1:16: unknown census engine", 0), 0U)
        << bad.error().message;

    // The flag wins over the file.
    test::TempDir dir;
    const auto file = dir.path() / "tcptune.yaml";
    std::ofstream(file) << "census_engine: netlink\n";
    DaemonOverrides flags;
    flags.config_file = file;
    flags.census_engine = CensusEngineChoice::kBpf;
    auto options = load_daemon_options(flags);
    ASSERT_TRUE(options.has_value()) << options.error().message;
    EXPECT_EQ(options->census_engine, CensusEngineChoice::kBpf);
}

TEST(DaemonConfigTest, MetricsTopKIsBounded) {
    EXPECT_EQ(parse_daemon_config("# defaults\n", "t.yaml")->metrics_top_k, 10U);
    EXPECT_EQ(parse_daemon_config("metrics_top_k: 0\n", "t.yaml")->metrics_top_k, 0U);
    auto big = parse_daemon_config("metrics_top_k: 101\n", "t.yaml");
    ASSERT_FALSE(big.has_value());
    EXPECT_NE(big.error().message.find("t.yaml:1:16: metrics_top_k must be a whole number 0..100"),
              std::string::npos)
        << big.error().message;
    EXPECT_FALSE(parse_daemon_config("metrics_top_k: ten\n", "t.yaml").has_value());
}

TEST(DaemonConfigTest, SafetySectionSetsTheGateLimitsWithinBounds) {
    const GateLimits defaults;
    EXPECT_EQ(defaults.key_cooldown, 60s);
    EXPECT_EQ(defaults.max_changes_per_minute, 20U);
    EXPECT_EQ(parse_daemon_config("# defaults\n", "t.yaml")->gate_limits, defaults);
    EXPECT_EQ(parse_daemon_config("safety:\n", "t.yaml")->gate_limits, defaults);

    auto both =
        parse_daemon_config("safety:\n  key_cooldown: 5s\n  max_changes_per_minute: 3\n", "t.yaml");
    ASSERT_TRUE(both.has_value()) << both.error().message;
    EXPECT_EQ(both->gate_limits, (GateLimits{.key_cooldown = 5s, .max_changes_per_minute = 3}));
    // A field the file does not name keeps its value; seconds may be a bare number.
    auto one = parse_daemon_config("safety: { key_cooldown: 90 }\n", "t.yaml");
    ASSERT_TRUE(one.has_value()) << one.error().message;
    EXPECT_EQ(one->gate_limits, (GateLimits{.key_cooldown = 90s, .max_changes_per_minute = 20}));
    EXPECT_EQ(parse_daemon_config("safety: { key_cooldown: 1m30s }\n", "t.yaml")
                  ->gate_limits.key_cooldown,
              90s);
    EXPECT_EQ(
        parse_daemon_config("safety: { key_cooldown: 1s }\n", "t.yaml")->gate_limits.key_cooldown,
        1s);
    EXPECT_EQ(
        parse_daemon_config("safety: { key_cooldown: 24h }\n", "t.yaml")->gate_limits.key_cooldown,
        24h);
    EXPECT_EQ(parse_daemon_config("safety: { max_changes_per_minute: 1000 }\n", "t.yaml")
                  ->gate_limits.max_changes_per_minute,
              1000U);
}

TEST(DaemonConfigTest, SafetySectionErrorsSayWhatIsAllowedAndWhere) {
    const auto error_of = [](const std::string& yaml) {
        auto parsed = parse_daemon_config(yaml, "t.yaml");
        EXPECT_FALSE(parsed.has_value()) << yaml;
        return parsed ? std::string() : parsed.error().message;
    };
    const std::string cooldown_bounds = "must be whole seconds from 1s to 24h (60, 90s, 5m)";
    for (const char* bad : {"0", "0s", "500ms", "1500ms", "25h", "86401", "-5", "soon", "\"\""}) {
        const auto message = error_of(std::string("safety:\n  key_cooldown: ") + bad + "\n");
        EXPECT_NE(message.find("t.yaml:2:17: key_cooldown"), std::string::npos) << message;
        EXPECT_NE(message.find(cooldown_bounds), std::string::npos) << message;
    }
    for (const char* bad : {"0", "1001", "-1", "ten", "2.5"}) {
        const auto message =
            error_of(std::string("safety:\n  max_changes_per_minute: ") + bad + "\n");
        EXPECT_NE(message.find("t.yaml:2:27: max_changes_per_minute"), std::string::npos)
            << message;
        EXPECT_NE(message.find("must be a whole number 1..1000"), std::string::npos) << message;
    }
    auto unknown = error_of("safety:\n  key_cooldown: 5s\n  cooldown: 5s\n");
    EXPECT_NE(unknown.find("t.yaml:3:3: unknown setting \"safety.cooldown\" (known: "
                           "key_cooldown, max_changes_per_minute)"),
              std::string::npos)
        << unknown;
    auto not_a_map = error_of("safety: 60\n");
    EXPECT_NE(not_a_map.find("t.yaml:1:9: safety must be a mapping of key_cooldown, "
                             "max_changes_per_minute"),
              std::string::npos)
        << not_a_map;
    auto list_value = error_of("safety:\n  key_cooldown: [5, 6]\n");
    EXPECT_NE(list_value.find("t.yaml:2:17: safety.key_cooldown must be a single value"),
              std::string::npos)
        << list_value;
}

TEST(DaemonConfigTest, EmptyFileKeepsTheBase) {
    DaemonOptions base;
    base.profile = "database";
    auto parsed = parse_daemon_config("# nothing set\n", "tcptune.yaml", base);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, base);
}

TEST(DaemonConfigTest, ErrorsNameFileLineAndColumn) {
    auto unknown = parse_daemon_config("profile: web\nintervall: 5\n", "/etc/t.yaml");
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, ErrorCode::kParse);
    EXPECT_NE(unknown.error().message.find("/etc/t.yaml:2:1:"), std::string::npos)
        << unknown.error().message;
    EXPECT_NE(unknown.error().message.find("intervall"), std::string::npos);

    auto bad_bus = parse_daemon_config("bus: sytem\n", "t.yaml");
    ASSERT_FALSE(bad_bus.has_value());
    EXPECT_NE(bad_bus.error().message.find("t.yaml:1:6:"), std::string::npos)
        << bad_bus.error().message;

    for (const char* bad : {"advise: maybe\n", "profile_dirs: /one\n", "- a list\n"}) {
        EXPECT_FALSE(parse_daemon_config(bad, "t.yaml").has_value()) << bad;
    }
    auto syntax = parse_daemon_config("profile: [unclosed\n", "t.yaml");
    ASSERT_FALSE(syntax.has_value());
    EXPECT_NE(syntax.error().message.find("t.yaml:"), std::string::npos);
}

TEST(DaemonConfigTest, FlagsWinOverTheFileWhichWinsOverDefaults) {
    test::TempDir dir;
    const auto file = dir.path() / "tcptune.yaml";
    std::ofstream(file) << "profile: database\ninterval: 7s\nbus: session\n";
    DaemonOverrides flags;
    flags.config_file = file;
    flags.interval = 300ms;
    auto options = load_daemon_options(flags);
    ASSERT_TRUE(options.has_value()) << options.error().message;
    EXPECT_EQ(options->profile, "database");  // file
    EXPECT_EQ(options->interval, 300ms);      // flag beats file
    EXPECT_EQ(options->bus, BusKind::kSession);
    EXPECT_EQ(options->state_dir, kDefaultStateDir);  // default
    EXPECT_EQ(options->config_file, file);

    // Errors in the file name it (path:line:col).
    std::ofstream(file) << "bus: session\nintervall: 5\n";
    auto bad = load_daemon_options(flags);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message.rfind(file.string() + ":2:1: unknown setting", 0), 0U)
        << bad.error().message;
    EXPECT_FALSE(options->profile_dirs.empty());  // default_profile_dirs()
}

TEST(DaemonConfigTest, MissingExplicitConfigIsAnErrorButMissingDefaultIsNot) {
    test::TempDir dir;
    DaemonOverrides flags;
    flags.config_file = dir.path() / "absent.yaml";
    auto missing = load_daemon_options(flags);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    EXPECT_NE(missing.error().message.find("absent.yaml"), std::string::npos);

    if (!std::filesystem::exists(kDefaultConfigFile)) {
        EXPECT_TRUE(load_daemon_options(DaemonOverrides{}).has_value());
    }
}

}  // namespace
}  // namespace tcptune

namespace tcptune {
namespace {

// The shipped example config documents the defaults: parsed as is (all
// comments) it changes nothing, and with every setting uncommented it still
// yields exactly the built-in defaults.
TEST(DaemonConfigTest, ShippedExampleConfigShowsTheDefaults) {
    std::ifstream in(std::string(TCPTUNE_SOURCE_DIR) + "/systemd/tcptune.yaml");
    ASSERT_TRUE(in.good());
    std::string commented;
    std::string uncommented;
    for (std::string line; std::getline(in, line);) {
        commented += line + "\n";
        // "#key: value", and the lines of a list or a section: "#  - item", "#  key: value".
        const auto letter = [&](std::size_t i) {
            return line.size() > i && line[i] >= 'a' && line[i] <= 'z';
        };
        const bool setting =
            !line.empty() && line[0] == '#' &&
            (letter(1) || line.rfind("#  - ", 0) == 0 || (line.rfind("#  ", 0) == 0 && letter(3)));
        uncommented += (setting ? line.substr(1) : line) + "\n";
    }
    DaemonOptions defaults;
    defaults.profile_dirs = {"/etc/tcptune/profiles", "/usr/share/tcptune/profiles"};
    auto as_shipped = parse_daemon_config(commented, "tcptune.yaml", defaults);
    ASSERT_TRUE(as_shipped.has_value()) << as_shipped.error().message;
    EXPECT_EQ(*as_shipped, defaults);

    auto all_set = parse_daemon_config(uncommented, "tcptune.yaml", DaemonOptions{});
    ASSERT_TRUE(all_set.has_value()) << all_set.error().message << "\n" << uncommented;
    DaemonOptions expected = defaults;
    expected.interval = std::chrono::milliseconds(5000);  // the profiles' usual interval
    EXPECT_EQ(*all_set, expected);
}

}  // namespace
}  // namespace tcptune
