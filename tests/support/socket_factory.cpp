#include "support/socket_factory.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "support/run_command.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/write_all.hpp"

namespace tcptune::test {

namespace {

std::string failed(const std::string& what) {
    return what + ": " + tcptune::errno_text(errno);
}

tl::unexpected<Error> io_error(const std::string& what) {
    return make_error(ErrorCode::kIo, failed(what));
}

// A socket address for the server side of `family`.
struct Endpoint {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;

    const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

Result<Endpoint> server_endpoint(IpFamily family, const FactoryOptions& options,
                                 std::uint16_t port) {
    const bool v4 = family == IpFamily::kV4;
    const std::string& address = v4 ? options.v4_server_address : options.v6_server_address;
    // getaddrinfo with numeric host and port fills the sockaddr of either family.
    addrinfo hints{};
    hints.ai_family = v4 ? AF_INET : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
        return make_error(ErrorCode::kParse,
                          std::string("bad ") + (v4 ? "IPv4" : "IPv6") + " address " + address);
    }
    Endpoint ep;
    std::memcpy(&ep.storage, found->ai_addr, found->ai_addrlen);
    ep.length = found->ai_addrlen;
    ep.family = found->ai_family;
    ::freeaddrinfo(found);
    return ep;
}

Result<int> make_listener(const Endpoint& ep, std::size_t backlog) {
    const int fd = ::socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return io_error("socket");
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ep.family == AF_INET6) {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (::bind(fd, ep.addr(), ep.length) != 0) {
        auto err = io_error(
            "bind (server port " +
            std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(ep.addr())->sin_port)) + ")");
        ::close(fd);
        return err;
    }
    if (::listen(fd, static_cast<int>(backlog)) != 0) {
        auto err = io_error("listen");
        ::close(fd);
        return err;
    }
    return fd;
}

Result<int> connect_client(const Endpoint& ep) {
    const int fd = ::socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return io_error("socket (client)");
    }
    if (::connect(fd, ep.addr(), ep.length) != 0) {
        auto err = io_error("connect");
        ::close(fd);
        return err;
    }
    return fd;
}

Result<int> accept_one(int listener) {
    for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            return fd;
        }
        if (errno != EINTR) {
            return io_error("accept");
        }
    }
}

// Blocks until the peer's FIN has arrived (read returns 0).
Result<void> wait_for_eof(int fd) {
    char byte = 0;
    for (;;) {
        const ssize_t n = ::read(fd, &byte, 1);
        if (n == 0) {
            return {};
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return io_error("read (waiting for FIN)");
        }
    }
}

void close_all(std::vector<int>& fds) {
    for (int fd : fds) {
        ::close(fd);
    }
    fds.clear();
}

// Closes with an RST instead of a FIN: the socket disappears at once.
void close_with_reset(int fd) {
    linger abort{};
    abort.l_onoff = 1;
    abort.l_linger = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    ::close(fd);
}

std::string sysctl_path(std::string_view key) {
    std::string path = "/proc/sys/";
    for (char c : key) {
        path += c == '.' ? '/' : c;
    }
    return path;
}

// Connections to one server port. The kernel picks ephemeral ports with random
// skips, so its search cost grows sharply as the ports used towards one destination
// approach the range; an eighth of the range keeps connect() fast (and far from
// wrapping onto our own TIME_WAITs, which tcp_tw_reuse could recycle).
std::size_t connections_per_port() {
    auto range = read_sysctl("net.ipv4.ip_local_port_range");
    std::size_t low = 32768;
    std::size_t high = 60999;
    if (range) {
        std::istringstream in(*range);
        in >> low >> high;
    }
    return std::max<std::size_t>(1, (high - low + 1) / 8);
}

