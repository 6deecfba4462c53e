#pragma once

// tcptuned's settings: built-in defaults, overridden by the config file
// (/etc/tcptune/tcptune.yaml), overridden by command-line flags. Pure parsing
// lives here so it is unit-tested without a daemon; the daemon adds CLI11 on top
// (daemon/daemon_options.hpp).

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/apply/applier.hpp"
#include "tcptune/census/census_engine.hpp"
#include "tcptune/config/namespace_config.hpp"
#include "tcptune/profile/profile_resolver.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

inline constexpr std::string_view kDefaultConfigFile = "/etc/tcptune/tcptune.yaml";
inline constexpr std::string_view kDefaultStateDir = "/var/lib/tcptune";
inline constexpr std::string_view kDefaultMetricsAddress = "127.0.0.1:9477";
// The soak test polls every millisecond; anything faster is a typo.
inline constexpr std::chrono::milliseconds kMinPollInterval{1};
inline constexpr std::chrono::milliseconds kMaxPollInterval{3600 * 1000};
// census_reconcile_interval: a full dump more often than every 10 s would
// defeat the bpf engine; less often than daily lets drift pile up unseen.
inline constexpr std::chrono::milliseconds kMinReconcileInterval{10 * 1000};
inline constexpr std::chrono::milliseconds kMaxReconcileInterval{24 * 3600 * 1000};
// Listeners and destinations exported as metric series (bounded cardinality).
inline constexpr std::size_t kDefaultMetricsTopK = 10;
inline constexpr std::size_t kMaxMetricsTopK = 100;
// Bounds of the safety gate's limits in the config file's `safety:` section. A
// cooldown of at least a second keeps a key from being rewritten on every fast
// poll; a day is far beyond any sensible one. The rate limit can be tightened to
// one write a minute, and not loosened beyond what no real rule set needs.
inline constexpr std::chrono::seconds kMinKeyCooldown{1};
inline constexpr std::chrono::seconds kMaxKeyCooldown{24 * 3600};
inline constexpr unsigned kMaxChangesPerMinuteLimit = 1000;

// Which bus the D-Bus service connects to. The system bus honours
// DBUS_SYSTEM_BUS_ADDRESS (sd-bus does that for us).
enum class BusKind { kSystem, kSession, kNone };
std::string_view to_string(BusKind bus);
Result<BusKind> parse_bus_kind(std::string_view text);  // "system" | "session" | "none"

enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError, kCritical, kOff };
std::string_view to_string(LogLevel level);
// trace, debug, info, warning (or warn), error, critical, off
Result<LogLevel> parse_log_level(std::string_view text);

// Everything the daemon runs with, after defaults, file and flags were merged.
struct DaemonOptions {
    std::filesystem::path config_file{kDefaultConfigFile};
    std::string profile = "default";  // NAME (looked up in profile_dirs) or PATH
    ProfileDirs profile_dirs;         // default_profile_dirs() unless configured
    std::filesystem::path state_dir{kDefaultStateDir};
    std::optional<std::chrono::milliseconds> interval;    // unset: the profile's interval
    std::string metrics_address{kDefaultMetricsAddress};  // HOST:PORT, or "none"
    BusKind bus = BusKind::kSystem;
    bool advise = false;
    LogLevel log_level = LogLevel::kInfo;
    StopPolicy stop_policy = StopPolicy::kKeep;
    CensusEngineChoice census_engine = CensusEngineChoice::kAuto;
    std::chrono::milliseconds census_reconcile_interval = kDefaultReconcileInterval;
    // Worst listeners / destinations exported as metric series; 0: none.
    std::size_t metrics_top_k = kDefaultMetricsTopK;
    // The safety gate's per-key cooldown and rate limit (config file only).
    GateLimits gate_limits{};
    // Which network namespaces are watched, and their profiles (namespace_config.hpp).
    NamespaceSettings namespaces;

    bool metrics_enabled() const { return metrics_address != "none"; }
    bool operator==(const DaemonOptions&) const = default;
};

// What the command line said, field by field; unset fields fall through to the
// config file, then to the defaults. Kept after start-up so a reload re-reads the
// file and re-applies the same flags (flags keep winning).
struct DaemonOverrides {
    std::optional<std::filesystem::path> config_file;  // set: the file must exist
    std::optional<std::string> profile;
    std::vector<std::filesystem::path> profile_dirs;  // repeatable; non-empty wins
    std::optional<std::filesystem::path> state_dir;
    std::optional<std::chrono::milliseconds> interval;
    std::optional<std::string> metrics_address;
    std::optional<BusKind> bus;
    std::optional<bool> advise;
    std::optional<LogLevel> log_level;
    std::optional<StopPolicy> stop_policy;
    std::optional<CensusEngineChoice> census_engine;
};

// "5" or "0.25" (seconds, as --interval documents) or a duration ("250ms", "1m").
// Must lie within [kMinPollInterval, kMaxPollInterval].
Result<std::chrono::milliseconds> parse_interval(std::string_view text);

// A duration ("5m", "90s") within [kMinReconcileInterval, kMaxReconcileInterval].
Result<std::chrono::milliseconds> parse_reconcile_interval(std::string_view text);

// "HOST:PORT", "[v6]:PORT" or "none".
Result<std::string> parse_metrics_address(std::string_view text);

// Parses the config file's YAML onto `base` (fields the file does not name keep
// their value). Unknown keys, wrong types and bad values are kParse errors that
// name source:line:col.
Result<DaemonOptions> parse_daemon_config(std::string_view yaml_text, std::string_view source,
                                          DaemonOptions base = {});

// Defaults <- file <- flags. A missing default config file is fine (defaults
// apply); a missing file that was named with --config is an error (kNotFound).
Result<DaemonOptions> load_daemon_options(const DaemonOverrides& flags);

}  // namespace tcptune
