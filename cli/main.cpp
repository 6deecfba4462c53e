// tcptune: the operator's command line. Verbs are registered by their own files.
#include <iostream>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "stdout_check.hpp"
#include "tcptune/version.hpp"

int main(int argc, char** argv) {
    using namespace tcptune::cli;
    CLI::App app{
        "tcptune - inspect TCP socket states and drive the tcptuned daemon.\n"
        "Example: tcptune census --json",
        "tcptune"};
    app.set_version_flag("--version", std::string("tcptune ") + tcptune::kVersion);
    app.require_subcommand(1);
    app.fallthrough(false);

    CommandContext ctx;
    register_census_command(app, ctx);
    register_export_command(app, ctx);
    register_profile_commands(app, ctx);
    register_explain_command(app, ctx);
    register_top_command(app, ctx);
    register_status_command(app, ctx);
    register_control_commands(app, ctx);
    register_watch_command(app, ctx);
    register_namespaces_command(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return finish_stdout(app.exit(e));
    } catch (const CLI::CallForAllHelp& e) {
        return finish_stdout(app.exit(e));
    } catch (const CLI::CallForVersion& e) {
        return finish_stdout(app.exit(e));
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "tcptune: " << e.what() << "\n";
        return kExitFailure;
    }
    // Output that did not reach its file is a failure, whatever the verb did.
    return finish_stdout(ctx.exit_code);
}