Result<void> run_nft(const std::string& script) {
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        return io_error("pipe");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return io_error("fork");
    }
    if (pid == 0) {
        ::dup2(in_pipe[0], STDIN_FILENO);
        ::execlp("nft", "nft", "-f", "-", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(in_pipe[0]);
    auto written = write_all(in_pipe[1], script);
    ::close(in_pipe[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!written) {
        return written;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return make_error(
            ErrorCode::kIo,
            "nft -f - failed (exit " + std::to_string(WEXITSTATUS(status)) + ") on:\n" + script);
    }
    return {};
}

// Splits `total` into chunks of at most `chunk` and calls fn(size) for each.
template <typename Fn>
Result<void> in_chunks(std::size_t total, std::size_t chunk, Fn&& fn) {
    for (std::size_t done = 0; done < total;) {
        const std::size_t n = std::min(chunk, total - done);
        if (auto r = fn(n); !r) {
            return r;
        }
        done += n;
    }
    return {};
}

// `count` server endpoints of `family`, each on a port from `next_port`.
Result<std::vector<Endpoint>> server_endpoints(IpFamily family, const FactoryOptions& options,
                                               std::size_t count,
                                               const std::function<std::uint16_t()>& next_port) {
    std::vector<Endpoint> endpoints;
    for (std::size_t i = 0; i < count; ++i) {
        auto ep = server_endpoint(family, options, next_port());
        if (!ep) {
            return tl::unexpected(ep.error());
        }
        endpoints.push_back(*ep);
    }
    return endpoints;
}

// Spreads `count` connections over `endpoints`, at most `per_endpoint` each: listens
// on each endpoint (with `backlog`) and calls fill(endpoint, listener fd, how many).
// The listeners stay open unless `fill` closes them.
template <typename Fill>
Result<void> over_listeners(const std::vector<Endpoint>& endpoints, std::size_t count,
                            std::size_t per_endpoint, std::size_t backlog, Fill&& fill) {
    std::size_t left = count;
    for (const auto& ep : endpoints) {
        const std::size_t here = std::min(left, per_endpoint);
        left -= here;
        auto listener = make_listener(ep, backlog);
        if (!listener) {
            return tl::unexpected(listener.error());
        }
        if (auto filled = fill(ep, *listener, here); !filled) {
            return filled;
        }
    }
    return {};
}

}  // namespace

SocketFactory::SocketFactory(FactoryOptions options)
    : options_(std::move(options)),
      backlog_cap_(read_size_sysctl("net.core.somaxconn", 4096)),
      conns_per_port_(connections_per_port()),
      next_port_(options_.first_server_port) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY) {
        const auto hard = static_cast<std::size_t>(limit.rlim_max);
        options_.max_fds_per_holder = std::min(options_.max_fds_per_holder, hard - 256);
    }
}

SocketFactory::~SocketFactory() {
    for (pid_t pid : holders_) {
        ::kill(pid, SIGKILL);
    }
    for (pid_t pid : holders_) {
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
}

StateCounts& SocketFactory::counts(IpFamily family) {
    return family == IpFamily::kV4 ? expected_v4_ : expected_v6_;
}

const StateCounts& SocketFactory::expected(IpFamily family) const {
    return family == IpFamily::kV4 ? expected_v4_ : expected_v6_;
}

StateCounts SocketFactory::expected() const {
    StateCounts sum = expected_v4_;
    for (std::size_t i = 0; i < kTcpStateCount; ++i) {
        sum.by_state[i] += expected_v6_.by_state[i];
    }
    return sum;
}

std::uint16_t SocketFactory::take_port() {
    return next_port_++;
}

namespace {

struct PendingHolder {
    pid_t pid = -1;
    int status_fd = -1;
};

// Forks a holder: the child builds its sockets, reports success or the error over a
// pipe, then sleeps holding them until the factory kills it (or its parent dies).
Result<PendingHolder> start_holder(const std::function<Result<void>()>& build) {
    int status_pipe[2];
    if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
        return io_error("pipe");
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(status_pipe[0]);
        ::close(status_pipe[1]);
        return io_error("fork");
    }
    if (pid == 0) {
        ::close(status_pipe[0]);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(1);
        }
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
            limit.rlim_cur = limit.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
        auto built = build();
        const std::string report = built ? std::string("ok") : built.error().message;
        (void)write_all(status_pipe[1], report);
        ::close(status_pipe[1]);
        if (!built) {
            ::_exit(1);
        }
        for (;;) {
            ::pause();
        }
    }
    ::close(status_pipe[1]);
    return PendingHolder{pid, status_pipe[0]};
}

