#include "stdout_check.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "command.hpp"
#include "tcptune/result.hpp"

namespace tcptune::cli {

int finish_stdout(int exit_code) {
    std::cout.flush();
    errno = 0;
    const bool flushed = std::fflush(stdout) == 0;
    const int err = errno;
    if (flushed && !std::ferror(stdout) && std::cout.good()) {
        return exit_code;
    }
    const std::string why = err != 0 ? errno_text(err) : "write error";
    std::fprintf(stderr, "tcptune: cannot write the output: %s\n", why.c_str());
    return kExitFailure;
}

}  // namespace tcptune::cli
