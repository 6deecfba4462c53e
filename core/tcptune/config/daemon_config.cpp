#include "tcptune/config/daemon_config.hpp"

#include "tcptune/metrics/metrics_endpoint.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "tcptune/config/config_error.hpp"
#include "tcptune/config/whole_number.hpp"
#include "tcptune/duration.hpp"
#include "tcptune/enum_names.hpp"
#include "tcptune/read_file.hpp"

namespace tcptune {

namespace {

constexpr EnumNames<BusKind, 3> kBusNames = {
    {{BusKind::kSystem, "system"}, {BusKind::kSession, "session"}, {BusKind::kNone, "none"}}};
static_assert(lists_every_value(kBusNames));

constexpr EnumNames<LogLevel, 7> kLevelNames = {{
    {LogLevel::kTrace, "trace"},
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarning, "warning"},
    {LogLevel::kError, "error"},
    {LogLevel::kCritical, "critical"},
    {LogLevel::kOff, "off"},
}};
static_assert(lists_every_value(kLevelNames));

}  // namespace

std::string_view to_string(BusKind bus) {
    return name_of(kBusNames, bus);
}

Result<BusKind> parse_bus_kind(std::string_view text) {
    return parse_enum(kBusNames, text, "bus");
}

std::string_view to_string(LogLevel level) {
    return name_of(kLevelNames, level);
}

Result<LogLevel> parse_log_level(std::string_view text) {
    return parse_enum(kLevelNames, text == "warn" ? "warning" : text, "log level");
}

Result<std::chrono::milliseconds> parse_interval(std::string_view text) {
    std::chrono::milliseconds value{0};
    double seconds = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
    if (!text.empty() && ec == std::errc() && ptr == end) {
        if (!std::isfinite(seconds) || seconds < 0) {
            return make_error(ErrorCode::kParse,
                              "interval \"" + std::string(text) + "\" is not a positive number");
        }
        value = std::chrono::milliseconds(std::llround(seconds * 1000.0));
    } else {
        auto parsed = parse_duration(text);
        if (!parsed) {
            return make_error(ErrorCode::kParse,
                              "interval \"" + std::string(text) +
                                  "\" is neither seconds (5, 0.25) nor a duration (250ms, 1m)");
        }
        value = *parsed;
    }
    if (value < kMinPollInterval || value > kMaxPollInterval) {
        return make_error(ErrorCode::kParse,
                          "interval \"" + std::string(text) + "\" is outside 1ms .. 1h");
    }
    return value;
}

Result<std::string> parse_metrics_address(std::string_view text) {
    // One parser for the shape: the exporter's own, which is strict because
    // the HTTP server binds only numeric addresses. Checking here as well turns a host
    // name or a malformed value into a config error at start (with file:line)
    // instead of a bind failure later.
    std::optional<MetricsEndpoint> endpoint;
    TRY_ASSIGN(endpoint, parse_metrics_endpoint(text));
    if (endpoint && endpoint->port == 0) {
        return make_error(ErrorCode::kParse, "metrics address \"" + std::string(text) +
                                                 "\" has no valid port (1-65535)");
    }
    return std::string(text);
}

Result<std::chrono::milliseconds> parse_reconcile_interval(std::string_view text) {
    std::chrono::milliseconds parsed{};
    TRY_ASSIGN(parsed, parse_duration(text));
    if (parsed < kMinReconcileInterval || parsed > kMaxReconcileInterval) {
        return make_error(ErrorCode::kParse, "census_reconcile_interval \"" + std::string(text) +
                                                 "\" is outside 10s .. 24h");
    }
    return parsed;
}

namespace {

constexpr std::array<std::string_view, 14> kConfigKeys = {
    "profile",         "profile_dirs",  "state_dir",     "interval",
    "metrics_address", "bus",           "advise",        "log_level",
    "stop_policy",     "metrics_top_k", "census_engine", "census_reconcile_interval",
    "safety",          "namespaces"};
constexpr std::array<std::string_view, 2> kSafetyKeys = {"key_cooldown", "max_changes_per_minute"};

template <std::size_t N>
std::string word_list(const std::array<std::string_view, N>& words) {
    std::string list;
    for (auto w : words) {
        list += (list.empty() ? "" : ", ") + std::string(w);
    }
    return list;
}

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& words, std::string_view word) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

