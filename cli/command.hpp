#pragma once

#include <CLI/CLI.hpp>

namespace tcptune::cli {

// Exit codes are a contract (design.md §4, tcptune(1)).
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

}  // namespace tcptune::cli
