#include "support/run_command.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "support/files.hpp"

namespace tcptune::test {

CommandOutput run_command(const std::string& command, RunOptions options) {
    CommandOutput result;
    const std::string line = options.merge_stderr ? command + " 2>&1" : command;
    FILE* pipe = ::popen(line.c_str(), "re");
    if (pipe == nullptr) {
        return result;
    }
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
        result.out.append(buf.data(), n);
    }
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

CommandOutput run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env) {
    char out_name[] = "/tmp/tcptune-out-XXXXXX";
    char err_name[] = "/tmp/tcptune-err-XXXXXX";
    const int out_fd = ::mkstemp(out_name);
    const int err_fd = ::mkstemp(err_name);
    CommandOutput result;
    if (out_fd < 0 || err_fd < 0 || argv.empty()) {
        return result;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        for (const auto& kv : extra_env) {
            ::putenv(const_cast<char*>(kv.c_str()));
        }
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    if (pid > 0) {
        ::waitpid(pid, &status, 0);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    ::close(out_fd);
    ::close(err_fd);
    result.out = read_text(out_name);
    result.err = read_text(err_name);
    ::unlink(out_name);
    ::unlink(err_name);
    return result;
}

std::string describe(const CommandOutput& output) {
    return "exit " + std::to_string(output.exit_code) + "\nstdout:\n" + output.out + "\nstderr:\n" +
           output.err;
}

}  // namespace tcptune::test
