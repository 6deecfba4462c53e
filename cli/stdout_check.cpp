#include "stdout_check.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "command.hpp"

namespace tcptune::cli {

int finish_stdout(int exit_code) {
    std::cout.flush();
    errno = 0;
    const bool flushed = std::fflush(stdout) == 0;
    const int err = errno;
    if (flushed && !std::ferror(stdout) && std::cout.good()) {
        return exit_code;
    }
    std::fprintf(stderr, "tcptune: cannot write the output: %s\n",
                 err != 0 ? std::strerror(err) : "write error");
    return kExitFailure;
}

}  // namespace tcptune::cli
