#pragma once

// Builds exact numbers of real TCP sockets in chosen states on loopback, inside the
// current network namespace (use it only in a private one: see netns.hpp).
//
// How each state is made:
//   LISTEN       listening sockets.
//   ESTABLISHED  connected pairs: the client and the accepted server socket (2 each).
//   CLOSE_WAIT   unaccepted connections in a listen queue whose client half-closes
//                (shutdown(SHUT_WR)): the server end is CLOSE_WAIT and costs no fd; the
//                client end, kept open, is the matching FIN_WAIT2.
//   TIME_WAIT    accepted connections where the client closes first, then the server:
//                the client end stays in TIME_WAIT for 60 s with no fd at all.
//   SYN_RECV     an nft rule in the namespace drops the client's final ACK (and its
//                RST), so the server keeps a request socket; the client is discarded.
//
// Servers listen on 127.0.0.2 / ::1 at ports from FactoryOptions::first_server_port
// (below the ephemeral range) so clients' ephemeral ports never collide with them.
// Sockets that need file descriptors live in forked "holder" processes, each under
// the 20000-fd hard limit, so any population fits and the caller's fd table stays
// untouched. Destroying the factory kills the holders (and so closes their sockets).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/result.hpp"

namespace tcptune::test {

enum class IpFamily { kV4, kV6 };

struct FactoryOptions {
    std::string v4_server_address = "127.0.0.2";
    std::string v6_server_address = "::1";
    std::uint16_t first_server_port = 20000;
    // Descriptors one holder process may use (the hard limit is 20000 per process).
    std::size_t max_fds_per_holder = 15000;
    // Holders building at the same time (more is faster for big populations).
    std::size_t parallel_holders = 1;
};

class SocketFactory {
  public:
    explicit SocketFactory(FactoryOptions options = {});
    ~SocketFactory();
    SocketFactory(const SocketFactory&) = delete;
    SocketFactory& operator=(const SocketFactory&) = delete;

    // Each call adds to the population and to expected(); counts are in sockets as the
    // kernel lists them, including the listeners the factory needs for its own use.
    Result<void> add_listeners(IpFamily family, std::size_t count);
    Result<void> add_established(IpFamily family, std::size_t pairs);  // 2 x pairs ESTABLISHED
    // `count` CLOSE_WAIT plus `count` FIN_WAIT2 (the half-closed clients), plus one
    // LISTEN per listen queue used.
    Result<void> add_close_wait(IpFamily family, std::size_t count);
    Result<void> add_time_wait(IpFamily family, std::size_t count);
    // `count` SYN_RECV plus one LISTEN per listen queue used. Needs `nft`. Request
    // sockets expire after net.ipv4.tcp_synack_retries retransmissions (63 s with
    // the default of 5); raise it in the namespace for long-lived populations.
    Result<void> add_syn_recv(IpFamily family, std::size_t count);

    // What the kernel should show once everything has settled.
    StateCounts expected() const;
    const StateCounts& expected(IpFamily family) const;

    std::size_t holder_count() const { return holders_.size(); }

  private:
    using Build = std::function<Result<void>()>;  // runs in a holder process
    Result<void> run_in_holders(const std::vector<Build>& builds);
    // Splits `count` into chunks of at most `per_holder`, asks `plan` for each chunk's
    // build (endpoints and ports are taken here, in order), then runs them in holders.
    Result<void> build_in_chunks(std::size_t count, std::size_t per_holder,
                                 const std::function<Result<Build>(std::size_t)>& plan);
    Result<void> install_syn_drop_rule(IpFamily family, std::uint16_t port);
    std::uint16_t take_port();
    std::function<std::uint16_t()> port_source();
    StateCounts& counts(IpFamily family);

    FactoryOptions options_;
    std::size_t backlog_cap_;     // net.core.somaxconn at construction
    std::size_t conns_per_port_;  // connections per server port (see connections_per_port)
    std::uint16_t next_port_;
    bool nft_table_ready_ = false;
    std::vector<pid_t> holders_;
    StateCounts expected_v4_;
    StateCounts expected_v6_;
};

// Per-state counts of every TCP socket in this namespace as `ss -tan` reports them:
// an independent witness for tests (it does not use tcptune's census).
Result<StateCounts> count_states_with_ss();

// Polls `ss` until it reports exactly `expected` or the timeout expires; the error
// names the states that differ.
Result<void> wait_until_ss_shows(const StateCounts& expected,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Writes a sysctl under /proc/sys (key like "net.core.somaxconn"). Refuses when the
// calling process is in PID 1's network namespace, so it can never change the host.
Result<void> write_namespace_sysctl(std::string_view key, std::string_view value);
Result<std::string> read_sysctl(std::string_view key);
// A numeric sysctl, or `fallback` when it cannot be read or parsed.
std::size_t read_size_sysctl(std::string_view key, std::size_t fallback);

// Human-readable "state=n ..." for the non-zero states, for messages.
std::string describe_counts(const StateCounts& counts);

}  // namespace tcptune::test
