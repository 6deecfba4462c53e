#pragma once

// Loopback connection churn: a forked child opens and closes TCP connections as
// fast as it can (thousands per second), through every closing path (client
// first, server first, reset, half-close), keeping a ring of connections open,
// until it is stopped. For the census engine's tests and benchmarks: state
// changes while something counts. Run it only inside a private namespace.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::test {

struct ChurnOptions {
    std::string address = "127.0.0.3";  // the listener; clients use 127.0.0.1
    std::uint16_t port = 31000;
    std::size_t keep_open = 64;  // connections open at once (ring)
    bool close_only = false;     // connect + close at once, no ring (the overhead loop)
    int only_path = -1;          // 0..3: use one closing path only (-1: all in turn)
};

class ConnectionChurn {
  public:
    // Returns once the child listens and has started churning.
    static Result<std::unique_ptr<ConnectionChurn>> start(ChurnOptions options = {});
    ConnectionChurn(const ConnectionChurn&) = delete;
    ConnectionChurn& operator=(const ConnectionChurn&) = delete;

    // Stops the child, which closes what it holds. Returns the connections it made.
    Result<std::uint64_t> stop();

  private:
    ConnectionChurn(pid_t pid, int result_fd) : child_(pid), result_fd_(result_fd) {}
    ChildProcess child_;
    UniqueFd result_fd_;  // the child writes how many connections it made here on SIGTERM
};

}  // namespace tcptune::test