Result<void> finish_holder(PendingHolder holder) {
    std::string report;
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(holder.status_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        report.append(buf, static_cast<std::size_t>(n));
    }
    ::close(holder.status_fd);
    if (report != "ok") {
        return make_error(ErrorCode::kIo, report.empty() ? "socket holder process died"
                                                         : "socket holder: " + report);
    }
    return {};
}

}  // namespace

// Runs each build in its own holder, at most options_.parallel_holders at a time.
Result<void> SocketFactory::run_in_holders(const std::vector<Build>& builds) {
    const std::size_t parallel = std::max<std::size_t>(1, options_.parallel_holders);
    Result<void> outcome;
    for (std::size_t first = 0; first < builds.size(); first += parallel) {
        std::vector<PendingHolder> running;
        for (std::size_t i = first; i < std::min(builds.size(), first + parallel); ++i) {
            auto started = start_holder(builds[i]);
            if (!started) {
                outcome = tl::unexpected(started.error());
                break;
            }
            holders_.push_back(started->pid);
            running.push_back(*started);
        }
        for (const auto& holder : running) {
            auto finished = finish_holder(holder);
            if (!finished && outcome) {
                outcome = finished;
            }
        }
        if (!outcome) {
            return outcome;
        }
    }
    return outcome;
}

Result<void> SocketFactory::build_in_chunks(std::size_t count, std::size_t per_holder,
                                            const std::function<Result<Build>(std::size_t)>& plan) {
    std::vector<Build> builds;
    const auto add_chunk = [&](std::size_t n) -> Result<void> {
        Build build;
        TRY_ASSIGN(build, plan(n));
        builds.push_back(std::move(build));
        return {};
    };
    TRY(in_chunks(count, per_holder, add_chunk));
    return run_in_holders(builds);
}

// Ports for the server endpoints of one call, taken from the factory's range.
std::function<std::uint16_t()> SocketFactory::port_source() {
    return [this] { return take_port(); };
}

Result<void> SocketFactory::add_listeners(IpFamily family, std::size_t count) {
    const auto plan = [&](std::size_t n) -> Result<Build> {
        std::vector<Endpoint> endpoints;
        TRY_ASSIGN(endpoints, server_endpoints(family, options_, n, port_source()));
        return [endpoints]() {
            return over_listeners(
                endpoints, endpoints.size(), 1, 16,
                [](const Endpoint&, int, std::size_t) -> Result<void> { return {}; });
        };
    };
    TRY(build_in_chunks(count, options_.max_fds_per_holder, plan));
    counts(family)[TcpState::kListen] += count;
    return {};
}

Result<void> SocketFactory::add_established(IpFamily family, std::size_t pairs) {
    const std::size_t per_port = conns_per_port_;
    const std::size_t batch = std::max<std::size_t>(1, backlog_cap_ / 2);
    const auto plan = [&](std::size_t n) -> Result<Build> {
        std::vector<Endpoint> endpoints;
        TRY_ASSIGN(endpoints, server_endpoints(family, options_, (n + per_port - 1) / per_port,
                                               port_source()));
        return [endpoints, n, per_port, batch]() {
            return over_listeners(
                endpoints, n, per_port, batch,
                [batch](const Endpoint& ep, int listener, std::size_t here) {
                    // Connect a batch (the listen queue holds them), then accept it.
                    auto result = in_chunks(here, batch, [&](std::size_t b) -> Result<void> {
                        for (std::size_t i = 0; i < b; ++i) {
                            if (auto c = connect_client(ep); !c) {
                                return tl::unexpected(c.error());
                            }
                        }
                        for (std::size_t i = 0; i < b; ++i) {
                            if (auto accepted = accept_one(listener); !accepted) {
                                return tl::unexpected(accepted.error());
                            }
                        }
                        return {};
                    });
                    ::close(listener);  // accepted sockets outlive their listener
                    return result;
                });
        };
    };
    TRY(build_in_chunks(pairs, options_.max_fds_per_holder / 2, plan));
    counts(family)[TcpState::kEstablished] += 2 * pairs;
    return {};
}

