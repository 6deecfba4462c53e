#pragma once

#include <string>

namespace tcptune::test {

struct CommandOutput {
    int exit_code = -1;  // -1 when the command could not be started or was killed
    std::string out;     // everything it wrote to stdout
};

// Runs a shell command (popen) and collects its stdout and exit code, for tests
// that drive the real CLI the way an operator would.
CommandOutput run_command(const std::string& command);

}  // namespace tcptune::test
