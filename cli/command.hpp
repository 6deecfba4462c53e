#pragma once

#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tcptune/result.hpp"
#include "verb_help.hpp"

namespace tcptune::cli {

// Exit codes are a contract (docs/man/tcptune.1.scd, EXIT STATUS).
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,
    kExitUsage = 2,
    kExitDaemonUnreachable = 3,
    kExitPermissionDenied = 4,
    kExitRefused = 5,
    kExitInvalidProfile = 6,
};

// What every verb shares: where it records its exit code.
struct CommandContext {
    int exit_code = kExitOk;
};

// Adds the verb `help.name` to `parent`, described by `help` (verb_help.hpp): its
// options live in a shared Options the callback keeps alive, and the callback
// records run(options) in ctx.exit_code. Returns the subcommand and the options,
// to bind flags to.
template <typename Options>
std::pair<CLI::App*, std::shared_ptr<Options>> add_command(CLI::App& parent, CommandContext& ctx,
                                                           const VerbHelp& help,
                                                           int (*run)(const Options&)) {
    auto options = std::make_shared<Options>();
    CLI::App* cmd = parent.add_subcommand(std::string(help.name), std::string(help.description));
    cmd->callback([options, &ctx, run] { ctx.exit_code = run(*options); });
    return {cmd, options};
}

// Adds a verb that prints JSON with --json (every read verb, and the control
// verbs' change records): add_command plus its --json flag, described by
// help.json and bound to Options::json, which the verb hands to print_json_or_text.
template <typename Options>
std::pair<CLI::App*, std::shared_ptr<Options>> add_json_command(CLI::App& parent,
                                                                CommandContext& ctx,
                                                                const VerbHelp& help,
                                                                int (*run)(const Options&)) {
    auto verb = add_command<Options>(parent, ctx, help, run);
    verb.first->add_flag("--json", verb.second->json, std::string(help.json));
    return verb;
}

// What every read verb prints: with --json the document (indented by two, one
// trailing newline), otherwise the text as is. Each is built only if printed.
template <typename MakeJson, typename MakeText>
int print_json_or_text(bool json, MakeJson&& make_json, MakeText&& make_text) {
    if (json) {
        std::cout << nlohmann::json(make_json()).dump(2) << "\n";
    } else {
        std::cout << make_text();
    }
    return kExitOk;
}

// The exit code of a local failure: 2 for a usage error, 4 for a permission, else 1.
inline int exit_code_for(const Error& error) {
    switch (error.code) {
        case ErrorCode::kParse:
            return kExitUsage;
        case ErrorCode::kPermissionDenied:
            return kExitPermissionDenied;
        default:
            return kExitFailure;
    }
}

// Each verb family registers its subcommands on the app; the callback sets ctx.exit_code.
void register_census_command(CLI::App& app, CommandContext& ctx);
void register_export_command(CLI::App& app, CommandContext& ctx);
void register_profile_commands(CLI::App& app, CommandContext& ctx);  // profiles, profile show|check
void register_explain_command(CLI::App& app, CommandContext& ctx);
void register_top_command(CLI::App& app, CommandContext& ctx);  // top [STATE] --by ...

void register_status_command(CLI::App& app, CommandContext& ctx);  // status (D-Bus)
void register_control_commands(CLI::App& app,
                               CommandContext& ctx);              // apply, rollback, reload, resume
void register_watch_command(CLI::App& app, CommandContext& ctx);  // watch (D-Bus)
void register_namespaces_command(CLI::App& app, CommandContext& ctx);  // namespaces (D-Bus)

}  // namespace tcptune::cli
