#include "tcptune/config/namespace_config.hpp"

#include <fnmatch.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "tcptune/config/config_error.hpp"
#include "tcptune/config/whole_number.hpp"
#include "tcptune/enum_names.hpp"

namespace tcptune {

namespace {

constexpr EnumNames<NetnsWatch, 2> kWatchNames = {
    {{NetnsWatch::kHost, "host"}, {NetnsWatch::kAll, "all"}}};
static_assert(lists_every_value(kWatchNames));

Result<std::string> non_empty_scalar(std::string_view source, const YAML::Node& node,
                                     std::string_view what) {
    if (!node.IsScalar() || node.Scalar().empty()) {
        return config_error(source, node, std::string(what) + " must be a non-empty single value");
    }
    return node.Scalar();
}

Result<NamespaceSelector> parse_selector(std::string_view source, const YAML::Node& node) {
    if (!node.IsMap()) {
        return config_error(
            source, node,
            "each namespaces.select entry is a mapping: {name: GLOB, profile: NAME} or "
            "{cgroup: GLOB, profile: NAME}");
    }
    NamespaceSelector selector;
    int matchers = 0;
    bool has_profile = false;
    for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        if (key == "name" || key == "cgroup") {
            ++matchers;
            selector.field =
                key == "name" ? NamespaceSelector::Field::kName : NamespaceSelector::Field::kCgroup;
            TRY_ASSIGN(selector.glob,
                       non_empty_scalar(source, item.second, "namespaces.select." + key));
        } else if (key == "profile") {
            has_profile = true;
            TRY_ASSIGN(selector.profile,
                       non_empty_scalar(source, item.second, "namespaces.select.profile"));
        } else {
            return config_error(
                source, item.first,
                "unknown key \"" + key +
                    "\" in a namespaces.select entry (known: name, cgroup, profile)");
        }
    }
    if (matchers != 1) {
        return config_error(source, node,
                            "a namespaces.select entry needs exactly one of name: or cgroup:");
    }
    if (!has_profile) {
        return config_error(source, node,
                            "a namespaces.select entry needs profile: (a profile name, or none)");
    }
    return selector;
}

bool glob_matches(const std::string& glob, const std::string& text) {
    return !text.empty() && ::fnmatch(glob.c_str(), text.c_str(), 0) == 0;
}

}  // namespace

std::string_view to_string(NetnsWatch watch) {
    return name_of(kWatchNames, watch);
}

Result<NetnsWatch> parse_netns_watch(std::string_view text) {
    return parse_enum(kWatchNames, text, "namespaces.watch");
}

Result<NamespaceSettings> parse_namespace_settings(const YAML::Node& node,
                                                   std::string_view source) {
    if (!node.IsMap()) {
        return config_error(
            source, node,
            "namespaces must be a mapping (watch, metrics_top_k, default_profile, select)");
    }
    NamespaceSettings out;
    for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        const YAML::Node& value = item.second;
        if (key == "watch") {
            std::string text;
            TRY_ASSIGN(text, non_empty_scalar(source, value, "namespaces.watch"));
            auto watch = parse_netns_watch(text);
            if (!watch) {
                return config_error(source, value, watch.error().message);
            }
            out.watch = *watch;
        } else if (key == "metrics_top_k") {
            std::string text;
            TRY_ASSIGN(text, non_empty_scalar(source, value, "namespaces.metrics_top_k"));
            const auto k = parse_whole_number<std::size_t>(text, 1, kMaxNetnsMetricsTopK);
            if (!k) {
                return config_error(source, value,
                                    "namespaces.metrics_top_k must be a whole number 1.." +
                                        std::to_string(kMaxNetnsMetricsTopK) +
                                        " (namespaces exported by name; the rest are summed "
                                        "under netns=\"_other\")");
            }
            out.metrics_top_k = *k;
        } else if (key == "default_profile") {
            TRY_ASSIGN(out.default_profile,
                       non_empty_scalar(source, value, "namespaces.default_profile"));
        } else if (key == "select") {
            if (!value.IsSequence()) {
                return config_error(source, value, "namespaces.select must be a list");
            }
            for (const auto& entry : value) {
                NamespaceSelector selector;
                TRY_ASSIGN(selector, parse_selector(source, entry));
                out.select.push_back(std::move(selector));
            }
        } else {
            return config_error(source, item.first,
                                "unknown setting \"namespaces." + key +
                                    "\" (known: watch, metrics_top_k, default_profile, select)");
        }
    }
    return out;
}

std::optional<std::string> selector_profile(const NamespaceSettings& settings,
                                            const NetnsInfo& ns) {
    for (const auto& selector : settings.select) {
        const bool match = selector.field == NamespaceSelector::Field::kName
                               ? glob_matches(selector.glob, ns.name) ||
                                     glob_matches(selector.glob, ns.ip_netns_name)
                               : glob_matches(selector.glob, ns.cgroup);
        if (match) {
            return selector.profile;
        }
    }
    return std::nullopt;
}

std::string select_namespace_profile(const NamespaceSettings& settings, const NetnsInfo& ns) {
    return selector_profile(settings, ns).value_or(settings.default_profile);
}

std::optional<std::string> host_selector_profile(const NamespaceSettings& settings) {
    if (settings.watch != NetnsWatch::kAll) {
        return std::nullopt;
    }
    for (const auto& selector : settings.select) {
        if (selector.field == NamespaceSelector::Field::kName &&
            glob_matches(selector.glob, std::string(kOwnNetnsName))) {
            return selector.profile;
        }
    }
    return std::nullopt;
}

Result<void> check_namespaces_reload(const NamespaceSettings& running,
                                     const NamespaceSettings& next) {
    if (running.watch != next.watch) {
        return make_error(ErrorCode::kRefused,
                          fmt::format("namespaces.watch changed from {} to {}: needs a restart "
                                      "(nothing was reloaded)",
                                      to_string(running.watch), to_string(next.watch)));
    }
    return {};
}

}  // namespace tcptune