Result<std::string> scalar(std::string_view source, std::string_view key, const YAML::Node& node) {
    if (!node.IsScalar()) {
        return config_error(source, node, std::string(key) + " must be a single value");
    }
    return node.Scalar();
}

// A parse function's error, re-located at the node that held the text.
template <typename T>
Result<T> located(std::string_view source, const YAML::Node& node, Result<T> parsed) {
    if (!parsed) {
        return config_error(source, node, parsed.error().message);
    }
    return parsed;
}

// A command-line flag wins over the file and the default when it was given.
template <typename Setting, typename Flag>
void override_with(Setting& setting, const std::optional<Flag>& flag) {
    if (flag) {
        setting = *flag;
    }
}

// "60", "90s", "5m": whole seconds within [kMinKeyCooldown, kMaxKeyCooldown].
Result<std::chrono::seconds> parse_key_cooldown(std::string_view text) {
    const auto bad = [&] {
        return make_error(
            ErrorCode::kParse,
            fmt::format("key_cooldown \"{}\" must be whole seconds from {}s to {}h "
                        "(60, 90s, 5m)",
                        text, kMinKeyCooldown.count(), kMaxKeyCooldown.count() / 3600));
    };
    std::chrono::milliseconds value{0};
    unsigned long long seconds = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
    if (!text.empty() && ec == std::errc() && ptr == end) {
        if (seconds > static_cast<unsigned long long>(kMaxKeyCooldown.count())) {
            return bad();
        }
        value = std::chrono::seconds(seconds);
    } else {
        auto parsed = parse_duration(text);
        if (!parsed) {
            return bad();
        }
        value = *parsed;
    }
    if (value % std::chrono::seconds(1) != std::chrono::milliseconds(0) ||
        value < kMinKeyCooldown || value > kMaxKeyCooldown) {
        return bad();
    }
    return std::chrono::duration_cast<std::chrono::seconds>(value);
}

// 1..kMaxChangesPerMinuteLimit.
Result<unsigned> parse_max_changes_per_minute(std::string_view text) {
    unsigned n = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, n);
    if (text.empty() || ec != std::errc{} || ptr != end || n < 1 || n > kMaxChangesPerMinuteLimit) {
        return make_error(ErrorCode::kParse,
                          fmt::format("max_changes_per_minute \"{}\" must be a whole number 1..{}",
                                      text, kMaxChangesPerMinuteLimit));
    }
    return n;
}

// The `safety:` mapping onto `limits` (fields it does not name keep their value).
Result<GateLimits> parse_safety(std::string_view source, const YAML::Node& node,
                                GateLimits limits) {
    if (node.IsNull()) {
        return limits;
    }
    if (!node.IsMap()) {
        return config_error(source, node, "safety must be a mapping of " + word_list(kSafetyKeys));
    }
    for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        if (!one_of(kSafetyKeys, key)) {
            return config_error(
                source, item.first,
                "unknown setting \"safety." + key + "\" (known: " + word_list(kSafetyKeys) + ")");
        }
        std::string text;
        TRY_ASSIGN(text, scalar(source, "safety." + key, item.second));
        if (key == "key_cooldown") {
            TRY_ASSIGN(limits.key_cooldown, located(source, item.second, parse_key_cooldown(text)));
        } else {
            TRY_ASSIGN(limits.max_changes_per_minute,
                       located(source, item.second, parse_max_changes_per_minute(text)));
        }
    }
    return limits;
}

}  // namespace

