// The verbs that change what tcptuned does: apply, rollback, reload, resume.
// They need the daemon (exit 3 with how to start it when it is not running)
// and root (the bus policy and the daemon both refuse others: exit 4).
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "dbus_client.hpp"
#include "dbus_format.hpp"
#include "table.hpp"

namespace tcptune::cli {

namespace {

struct ControlOptions {
    BusKind bus = BusKind::kSystem;
    bool json = false;
    bool dry_run = false;
    bool force = false;
    std::string argument;  // PROFILE or KEY
    std::string netns;     // rollback: another namespace (NAME, INODE or all)
};

// Runs a daemon call and turns a DaemonError into its exit code.
template <typename F>
int with_daemon(const std::string& verb, const ControlOptions& o, F&& body) {
    try {
        DaemonClient client(o.bus);
        return body(client);
    } catch (const DaemonError& e) {
        return report_daemon_error(verb, e);
    }
}

int print_changes(const std::vector<ChangeRecord>& changes, const ControlOptions& o,
                  const std::string& summary) {
    print_json_or_text(
        o.json, [&] { return to_json(changes); },
        [&] { return summary + "\n" + render_changes(changes, colour_enabled(STDOUT_FILENO)); });
    return exit_code_for_changes(changes);
}

int run_apply(const ControlOptions& o) {
    return with_daemon("apply", o, [&](DaemonClient& client) {
        const auto changes = client.set_profile(o.argument, o.dry_run);
        const std::string summary =
            o.dry_run ? "Dry run: switching to " + o.argument + " would do this (nothing changed):"
                      : "Switched to profile " + o.argument + ":";
        return print_changes(changes, o, summary);
    });
}

int run_rollback(const ControlOptions& o) {
    return with_daemon("rollback", o, [&](DaemonClient& client) {
        if (!o.netns.empty()) {
            const auto changes = client.rollback_namespace(o.netns, o.force);
            return print_changes(
                changes, o,
                "Rollback in network namespace " + o.netns + " to its journal's original values:");
        }
        const auto changes = client.rollback(o.force);
        return print_changes(changes, o, "Rollback to the journal's original values:");
    });
}

int run_reload(const ControlOptions& o) {
    return with_daemon("reload", o, [&](DaemonClient& client) {
        client.reload();
        const DaemonProperties p = client.properties();
        return print_json_or_text(
            o.json,
            [&] {
                return nlohmann::json{{"profile", p.active_profile},
                                      {"mode", p.mode},
                                      {"interval_seconds", p.interval_seconds}};
            },
            [&] {
                return fmt::format("Reloaded: profile {} ({} mode, every {:g}s)\n",
                                   p.active_profile, p.mode, p.interval_seconds);
            });
    });
}

int run_resume(const ControlOptions& o) {
    return with_daemon("resume", o, [&](DaemonClient& client) {
        const ChangeRecord change = client.resume(o.argument);
        return print_changes({change}, o, "tcptune manages " + o.argument + " again:");
    });
}

// A verb that talks to tcptuned: add_json_command plus --bus.
std::pair<CLI::App*, std::shared_ptr<ControlOptions>> add_verb(CLI::App& app, CommandContext& ctx,
                                                               const std::string& name,
                                                               const std::string& help,
                                                               const std::string& json_help,
                                                               int (*run)(const ControlOptions&)) {
    auto verb = add_json_command<ControlOptions>(app, ctx, {name, help, json_help}, run);
    add_bus_option(*verb.first, verb.second->bus);
    return verb;
}

}  // namespace

void register_control_commands(CLI::App& app, CommandContext& ctx) {
    auto [apply_cmd, apply] =
        add_verb(app, ctx, "apply",
                 "Switch tcptuned to another profile (name or path). Root, or a user "
                 "polkit grants net.tcptune.manage. Prints the sysctl changes it made "
                 "(or, with --dry-run, would make).\n"
                 "Exit codes: 3 daemon not running, 4 not authorized, 5 a change was "
                 "refused by the safety gate, 6 invalid profile.\n"
                 "Example: sudo tcptune apply web-frontend --dry-run",
                 "Print the change records as JSON", run_apply);
    apply_cmd->add_option("PROFILE", apply->argument, "Profile name or path to a .yaml file")
        ->required();
    apply_cmd->add_flag("--dry-run", apply->dry_run, "Show the plan, change nothing");

    auto [rollback_cmd, rollback] =
        add_verb(app, ctx, "rollback",
                 "Restore every sysctl tcptuned changed to its original value from the "
                 "journal, key by key. Root, or polkit net.tcptune.manage. Keys an "
                 "administrator changed since are left alone unless --force.\n"
                 "Example: sudo tcptune rollback",
                 "Print the change records as JSON", run_rollback);
    rollback_cmd->add_flag(
        "--force", rollback->force,
        "Also restore keys an administrator has changed since tcptune wrote them");
    rollback_cmd->add_option("--netns", rollback->netns,
                             "Roll back another managed network namespace instead (its name, "
                             "inode, or all of them); needs namespaces.watch: all");

    add_verb(app, ctx, "reload",
             "Make tcptuned re-read its configuration and the active profile from disk "
             "(like SIGHUP). Root, or polkit net.tcptune.manage. On any error the old "
             "settings stay in force.\n"
             "Example: sudo tcptune reload",
             "Print the resulting profile, mode and interval", run_reload);

    auto [resume_cmd, resume] =
        add_verb(app, ctx, "resume",
                 "Let tcptuned manage a sysctl again after an administrator changed it "
                 "(tcptune stops touching a key someone else changed). Root, or polkit "
                 "net.tcptune.manage.\n"
                 "Example: sudo tcptune resume net.ipv4.tcp_fin_timeout",
                 "Print the change record as JSON", run_resume);
    resume_cmd->add_option("KEY", resume->argument, "The sysctl key, e.g. net.ipv4.tcp_fin_timeout")
        ->required();
}

}  // namespace tcptune::cli
