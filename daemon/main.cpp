// tcptuned: not yet wired (see issue "The daemon tcptuned and its systemd service").
#include <CLI/CLI.hpp>

#include "tcptune/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"tcptuned - TCP tuning and diagnostics daemon", "tcptuned"};
    app.set_version_flag("--version", std::string("tcptuned ") + tcptune::kVersion);
    CLI11_PARSE(app, argc, argv);
    return 1;
}
