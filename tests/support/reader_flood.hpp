#pragma once

// A hostile local user: a child process that drops to nobody, connects to a
// bus, and keeps `in_flight` read calls to net.tcptune.Manager1 outstanding on
// one connection for as long as it lives, sending a new call for every answer
// (error answers included). What issue #16 used to stall the daemon.

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::test {

struct ReaderCall {
    std::string method;  // "GetTop", "ListProfiles", ...
    // GetTop's (state, by, limit); ignored by methods without arguments.
    std::string state = "time_wait";
    std::string by = "port";
    unsigned limit = 10;
};

class ReaderFlood {
  public:
    // Forks the flooding child (as nobody:nogroup) on the bus at `address`.
    // The calls are cycled through in order.
    static Result<ReaderFlood> start(const std::string& address, std::vector<ReaderCall> calls,
                                     int in_flight);
    ReaderFlood(ReaderFlood&& other) noexcept = default;
    ReaderFlood& operator=(ReaderFlood&&) = delete;
    ReaderFlood(const ReaderFlood&) = delete;
    ~ReaderFlood() = default;  // SIGKILLs and reaps the child (ChildProcess)

    // Stops the child; returns how many answers it received (its exit report).
    long stop();
    pid_t pid() const { return child_.pid(); }

  private:
    ReaderFlood(pid_t pid, int report_fd) : child_(pid), report_fd_(report_fd) {}
    ChildProcess child_;
    UniqueFd report_fd_;  // the child writes its answer count here on SIGTERM
};

}  // namespace tcptune::test