namespace {

// Connects `count` clients to the listener at `ep` and half-closes each: the FIN
// reaches the queued server end (-> CLOSE_WAIT); the client end is FIN_WAIT2 and,
// not being orphaned, stays there while its holder keeps it open.
Result<void> connect_and_half_close(const Endpoint& ep, int /*listener*/, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        auto client = connect_client(ep);
        if (!client) {
            return tl::unexpected(client.error());
        }
        if (::shutdown(*client, SHUT_WR) != 0) {
            return io_error("shutdown");
        }
    }
    return {};
}

}  // namespace

Result<void> SocketFactory::add_close_wait(IpFamily family, std::size_t count) {
    // One listen queue holds at most `backlog_cap_` unaccepted connections.
    const std::size_t per_queue =
        std::max<std::size_t>(1, std::min(backlog_cap_ - 1, conns_per_port_));
    const std::size_t backlog = backlog_cap_;
    std::size_t queues_total = 0;
    const auto plan = [&](std::size_t n) -> Result<Build> {
        const std::size_t queues = (n + per_queue - 1) / per_queue;
        queues_total += queues;
        std::vector<Endpoint> endpoints;
        TRY_ASSIGN(endpoints, server_endpoints(family, options_, queues, port_source()));
        return [endpoints, n, per_queue, backlog]() {
            return over_listeners(endpoints, n, per_queue, backlog, connect_and_half_close);
        };
    };
    TRY(build_in_chunks(count, options_.max_fds_per_holder, plan));
    counts(family)[TcpState::kCloseWait] += count;
    counts(family)[TcpState::kFinWait2] += count;
    counts(family)[TcpState::kListen] += queues_total;
    return {};
}

namespace {

// Makes `count` TIME_WAITs against one server endpoint.
Result<void> make_time_waits(const Endpoint& ep, std::size_t count, std::size_t batch) {
    auto listener = make_listener(ep, batch);
    if (!listener) {
        return tl::unexpected(listener.error());
    }
    std::vector<int> clients;
    std::vector<int> servers;
    auto result = in_chunks(count, batch, [&](std::size_t b) -> Result<void> {
        for (std::size_t i = 0; i < b; ++i) {
            auto c = connect_client(ep);
            if (!c) {
                return tl::unexpected(c.error());
            }
            clients.push_back(*c);
        }
        for (std::size_t i = 0; i < b; ++i) {
            auto accepted = accept_one(*listener);
            if (!accepted) {
                return tl::unexpected(accepted.error());
            }
            servers.push_back(*accepted);
        }
        close_all(clients);  // active close: these ends will be TIME_WAIT
        // Wait for each client's FIN before closing the server end: closing earlier
        // (loopback is not always synchronous) would be a simultaneous close, which
        // leaves a TIME_WAIT on both ends.
        for (int server : servers) {
            if (auto eof = wait_for_eof(server); !eof) {
                return eof;
            }
        }
        close_all(servers);  // passive close: LAST_ACK, then gone
        return {};
    });
    close_all(clients);
    close_all(servers);
    ::close(*listener);
    return result;
}

}  // namespace

