#pragma once

// The one way tests run another program and collect what it printed: a shell
// command line (run_command) or an argv without a shell (run_process).

#include <string>
#include <vector>

namespace tcptune::test {

struct CommandOutput {
    int exit_code = -1;  // see each runner for what a signal or a failed start gives
    std::string out;     // everything it wrote to stdout (and stderr, when merged)
    std::string err;     // stderr, when captured on its own
};

struct RunOptions {
    // Append " 2>&1": stderr lands in `out`, interleaved as the program wrote it.
    bool merge_stderr = false;
};

// Runs a shell command line (popen) and collects its stdout. exit_code is -1 when
// the command could not be started or was killed by a signal.
CommandOutput run_command(const std::string& command, RunOptions options = {});

// Runs argv to completion (stdin /dev/null, PATH searched) with `extra_env`
// ("NAME=value" each) added, capturing stdout and stderr separately through temp
// files (no pipe deadlock on large output). exit_code is 128+signal when killed,
// 127 when argv[0] could not be executed.
CommandOutput run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {});

// "exit N", stdout and stderr, for failure messages.
std::string describe(const CommandOutput& output);

}  // namespace tcptune::test
