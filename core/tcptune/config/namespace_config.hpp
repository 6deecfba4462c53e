#pragma once

// The `namespaces:` section of tcptune.yaml: which network namespaces the daemon
// watches and which profile each one gets. Pure: parsed from YAML text, and the
// selection is a function of the settings and one discovered namespace.
//
//   namespaces:
//     watch: all                # host (default): only tcptuned's own namespace
//     metrics_top_k: 50         # namespaces exported by name; the rest sum to "_other"
//     default_profile: none     # for namespaces no selector matches; none = watch only
//     select:                   # first match wins
//       - name: "edge-*"        # glob over the namespace's name (ip netns, pod:, docker:...)
//         profile: web-frontend
//       - cgroup: "*kubepods*"  # glob over the cgroup path of a process in it
//         profile: reverse-proxy

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/result.hpp"

namespace YAML {
class Node;
}

namespace tcptune {

enum class NetnsWatch { kHost, kAll };
std::string_view to_string(NetnsWatch watch);
Result<NetnsWatch> parse_netns_watch(std::string_view text);  // "host" | "all"

// "none" as a profile: watch the namespace, never write to it.
inline constexpr std::string_view kNoProfile = "none";

struct NamespaceSelector {
    enum class Field { kName, kCgroup };
    Field field = Field::kName;
    std::string glob;
    std::string profile;  // a profile NAME or PATH, or "none"
    bool operator==(const NamespaceSelector&) const = default;
};

// namespaces.metrics_top_k: the other namespaces (busiest first) whose series carry
// their own netns label under watch: all; the rest are summed under netns="_other".
inline constexpr std::size_t kDefaultNetnsMetricsTopK = 50;
inline constexpr std::size_t kMaxNetnsMetricsTopK = 1000;

struct NamespaceSettings {
    NetnsWatch watch = NetnsWatch::kHost;
    std::size_t metrics_top_k = kDefaultNetnsMetricsTopK;  // 1 .. kMaxNetnsMetricsTopK
    std::string default_profile{kNoProfile};
    std::vector<NamespaceSelector> select;
    bool operator==(const NamespaceSettings&) const = default;
};

// Parses the value of the `namespaces:` key; errors name source:line:col.
Result<NamespaceSettings> parse_namespace_settings(const YAML::Node& node, std::string_view source);

// The profile for `ns`: the first selector whose glob matches (name: the namespace's
// name or its ip netns name; "host" for tcptuned's own; cgroup: the cgroup path of a
// process in it), else default_profile. "none" means watch only.
std::string select_namespace_profile(const NamespaceSettings& settings, const NetnsInfo& ns);

// The profile of the first selector matching `ns`; nullopt when none does.
std::optional<std::string> selector_profile(const NamespaceSettings& settings, const NetnsInfo& ns);

// The profile selected for tcptuned's own namespace under watch: all: the first
// `name:` selector whose glob matches "host". `cgroup:` selectors never select it:
// every host process lives there, so one process's cgroup says nothing about it (and
// "*kubepods*" would otherwise select the node itself from inside a DaemonSet pod).
// nullopt under watch: host or when no selector matches: the daemon's `profile` runs
// there (not default_profile, which is for pods and containers; the node's own tuning
// does not silently stop because a default meant for them says none).
std::optional<std::string> host_selector_profile(const NamespaceSettings& settings);

// Whether `next` can replace `running` at reload: watch: host <-> all cannot (the
// namespace census, its thread and the fleet are set up at start): kRefused, with
// "needs a restart", then.
Result<void> check_namespaces_reload(const NamespaceSettings& running,
                                     const NamespaceSettings& next);

}  // namespace tcptune