Result<DaemonOptions> parse_daemon_config(std::string_view yaml_text, std::string_view source,
                                          DaemonOptions base) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        return make_error(ErrorCode::kParse, config_position(source, e.mark) + e.msg);
    }
    if (root.IsNull()) {
        return base;  // an empty (or all-comment) file changes nothing
    }
    if (!root.IsMap()) {
        return config_error(source, root, "the config file must be a mapping of settings");
    }
    DaemonOptions out = std::move(base);
    for (const auto& item : root) {
        const std::string key = item.first.Scalar();
        const YAML::Node& value = item.second;
        if (!one_of(kConfigKeys, key)) {
            return config_error(
                source, item.first,
                "unknown setting \"" + key + "\" (known: " + word_list(kConfigKeys) + ")");
        }
        if (key == "safety") {
            TRY_ASSIGN(out.gate_limits, parse_safety(source, value, out.gate_limits));
            continue;
        }
        if (key == "profile_dirs") {
            if (!value.IsSequence()) {
                return config_error(source, value, "profile_dirs must be a list of directories");
            }
            ProfileDirs dirs;
            for (const auto& dir : value) {
                std::string path;
                TRY_ASSIGN(path, scalar(source, key, dir));
                dirs.emplace_back(std::move(path));
            }
            out.profile_dirs = std::move(dirs);
            continue;
        }
        if (key == "namespaces") {
            TRY_ASSIGN(out.namespaces, parse_namespace_settings(value, source));
            continue;
        }
        std::string text;
        TRY_ASSIGN(text, scalar(source, key, value));
        if (key == "profile") {
            if (text.empty()) {
                return config_error(source, value, "profile must not be empty");
            }
            out.profile = text;
        } else if (key == "state_dir") {
            if (text.empty()) {
                return config_error(source, value, "state_dir must not be empty");
            }
            out.state_dir = text;
        } else if (key == "interval") {
            TRY_ASSIGN(out.interval, located(source, value, parse_interval(text)));
        } else if (key == "metrics_address") {
            TRY_ASSIGN(out.metrics_address, located(source, value, parse_metrics_address(text)));
        } else if (key == "bus") {
            TRY_ASSIGN(out.bus, located(source, value, parse_bus_kind(text)));
        } else if (key == "advise") {
            if (text != "true" && text != "false") {
                return config_error(source, value, "advise must be true or false");
            }
            out.advise = text == "true";
        } else if (key == "log_level") {
            TRY_ASSIGN(out.log_level, located(source, value, parse_log_level(text)));
        } else if (key == "metrics_top_k") {
            const auto k = parse_whole_number<std::size_t>(text, 0, kMaxMetricsTopK);
            if (!k) {
                return config_error(source, value,
                                    "metrics_top_k must be a whole number 0.." +
                                        std::to_string(kMaxMetricsTopK) +
                                        " (0: no per-listener "
                                        "or per-destination series)");
            }
            out.metrics_top_k = *k;
        } else if (key == "stop_policy") {
            TRY_ASSIGN(out.stop_policy, located(source, value, parse_stop_policy(text)));
        } else if (key == "census_engine") {
            TRY_ASSIGN(out.census_engine, located(source, value, parse_census_engine(text)));
        } else if (key == "census_reconcile_interval") {
            TRY_ASSIGN(out.census_reconcile_interval,
                       located(source, value, parse_reconcile_interval(text)));
        }
    }
    return out;
}

Result<DaemonOptions> load_daemon_options(const DaemonOverrides& flags) {
    DaemonOptions options;
    options.profile_dirs = default_profile_dirs();
    options.config_file = flags.config_file.value_or(std::filesystem::path(kDefaultConfigFile));

    // `--config /dev/null` is the usual way to say "no config file, defaults and
    // flags only"; every other non-regular file is refused by the bounded reader.
    auto text = options.config_file == "/dev/null"
                    ? Result<std::string>(std::string())
                    : read_file_bounded(options.config_file, {.max_bytes = kMaxConfigFileBytes});
    if (text) {
        // Named first: the options are moved into the call below.
        const std::string source = options.config_file.string();
        TRY_ASSIGN(options, parse_daemon_config(*text, source, std::move(options)));
    } else {
        const bool missing = text.error().code == ErrorCode::kNotFound;
        if (flags.config_file || !missing) {
            return make_error(text.error().code, "config file: " + text.error().message);
        }
        // The default file is optional: a package may not install one.
    }

    override_with(options.profile, flags.profile);
    if (!flags.profile_dirs.empty()) {
        options.profile_dirs = flags.profile_dirs;
    }
    override_with(options.state_dir, flags.state_dir);
    override_with(options.interval, flags.interval);
    override_with(options.metrics_address, flags.metrics_address);
    override_with(options.bus, flags.bus);
    override_with(options.advise, flags.advise);
    override_with(options.log_level, flags.log_level);
    override_with(options.stop_policy, flags.stop_policy);
    override_with(options.census_engine, flags.census_engine);
    return options;
}

}  // namespace tcptune
