#include "daemon_options.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tcptune/version.hpp"

namespace tcptune::daemon {
namespace {

using namespace std::chrono_literals;

struct Parsed {
    std::optional<int> exit;
    DaemonOverrides flags;
    std::string out;
    std::string err;
};

// parse_command_line over `args` (argv[0] added), with what it printed.
Parsed parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tcptuned");
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    Parsed parsed;
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    parsed.exit = parse_command_line(static_cast<int>(args.size()), argv.data(), parsed.flags);
    parsed.out = testing::internal::GetCapturedStdout();
    parsed.err = testing::internal::GetCapturedStderr();
    return parsed;
}

TEST(DaemonOptions, NoFlagsOverrideNothing) {
    const Parsed p = parse({});
    EXPECT_FALSE(p.exit.has_value());
    EXPECT_FALSE(p.flags.config_file.has_value());
    EXPECT_FALSE(p.flags.profile.has_value());
    EXPECT_TRUE(p.flags.profile_dirs.empty());
    EXPECT_FALSE(p.flags.interval.has_value());
    EXPECT_FALSE(p.flags.bus.has_value());
    EXPECT_FALSE(p.flags.advise.has_value());
}

TEST(DaemonOptions, EveryFlagLandsInItsOverride) {
    const Parsed p = parse({"--config",
                            "/tmp/t.yaml",
                            "--profile",
                            "web",
                            "--profile-dir",
                            "/a",
                            "--profile-dir",
                            "/b",
                            "--state-dir",
                            "/tmp/state",
                            "--interval",
                            "250ms",
                            "--metrics-address",
                            "none",
                            "--bus",
                            "session",
                            "--advise",
                            "--log-level",
                            "debug",
                            "--stop-policy",
                            "restore"});
    ASSERT_FALSE(p.exit.has_value()) << p.err;
    EXPECT_EQ(p.flags.config_file, std::filesystem::path("/tmp/t.yaml"));
    EXPECT_EQ(p.flags.profile, "web");
    EXPECT_EQ(p.flags.profile_dirs, (ProfileDirs{"/a", "/b"}));
    EXPECT_EQ(p.flags.state_dir, std::filesystem::path("/tmp/state"));
    EXPECT_EQ(p.flags.interval, 250ms);
    EXPECT_EQ(p.flags.metrics_address, "none");
    EXPECT_EQ(p.flags.bus, BusKind::kSession);
    EXPECT_EQ(p.flags.advise, true);
    EXPECT_EQ(p.flags.log_level, LogLevel::kDebug);
    EXPECT_EQ(p.flags.stop_policy, StopPolicy::kRestore);
}

TEST(DaemonOptions, IntervalsInPlainSecondsToo) {
    const Parsed p = parse({"--interval", "5"});
    ASSERT_FALSE(p.exit.has_value()) << p.err;
    EXPECT_EQ(p.flags.interval, 5s);
}

TEST(DaemonOptions, HelpAndVersionEndWithZero) {
    const Parsed help = parse({"--help"});
    EXPECT_EQ(help.exit, kExitOk);
    EXPECT_NE(help.out.find("--metrics-address"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("Example:"), std::string::npos) << help.out;

    const Parsed version = parse({"--version"});
    EXPECT_EQ(version.exit, kExitOk);
    EXPECT_EQ(version.out, std::string("tcptuned ") + kVersion + "\n");
}

TEST(DaemonOptions, BadValuesAndUnknownFlagsAreUsageErrorsThatSayWhy) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"--bus", "usb"},
                                                                  {"--interval", "soon"},
                                                                  {"--metrics-address", "nohost"},
                                                                  {"--log-level", "loud"},
                                                                  {"--stop-policy", "maybe"},
                                                                  {"--no-such-flag"},
                                                                  {"--profile"}}) {
        const Parsed p = parse(args);
        EXPECT_EQ(p.exit, kExitUsage) << args[0];
        EXPECT_FALSE(p.err.empty()) << args[0] << ": a usage error explains itself";
    }
    const Parsed bus = parse({"--bus", "usb"});
    EXPECT_NE(bus.err.find("usb"), std::string::npos) << bus.err;
}

