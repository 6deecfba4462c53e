#pragma once

// Real traffic for the pressure scenario tests, inside the test's private network
// namespace: listeners with a chosen backlog, a server that reads every
// connection to EOF before closing it (so the client closes first and keeps the
// TIME_WAIT), connection churn at a fixed rate that records when connect() first
// fails, and tools (hping3, nft) run as child processes.

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune::test {

struct Address {
    std::string ip;  // IPv4, e.g. "127.0.0.8"
    std::uint16_t port = 0;
    sockaddr_in to_sockaddr() const;
    std::string text() const { return ip + ":" + std::to_string(port); }
};

// A LISTEN socket with exactly this listen() backlog (the kernel caps it at
// net.core.somaxconn). Never accepts.
Result<int> listen_on(const Address& at, int backlog);

// A child process that listens on every address and reads each accepted
// connection until EOF before closing it. Killed on destruction.
class DrainServer {
  public:
    static Result<DrainServer> start(const std::vector<Address>& addresses);
    DrainServer(DrainServer&& other) noexcept;
    DrainServer& operator=(DrainServer&&) = delete;
    DrainServer(const DrainServer&) = delete;
    ~DrainServer();

  private:
    explicit DrainServer(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
};

// A command (argv, no shell) in its own process group; the group is killed on
// destruction. For hping3 floods.
class BackgroundCommand {
  public:
    static Result<BackgroundCommand> start(const std::vector<std::string>& argv);
    BackgroundCommand(BackgroundCommand&& other) noexcept;
    BackgroundCommand& operator=(BackgroundCommand&&) = delete;
    BackgroundCommand(const BackgroundCommand&) = delete;
    ~BackgroundCommand();
    void stop();

  private:
    explicit BackgroundCommand(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
};

struct ChurnResult {
    std::size_t attempts = 0;
    std::size_t failed = 0;
    std::optional<std::size_t> first_failure;  // index of the first failed connect()
    int first_errno = 0;
};

// `count` connections at `per_second`, round-robin over `destinations`: connect,
// then close at once (the client closes first, so its port stays in TIME_WAIT).
// `after_each(i)` runs after attempt i; returning false stops the churn.
ChurnResult churn_connections(const std::vector<Address>& destinations, std::size_t count,
                              double per_second,
                              const std::function<bool(std::size_t)>& after_each = {});

// `n` non-blocking connect()s to `to`, left open (a burst a listener has to queue);
// the caller closes the descriptors.
std::vector<int> connect_burst(const Address& to, int n);

// Runs `nft -f` on the ruleset text; the error carries nft's output.
Result<void> nft_apply(const std::string& ruleset);

// A TcpExt counter of /proc/net/netstat by its kernel name ("TCPReqQFullDrop").
std::optional<std::uint64_t> netstat_counter(const std::string& name);

}  // namespace tcptune::test