Result<void> SocketFactory::add_time_wait(IpFamily family, std::size_t count) {
    const std::size_t max_tw = read_size_sysctl("net.ipv4.tcp_max_tw_buckets", 0);
    const std::size_t wanted =
        expected_v4_[TcpState::kTimeWait] + expected_v6_[TcpState::kTimeWait] + count;
    if (max_tw != 0 && wanted > max_tw) {
        return make_error(ErrorCode::kRefused,
                          std::to_string(wanted) +
                              " TIME_WAIT sockets exceed net.ipv4.tcp_max_tw_buckets=" +
                              std::to_string(max_tw) + " in this namespace; raise it first");
    }
    const std::size_t batch =
        std::max<std::size_t>(1, std::min(backlog_cap_ / 2, options_.max_fds_per_holder / 2));
    // One server port per holder, each used for fewer connections than there are
    // ephemeral ports, so the kernel never wraps onto one of our own TIME_WAITs.
    const auto plan = [&](std::size_t n) -> Result<Build> {
        Endpoint ep;
        TRY_ASSIGN(ep, server_endpoint(family, options_, take_port()));
        return [ep, n, batch] { return make_time_waits(ep, n, batch); };
    };
    TRY(build_in_chunks(count, conns_per_port_, plan));
    counts(family)[TcpState::kTimeWait] += count;
    return {};
}

Result<void> SocketFactory::install_syn_drop_rule(IpFamily family, std::uint16_t port) {
    std::string script;
    if (!nft_table_ready_) {
        script +=
            "add table inet tcptune_socket_factory\n"
            "add chain inet tcptune_socket_factory output "
            "{ type filter hook output priority 0; policy accept; }\n";
    }
    // Everything the client sends to this port except its SYN: the handshake's final
    // ACK and the RST of the discarded client.
    const std::string addr = family == IpFamily::kV4 ? "ip daddr " + options_.v4_server_address
                                                     : "ip6 daddr " + options_.v6_server_address;
    script += "add rule inet tcptune_socket_factory output " + addr + " tcp dport " +
              std::to_string(port) + " tcp flags & syn == 0 drop\n";
    auto done = run_nft(script);
    if (done) {
        nft_table_ready_ = true;
    }
    return done;
}

Result<void> SocketFactory::add_syn_recv(IpFamily family, std::size_t count) {
    // A listener keeps at most `backlog` request sockets before falling back to
    // syncookies, which leave no socket behind.
    const std::size_t per_queue =
        std::max<std::size_t>(1, std::min(backlog_cap_ - 1, conns_per_port_));
    const std::size_t queues = (count + per_queue - 1) / per_queue;
    std::vector<Endpoint> endpoints;
    for (std::size_t q = 0; q < queues; ++q) {
        const std::uint16_t port = take_port();
        auto ep = server_endpoint(family, options_, port);
        if (!ep) {
            return tl::unexpected(ep.error());
        }
        if (auto rule = install_syn_drop_rule(family, port); !rule) {
            return rule;
        }
        endpoints.push_back(*ep);
    }
    const std::size_t backlog = backlog_cap_;
    auto built = run_in_holders({[endpoints, count, per_queue, backlog]() {
        return over_listeners(endpoints, count, per_queue, backlog,
                              [](const Endpoint& ep, int, std::size_t here) -> Result<void> {
                                  for (std::size_t i = 0; i < here; ++i) {
                                      // The client sees SYN-ACK and is ESTABLISHED; its
                                      // ACK never arrives.
                                      auto client = connect_client(ep);
                                      if (!client) {
                                          return tl::unexpected(client.error());
                                      }
                                      close_with_reset(*client);
                                  }
                                  return {};
                              });
    }});
    if (!built) {
        return built;
    }
    counts(family)[TcpState::kSynRecv] += count;
    counts(family)[TcpState::kListen] += queues;
    return {};
}