TEST(DaemonOptions, TheControllerGetsProfileDirsIntervalModeAndStopPolicy) {
    DaemonOptions options;
    options.profile = "web";
    options.profile_dirs = {"/etc/tcptune/profiles"};
    options.interval = 2s;
    options.advise = true;
    options.stop_policy = StopPolicy::kRestore;
    const ControllerConfig config = controller_config(options);
    EXPECT_EQ(config.profile, "web");
    EXPECT_EQ(config.profile_dirs, options.profile_dirs);
    EXPECT_EQ(config.interval_override, 2s);
    EXPECT_EQ(config.mode, ApplyMode::kAdvise);
    EXPECT_EQ(config.stop_policy, StopPolicy::kRestore);
    options.advise = false;
    EXPECT_EQ(controller_config(options).mode, ApplyMode::kEnforce);
}

TEST(DaemonOptions, AHostSelectEntryPicksTheDaemonsOwnProfile) {
    DaemonOptions options;
    options.profile = "web";
    options.namespaces.watch = NetnsWatch::kAll;
    options.namespaces.default_profile = "pods";
    // No entry names host: the daemon's profile, not default_profile.
    EXPECT_EQ(host_controller_config(options).profile, "web");
    EXPECT_EQ(namespace_fleet_config(options).settings.default_profile, "pods");
    options.namespaces.select = {{NamespaceSelector::Field::kName, "host", "node"}};
    EXPECT_EQ(host_controller_config(options).profile, "node");
    EXPECT_EQ(host_controller_config(options).mode, ApplyMode::kEnforce);
    // The other namespaces' base config is never the host's.
    EXPECT_EQ(namespace_fleet_config(options).controller.profile, "web");
    // none: the host is watched, never written.
    options.namespaces.select = {{NamespaceSelector::Field::kName, "host", "none"}};
    EXPECT_EQ(host_controller_config(options).profile, "web");
    EXPECT_EQ(host_controller_config(options).mode, ApplyMode::kAdvise);
    EXPECT_EQ(namespace_fleet_config(options).controller.mode, ApplyMode::kEnforce);
    options.namespaces.watch = NetnsWatch::kHost;
    EXPECT_EQ(host_controller_config(options).mode, ApplyMode::kEnforce);
}

}  // namespace
}  // namespace tcptune::daemon

namespace tcptune::daemon {
namespace {

TEST(DaemonOptions, CensusEngineFlagAndItsEngineOptions) {
    Parsed p = parse({"--census-engine", "netlink"});
    EXPECT_FALSE(p.exit.has_value()) << p.err;
    EXPECT_EQ(p.flags.census_engine, CensusEngineChoice::kNetlink);
    p = parse({"--census-engine", "ebpf"});
    EXPECT_EQ(p.exit, kExitUsage);
    EXPECT_NE(p.err.find("unknown census engine"), std::string::npos) << p.err;

    DaemonOptions options;
    options.census_engine = CensusEngineChoice::kBpf;
    options.census_reconcile_interval = 90s;
    ::unsetenv("TCPTUNE_TEST_BPF_REJECT");
    CensusEngineOptions census = census_engine_options(options);
    EXPECT_EQ(census.choice, CensusEngineChoice::kBpf);
    EXPECT_EQ(census.reconcile_interval, 90s);
    EXPECT_FALSE(census.bpf.force_verifier_reject);
    ::setenv("TCPTUNE_TEST_BPF_REJECT", "1", 1);
    EXPECT_TRUE(census_engine_options(options).bpf.force_verifier_reject);
    ::unsetenv("TCPTUNE_TEST_BPF_REJECT");
}

}  // namespace
}  // namespace tcptune::daemon
