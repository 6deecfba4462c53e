#include "daemon_options.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tcptune/version.hpp"

namespace tcptune::daemon {

namespace {

// CLI11 validator from one of our Result-returning parsers.
template <typename Parse>
CLI::Validator checked_by(Parse parse, const std::string& name) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
            auto parsed = parse(text);
            return parsed ? std::string() : parsed.error().message;
        },
        name);
}

}  // namespace

std::optional<int> parse_command_line(int argc, char** argv, DaemonOverrides& flags) {
    CLI::App app{
        "tcptuned - TCP tuning and diagnostics daemon.\n\n"
        "Watches the TCP socket table of this network namespace, compares it with the\n"
        "rules of the active profile and changes allow-listed TCP sysctls: bounded,\n"
        "journaled, reversible, never fighting an administrator.\n\n"
        "Settings come from the config file; flags win over it. SIGHUP reloads the\n"
        "config file and the profile (the old ones stay on error); SIGTERM stops.\n\n"
        "Example:\n"
        "  tcptuned --profile web-frontend --interval 5 --bus none --advise",
        "tcptuned"};
    app.set_version_flag("--version", std::string("tcptuned ") + kVersion);

    std::string config_file;
    std::string profile;
    std::vector<std::string> profile_dirs;
    std::string state_dir;
    std::string interval;
    std::string metrics_address;
    std::string bus;
    bool advise = false;
    std::string log_level;
    std::string stop_policy;
    std::string census_engine;

    app.add_option("--config", config_file,
                   "YAML config file (default /etc/tcptune/tcptune.yaml; optional unless given)");
    app.add_option("--profile", profile, "Profile NAME (searched in the profile dirs) or PATH");
    app.add_option("--profile-dir", profile_dirs,
                   "Directory of profiles, searched in order (repeatable; default "
                   "/etc/tcptune/profiles then /usr/share/tcptune/profiles)");
    app.add_option("--state-dir", state_dir,
                   "Directory of the journal of original values (default /var/lib/tcptune)");
    app.add_option("--interval", interval,
                   "Poll interval in SECONDS (5, 0.5) or as a duration (250ms); default: the "
                   "profile's")
        ->check(checked_by(parse_interval, "SECONDS"));
    app.add_option("--metrics-address", metrics_address,
                   "Prometheus endpoint HOST:PORT, or none (default 127.0.0.1:9477)")
        ->check(checked_by(parse_metrics_address, "HOST:PORT|none"));
    app.add_option("--bus", bus, "D-Bus to serve on: system, session or none (default system)")
        ->check(checked_by(parse_bus_kind, "system|session|none"));
    app.add_flag("--advise", advise, "Advice mode: run the whole pipeline, never write a sysctl");
    app.add_option("--log-level", log_level,
                   "trace, debug, info, warning, error, critical or off (default info)")
        ->check(checked_by(parse_log_level, "LEVEL"));
    app.add_option("--stop-policy", stop_policy,
                   "On stop, keep the values tcptune set or restore the originals (default keep)")
        ->check(checked_by(parse_stop_policy, "keep|restore"));
    app.add_option("--census-engine", census_engine,
                   "How sockets are counted: bpf (state counters, O(1) per poll), netlink (a "
                   "sock_diag dump per poll) or auto (bpf where it loads; default)")
        ->check(checked_by(parse_census_engine, "auto|bpf|netlink"));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }

    if (!config_file.empty()) {
        flags.config_file = config_file;
    }
    if (!profile.empty()) {
        flags.profile = profile;
    }
    for (const auto& dir : profile_dirs) {
        flags.profile_dirs.emplace_back(dir);
    }
    if (!state_dir.empty()) {
        flags.state_dir = state_dir;
    }
    if (!interval.empty()) {
        flags.interval = *parse_interval(interval);
    }
    if (!metrics_address.empty()) {
        flags.metrics_address = metrics_address;
    }
    if (!bus.empty()) {
        flags.bus = *parse_bus_kind(bus);
    }
    if (advise) {
        flags.advise = true;
    }
    if (!log_level.empty()) {
        flags.log_level = *parse_log_level(log_level);
    }
    if (!stop_policy.empty()) {
        flags.stop_policy = *parse_stop_policy(stop_policy);
    }
    if (!census_engine.empty()) {
        flags.census_engine = *parse_census_engine(census_engine);
    }
    return std::nullopt;
}

ControllerConfig controller_config(const DaemonOptions& options) {
    ControllerConfig config;
    config.profile = options.profile;
    config.profile_dirs = options.profile_dirs;
    config.interval_override = options.interval;
    config.mode = options.advise ? ApplyMode::kAdvise : ApplyMode::kEnforce;
    config.stop_policy = options.stop_policy;
    // A profile key this system does not have is a load error, with the reason.
    config.check_keys_exist = true;
    if (options.metrics_enabled() && options.metrics_top_k > 0) {
        // The metrics show the worst listeners and destinations, the dead-peer
        // evidence and the counter rates whatever the profile's rules need.
        config.extra_signals.listeners = true;
        config.extra_signals.destinations = true;
        config.extra_signals.dead_peers = true;
        config.extra_signals.rates = true;
        config.extra_signals.top_k = options.metrics_top_k;
    }
    return config;
}

ControllerConfig host_controller_config(const DaemonOptions& options) {
    ControllerConfig config = controller_config(options);
    if (auto selected = host_selector_profile(options.namespaces)) {
        if (*selected == kNoProfile) {
            config.mode = ApplyMode::kAdvise;
        } else {
            config.profile = *selected;
        }
    }
    return config;
}

NamespaceFleetConfig namespace_fleet_config(const DaemonOptions& options) {
    NamespaceFleetConfig config;
    config.state_dir = options.state_dir;
    config.settings = options.namespaces;
    config.controller = controller_config(options);
    config.limits = options.gate_limits;
    return config;
}

CensusEngineOptions census_engine_options(const DaemonOptions& options) {
    CensusEngineOptions census;
    census.choice = options.census_engine;
    census.reconcile_interval = options.census_reconcile_interval;
    const char* reject = std::getenv("TCPTUNE_TEST_BPF_REJECT");
    census.bpf.force_verifier_reject = reject != nullptr && std::string_view(reject) == "1";
    return census;
}

}  // namespace tcptune::daemon