Result<StateCounts> count_states_with_ss() {
    const CommandOutput ss = run_command("ss -tanH", {.merge_stderr = true});
    StateCounts counts;
    std::string unknown;
    std::istringstream lines(ss.out);
    for (std::string line; std::getline(lines, line);) {
        const std::string_view word = std::string_view(line).substr(0, line.find_first_of(" \t"));
        static const std::pair<std::string_view, TcpState> kSsNames[] = {
            {"ESTAB", TcpState::kEstablished},   {"SYN-SENT", TcpState::kSynSent},
            {"SYN-RECV", TcpState::kSynRecv},    {"FIN-WAIT-1", TcpState::kFinWait1},
            {"FIN-WAIT-2", TcpState::kFinWait2}, {"TIME-WAIT", TcpState::kTimeWait},
            {"UNCONN", TcpState::kClose},        {"CLOSE-WAIT", TcpState::kCloseWait},
            {"LAST-ACK", TcpState::kLastAck},    {"LISTEN", TcpState::kListen},
            {"CLOSING", TcpState::kClosing},
        };
        bool known = false;
        for (auto [name, state] : kSsNames) {
            if (word == name) {
                ++counts[state];
                known = true;
                break;
            }
        }
        if (!known && unknown.size() < 200) {
            unknown += line + "\n";
        }
    }
    if (ss.exit_code != 0 || !unknown.empty()) {
        return make_error(ErrorCode::kIo, "ss -tanH failed (exit " + std::to_string(ss.exit_code) +
                                              "): " + unknown);
    }
    return counts;
}

Result<void> wait_until_ss_shows(const StateCounts& expected, std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    // Every distinct view ss gave, with when it was first seen: the first one usually
    // tells why a population never settled (later ones may show TIME_WAITs expiring).
    std::string history;
    std::optional<StateCounts> previous;
    for (;;) {
        auto seen = count_states_with_ss();
        if (!seen) {
            return tl::unexpected(seen.error());
        }
        if (*seen == expected) {
            return {};
        }
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        if (!previous || !(*previous == *seen)) {
            if (history.size() < 2000) {
                history += "\n  at " + std::to_string(elapsed.count()) + " ms: {" +
                           describe_counts(*seen) + "}";
            }
            previous = *seen;
        }
        if (elapsed >= timeout) {
            return make_error(ErrorCode::kIo, "ss never showed {" + describe_counts(expected) +
                                                  "}; it showed:" + history);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

Result<std::string> read_sysctl(std::string_view key) {
    std::ifstream in(sysctl_path(key));
    if (!in) {
        return make_error(ErrorCode::kNotFound, "cannot read " + sysctl_path(key));
    }
    std::string value;
    std::getline(in, value);
    return value;
}

std::size_t read_size_sysctl(std::string_view key, std::size_t fallback) {
    auto text = read_sysctl(key);
    if (!text) {
        return fallback;
    }
    try {
        return static_cast<std::size_t>(std::stoull(*text));
    } catch (...) {
        return fallback;
    }
}

Result<void> write_namespace_sysctl(std::string_view key, std::string_view value) {
    // The initial network namespace always has this inode number (PROC_NET_INIT_INO);
    // PID 1's namespace, when we may look at it, is the host's too.
    constexpr ino_t kInitNetNamespaceInode = 0xEFFFFFF9U;
    struct stat mine {};
    if (::stat("/proc/self/ns/net", &mine) != 0) {
        return io_error("cannot identify this network namespace");
    }
    struct stat init {};
    const bool pid1_known = ::stat("/proc/1/ns/net", &init) == 0;
    if (mine.st_ino == kInitNetNamespaceInode ||
        (pid1_known && mine.st_ino == init.st_ino && mine.st_dev == init.st_dev)) {
        return make_error(ErrorCode::kRefused, "refusing to set " + std::string(key) +
                                                   ": this is the host's network namespace");
    }
    const std::string path = sysctl_path(key);
    std::ofstream out(path);
    out << value << '\n';
    out.flush();
    if (!out) {
        return make_error(ErrorCode::kIo, "cannot write " + std::string(value) + " to " + path);
    }
    return {};
}

std::string describe_counts(const StateCounts& counts) {
    std::string text;
    for (TcpState s : kAllTcpStates) {
        if (counts[s] != 0) {
            text += (text.empty() ? "" : " ") + std::string(state_name(s)) + "=" +
                    std::to_string(counts[s]);
        }
    }
    return text.empty() ? "none" : text;
}

}  // namespace tcptune::test
