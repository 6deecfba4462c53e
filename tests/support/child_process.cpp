#include "support/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace tcptune::test {

ChildProcess::~ChildProcess() {
    if (running()) {
        signal(SIGKILL);
        reap();
    }
}

void ChildProcess::signal(int sig) const {
    if (running()) {
        ::kill(pid_, sig);
    }
}

int ChildProcess::reap() {
    int status = 0;
    if (running()) {
        ::waitpid(std::exchange(pid_, -1), &status, 0);
    }
    return status;
}

}  // namespace tcptune::test
