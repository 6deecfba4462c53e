#include "tcptune/netns/cgroup_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace tcptune {

namespace {

constexpr std::size_t kShortIdLength = 12;  // as `docker ps` shows container ids

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find(separator, pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        if (end > pos) {
            parts.push_back(text.substr(pos, end - pos));
        }
        pos = end + 1;
    }
    return parts;
}

bool is_hex_id(std::string_view s) {
    return s.size() >= kShortIdLength && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

// "prefix<id>suffix" -> id, when the middle is a container id.
std::optional<std::string_view> strip(std::string_view s, std::string_view prefix,
                                      std::string_view suffix) {
    if (!s.starts_with(prefix) || !s.ends_with(suffix) ||
        s.size() <= prefix.size() + suffix.size()) {
        return std::nullopt;
    }
    return s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
}

std::string short_id(std::string_view kind, std::string_view id) {
    return std::string(kind) + ":" + std::string(id.substr(0, kShortIdLength));
}

// systemd escapes '-' in unit names as "\x2d" (and the Kubernetes systemd driver
// writes a pod uid's dashes as underscores).
std::string systemd_unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0 &&
            std::isxdigit(static_cast<unsigned char>(s[i + 3])) != 0) {
            out.push_back(
                static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16)));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

bool is_pod_uid(std::string_view s) {
    return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
           });
}

// "kubepods-burstable-pod<uid>.slice" (systemd driver) or "pod<uid>" (cgroupfs).
std::optional<std::string> pod_uid(std::string_view component) {
    std::string_view s = component;
    if (s.ends_with(".slice")) {
        s.remove_suffix(6);
        const auto at = s.rfind("-pod");
        if (!s.starts_with("kubepods") || at == std::string_view::npos) {
            return std::nullopt;
        }
        s = s.substr(at + 4);
    } else if (s.starts_with("pod")) {
        s = s.substr(3);
    } else {
        return std::nullopt;
    }
    if (!is_pod_uid(s)) {
        return std::nullopt;
    }
    std::string uid(s);
    std::replace(uid.begin(), uid.end(), '_', '-');
    return uid;
}

struct ScopeLayout {
    std::string_view prefix;
    std::string_view kind;
};
// Longer prefixes first: "crio-conmon-" before "crio-".
constexpr std::array<ScopeLayout, 5> kScopeLayouts = {{
    {"cri-containerd-", "containerd"},
    {"crio-conmon-", "crio"},
    {"crio-", "crio"},
    {"docker-", "docker"},
    {"libpod-", "podman"},
}};

}  // namespace

std::string cgroup_path_from_proc(std::string_view proc_pid_cgroup) {
    std::string first_v1;
    for (std::string_view line : split(proc_pid_cgroup, '\n')) {
        // "hierarchy-id:controllers:path"; the path may itself contain ':'.
        const auto first = line.find(':');
        const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos) {
            continue;
        }
        const std::string_view path = line.substr(second + 1);
        if (path.empty() || path == "/") {
            continue;
        }
        if (line.substr(0, second + 1) == "0::") {
            return std::string(path);
        }
        if (first_v1.empty()) {
            first_v1 = std::string(path);
        }
    }
    return first_v1;
}

std::optional<std::string> workload_name_from_cgroup(std::string_view cgroup_path) {
    const auto parts = split(cgroup_path, '/');
    for (std::string_view part : parts) {
        if (auto uid = pod_uid(part)) {
            return "pod:" + *uid;
        }
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string_view part = parts[i];
        for (const auto& layout : kScopeLayouts) {
            if (auto id = strip(part, layout.prefix, ".scope"); id && is_hex_id(*id)) {
                return short_id(layout.kind, *id);
            }
        }
        if (i > 0 && parts[i - 1] == "docker" && is_hex_id(part)) {
            return short_id("docker", part);
        }
        if (auto name = strip(part, "systemd-nspawn@", ".service")) {
            return "machine:" + systemd_unescape(*name);
        }
        if (auto name = strip(part, "machine-", ".scope")) {
            return "machine:" + systemd_unescape(*name);
        }
    }
    return std::nullopt;
}

}  // namespace tcptune
