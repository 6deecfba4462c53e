// tcptune status [--json]: the daemon's view (profile, mode, counts, rules,
// managed sysctls, recent changes) over D-Bus. When the daemon is not running it
// falls back to a local read-only view (a census of this namespace and the
// configured profile's sysctls) and says so.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bounded_options.hpp"
#include "command.hpp"
#include "dbus_client.hpp"
#include "dbus_format.hpp"
#include "table.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/config/daemon_config.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune::cli {

namespace {

struct StatusOptions {
    bool json = false;
    BusKind bus = BusKind::kSystem;
    std::uint32_t changes = 10;
    std::string profile;  // for the local view; default: the configured one
    std::string config = "/etc/tcptune/tcptune.yaml";
    std::string netns;  // another namespace's status (NAME or INODE)
};

// What the daemon would run with: its config file read by the daemon's own
// loader (core), else the defaults ("default" in the default directories).
DaemonOptions configured_options(const std::string& config_file) {
    DaemonOverrides flags;
    flags.config_file = config_file;
    auto options = load_daemon_options(flags);
    if (options) {
        return *options;
    }
    DaemonOptions defaults;
    defaults.profile_dirs = default_profile_dirs();
    return defaults;
}

int run_daemon_status(const StatusOptions& o, DaemonClient& client) {
    const DaemonStatus status = client.status();
    const DaemonCounts counts = client.counts();
    const auto rules = client.rules();
    const auto sysctls = client.sysctls();
    const auto changes = client.recent_changes(o.changes);
    return print_json_or_text(
        o.json,
        [&] {
            nlohmann::json out = to_json(status);
            out["source"] = "daemon";
            out["daemon_running"] = true;
            out["counts"] = to_json(counts);
            out["rules"] = to_json(rules);
            out["sysctls"] = to_json(sysctls);
            out["recent_changes"] = to_json(changes);
            return out;
        },
        [&] {
            const bool colour = colour_enabled(STDOUT_FILENO);
            return render_daemon_header(status, colour) + "\n" + render_counts(counts, colour) +
                   "\n" + render_rules(rules, colour) + "\n" + render_sysctls(sysctls, colour) +
                   "\nRecent changes:\n" + render_changes(changes, colour);
        });
}

// Another namespace's status: the daemon's JSON as it is, or a text view of it
// through the same renderers as the daemon's own status.
int run_namespace_status(const StatusOptions& o, DaemonClient& client) {
    const nlohmann::json doc = nlohmann::json::parse(client.namespace_status(o.netns));
    return print_json_or_text(
        o.json, [&] { return doc; },
        [&] {
            const bool colour = colour_enabled(STDOUT_FILENO);
            std::string out = fmt::format(
                "Namespace {} (inode {}): {}, profile {}", doc.at("name").get<std::string>(),
                doc.at("inode").get<std::uint64_t>(), doc.at("state").get<std::string>(),
                doc.at("profile").get<std::string>());
            if (doc.value("selected_profile", "none") != doc.at("profile")) {
                out +=
                    fmt::format(" (selected: {})", doc.at("selected_profile").get<std::string>());
            }
            out += "\n";
            if (doc.contains("reason")) {
                out += "  refused: " + doc.at("reason").get<std::string>() + "\n";
            }
            if (doc.contains("journal")) {
                out += "  journal: " + doc.at("journal").get<std::string>() + "\n";
            }
            if (doc.contains("unavailable_rules") && !doc.at("unavailable_rules").empty()) {
                out +=
                    "  rules that never fire here (socket-table signals and counters are "
                    "computed in tcptuned's own namespace only): " +
                    doc.at("unavailable_rules").dump() + "\n";
            }
            DaemonCounts counts;
            counts.valid = doc.contains("states");
            if (counts.valid) {
                counts.states = doc.at("states").get<std::map<std::string, std::uint64_t>>();
            }
            out += "\n" + render_counts(counts, colour);
            std::vector<SysctlRow> sysctls;
            for (const auto& row : doc.value("sysctls", nlohmann::json::array())) {
                const auto text = [&](const char* field) {
                    return row.at(field).is_string() ? row.at(field).get<std::string>() : "";
                };
                sysctls.push_back(SysctlRow{text("key"), text("current"), text("original"),
                                            text("desired"), text("owner")});
            }
            if (!sysctls.empty()) {
                out += "\n" + render_sysctls(sysctls, colour);
            }
            return out;
        });
}

int run_local_status(const StatusOptions& o, const DaemonError& why) {
    const std::string note =
        std::string("tcptuned is not running (") + why.what() + "); showing a local read-only view";
    const DaemonOptions configured = configured_options(o.config);
    const std::string profile_name = o.profile.empty() ? configured.profile : o.profile;

    DaemonCounts counts;
    std::string census_error;
    auto source = make_netlink_census_source();
    auto snapshot = source ? (*source)->poll() : tl::unexpected(source.error());
    if (snapshot) {
        counts.valid = true;
        for (TcpState state : kAllTcpStates) {
            counts.states[std::string(state_name(state))] = snapshot->counts[state];
        }
        counts.duration_seconds = std::chrono::duration<double>(snapshot->duration).count();
    } else {
        census_error = snapshot.error().message;
    }

    std::vector<SysctlRow> sysctls;
    std::string profile_error;
    auto profile = resolve_profile(profile_name, configured.profile_dirs);
    if (profile) {
        ProcSysctlStore store;
        for (const auto& key : profile->writable_keys()) {
            // The baseline's value is what the daemon would set; a rule's only while it fires.
            std::string desired;
            for (const auto& s : profile->sysctls) {
                if (s.key == key) {
                    desired = s.value;
                    break;
                }
            }
            auto live = store.read(key);
            sysctls.push_back(SysctlRow{key, live ? *live : "", "", desired, "unmanaged"});
        }
    } else {
        profile_error = to_error(profile.error()).message;
    }

    const auto or_null = [](const std::string& text) {
        return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
    };
    return print_json_or_text(
        o.json,
        [&] {
            return nlohmann::json{{"source", "local"},
                                  {"daemon_running", false},
                                  {"note", note},
                                  {"profile", profile_name},
                                  {"profile_error", or_null(profile_error)},
                                  {"counts", to_json(counts)},
                                  {"census_error", or_null(census_error)},
                                  {"sysctls", to_json(sysctls)}};
        },
        [&] {
            const bool colour = colour_enabled(STDOUT_FILENO);
            std::string out = "NOTE: " + note + ".\nConfigured profile: " + profile_name +
                              " (not active: nothing is tuning)\n";
            if (!profile_error.empty()) {
                out += "  profile does not load:\n" + profile_error + "\n";
            }
            out += "\n";
            out += census_error.empty() ? render_counts(counts, colour)
                                        : "census failed: " + census_error + "\n";
            if (!sysctls.empty()) {
                out += "\nSysctls the profile manages (live values):\n" +
                       render_sysctls(sysctls, colour);
            }
            return out;
        });
}

int run_status(const StatusOptions& o) {
    try {
        DaemonClient client(o.bus);
        if (!o.netns.empty()) {
            return run_namespace_status(o, client);
        }
        return run_daemon_status(o, client);
    } catch (const DaemonError& e) {
        if (e.unreachable() && o.netns.empty()) {
            return run_local_status(o, e);
        }
        return report_daemon_error("status", e);
    }
}

}  // namespace

void register_status_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, o] = add_json_command<StatusOptions>(app, ctx, verb_help::kStatus, run_status);
    add_bounded_integer(*cmd, "--changes", o->changes, 0, 1000,
                        "How many recent changes to show (0 = all kept; default 10)");
    cmd->add_option("--profile", o->profile,
                    "Local view only: profile to show when the daemon is down "
                    "(default: the one in the config file, else 'default')");
    cmd->add_option("--config", o->config, "Local view only: daemon config file to read")
        ->capture_default_str();
    cmd->add_option("--netns", o->netns,
                    "Another network namespace's view instead (its name or inode): state, "
                    "profile in force, counts, sysctls with owners; needs the daemon with "
                    "namespaces.watch: all");
    add_bus_option(*cmd, o->bus);
}

}  // namespace tcptune::cli
