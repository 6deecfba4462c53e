// tcptune namespaces [--json]: the network namespaces tcptuned watches (D-Bus
// ListNamespaces), each with its inode, profile and a one-line health summary.
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "dbus_client.hpp"
#include "dbus_format.hpp"
#include "table.hpp"

namespace tcptune::cli {

namespace {

// A namespace only watched, never written (tcptune.yaml's `none`).
constexpr const char* kNoProfileWord = "none";

struct NamespacesOptions {
    BusKind bus = BusKind::kSystem;
    bool json = false;
};

std::uint64_t state(const NamespaceRow& row, const char* name) {
    const auto it = row.states.find(name);
    return it == row.states.end() ? 0 : it->second;
}

// The states that pile up when something is wrong, said in one line.
std::string health(const NamespaceRow& row) {
    std::uint64_t total = 0;
    for (const auto& [name, n] : row.states) {
        total += n;
    }
    std::string out = fmt::format("{} sockets", total);
    for (const char* watched : {"time_wait", "close_wait", "syn_recv"}) {
        if (const auto n = state(row, watched); n > 0) {
            out += fmt::format(", {} {}", n, watched);
        }
    }
    return out;
}

// "refused" with the selected profile and why, for a namespace whose profile could
// not be put in force; else the profile in force.
std::string profile_cell(const NamespaceRow& row, const RefusedNamespaceRow* refused) {
    return refused == nullptr ? row.profile
                              : fmt::format("refused: {}: {}", refused->profile, refused->reason);
}

int run_namespaces(const NamespacesOptions& o) {
    try {
        DaemonClient client(o.bus);
        const auto rows = client.namespaces();
        std::map<std::uint64_t, RefusedNamespaceRow> refused;
        for (auto& r : client.refused_namespaces()) {
            refused[r.inode] = std::move(r);
        }
        auto refused_of = [&](const NamespaceRow& row) -> const RefusedNamespaceRow* {
            const auto it = refused.find(row.inode);
            return row.own || it == refused.end() ? nullptr : &it->second;
        };
        return print_json_or_text(
            o.json,
            [&] {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& row : rows) {
                    const RefusedNamespaceRow* r = refused_of(row);
                    out.push_back(
                        {{"name", row.name},
                         {"inode", row.inode},
                         {"own", row.own},
                         {"pid", row.pid == 0 ? nlohmann::json(nullptr) : nlohmann::json(row.pid)},
                         {"profile", row.profile},
                         {"state", r != nullptr                    ? "refused"
                                   : row.profile == kNoProfileWord ? "watched"
                                                                   : "managed"},
                         {"refused_profile", r != nullptr ? nlohmann::json(r->profile) : nullptr},
                         {"reason", r != nullptr ? nlohmann::json(r->reason) : nullptr},
                         {"states", row.states},
                         {"health", health(row)}});
                }
                return nlohmann::json{{"namespaces", out}};
            },
            [&] {
                Table table({{"NAMESPACE", Align::kLeft},
                             {"INODE", Align::kRight},
                             {"PROFILE", Align::kLeft},
                             {"HEALTH", Align::kLeft}});
                for (const auto& row : rows) {
                    table.add_row({row.name, std::to_string(row.inode),
                                   profile_cell(row, refused_of(row)), health(row)});
                }
                return table.render(colour_enabled(STDOUT_FILENO));
            });
    } catch (const DaemonError& e) {
        return report_daemon_error("namespaces", e);
    }
}

}  // namespace

void register_namespaces_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, options] =
        add_json_command<NamespacesOptions>(app, ctx, verb_help::kNamespaces, run_namespaces);
    add_bus_option(*cmd, options->bus);
}

}  // namespace tcptune::cli
