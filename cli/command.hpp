#pragma once

#include <CLI/CLI.hpp>

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

}  // namespace tcptune::cli
