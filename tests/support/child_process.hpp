#pragma once

// A forked test child that must not outlive its owner: the owner signals and
// reaps it when it is done with it, and the destructor SIGKILLs and reaps one
// that is still running (a failed assertion returns early), so no test leaves
// a zombie or a stray churning process behind.

#include <sys/types.h>

#include <utility>

namespace tcptune::test {

class ChildProcess {
  public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();  // SIGKILLs and reaps a child still running

    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

    // Sends `sig` (without reaping: the child may still have to report).
    void signal(int sig) const;
    // Waits for the child to exit and returns its wait status; it is gone after.
    int reap();

  private:
    pid_t pid_ = -1;
};

}  // namespace tcptune::test
