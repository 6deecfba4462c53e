#include "support/traffic.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/run_command.hpp"
#include "tcptune/census/proc_net.hpp"

namespace tcptune::test {

namespace {

tl::unexpected<Error> io_error(const std::string& what) {
    return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

void kill_group(pid_t& pid) {
    if (pid <= 0) {
        return;
    }
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
}

// The drain loop of the child: accept everything, read each to EOF, close.
// fds holds the listeners first, then the connections.
[[noreturn]] void drain_forever(const std::vector<int>& listeners) {
    std::vector<pollfd> fds;
    for (int l : listeners) {
        fds.push_back({l, POLLIN, 0});
    }
    char buf[4096];
    for (;;) {
        if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
            ::_exit(1);
        }
        std::vector<pollfd> next(fds.begin(),
                                 fds.begin() + static_cast<std::ptrdiff_t>(listeners.size()));
        std::vector<pollfd> accepted;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            const pollfd& p = fds[i];
            if (i < listeners.size()) {
                if ((p.revents & POLLIN) != 0) {
                    for (;;) {
                        const int c = ::accept4(p.fd, nullptr, nullptr, SOCK_NONBLOCK);
                        if (c < 0) {
                            break;
                        }
                        accepted.push_back({c, POLLIN, 0});
                    }
                }
                continue;
            }
            if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                next.push_back({p.fd, POLLIN, 0});
                continue;
            }
            const ssize_t n = ::read(p.fd, buf, sizeof(buf));
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                ::close(p.fd);  // the client closed first: its end keeps the TIME_WAIT
            } else {
                next.push_back({p.fd, POLLIN, 0});
            }
        }
        next.insert(next.end(), accepted.begin(), accepted.end());
        fds = std::move(next);
    }
}

}  // namespace

sockaddr_in Address::to_sockaddr() const {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &sin.sin_addr);
    return sin;
}

Result<int> listen_on(const Address& at, int backlog) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return io_error("socket");
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const sockaddr_in sin = at.to_sockaddr();
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin)) != 0) {
        auto err = io_error("bind " + at.text());
        ::close(fd);
        return err;
    }
    if (::listen(fd, backlog) != 0) {
        auto err = io_error("listen " + at.text());
        ::close(fd);
        return err;
    }
    return fd;
}

Result<DrainServer> DrainServer::start(const std::vector<Address>& addresses) {
    std::vector<int> listeners;
    for (const Address& a : addresses) {
        auto fd = listen_on(a, 4096);
        if (!fd) {
            for (int l : listeners) {
                ::close(l);
            }
            return tl::unexpected(fd.error());
        }
        ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_NONBLOCK);  // accept until EAGAIN
        listeners.push_back(*fd);
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return io_error("fork");
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        drain_forever(listeners);
    }
    for (int l : listeners) {
        ::close(l);  // the child owns them; LISTEN is already up, nothing to wait for
    }
    return DrainServer(pid);
}

DrainServer::DrainServer(DrainServer&& other) noexcept : pid_(other.pid_) {
    other.pid_ = -1;
}

DrainServer::~DrainServer() {
    kill_group(pid_);
}

Result<BackgroundCommand> BackgroundCommand::start(const std::vector<std::string>& argv) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        return io_error("fork");
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        // Its chatter (one line per reply) would only fill the test log.
        std::freopen("/dev/null", "w", stdout);
        std::freopen("/dev/null", "w", stderr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    return BackgroundCommand(pid);
}

BackgroundCommand::BackgroundCommand(BackgroundCommand&& other) noexcept : pid_(other.pid_) {
    other.pid_ = -1;
}

BackgroundCommand::~BackgroundCommand() {
    stop();
}

void BackgroundCommand::stop() {
    kill_group(pid_);
}

ChurnResult churn_connections(const std::vector<Address>& destinations, std::size_t count,
                              double per_second,
                              const std::function<bool(std::size_t)>& after_each) {
    ChurnResult result;
    const auto start = std::chrono::steady_clock::now();
    const auto step = std::chrono::duration<double>(1.0 / per_second);
    for (std::size_t i = 0; i < count; ++i) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        step * static_cast<double>(i)));
        const sockaddr_in to = destinations[i % destinations.size()].to_sockaddr();
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ++result.attempts;
        if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
            ++result.failed;
            if (!result.first_failure) {
                result.first_failure = i;
                result.first_errno = errno;
            }
        }
        if (fd >= 0) {
            ::close(fd);  // the client closes first
        }
        if (after_each && !after_each(i)) {
            break;
        }
    }
    return result;
}

std::vector<int> connect_burst(const Address& to, int n) {
    std::vector<int> fds;
    const sockaddr_in sin = to.to_sockaddr();
    for (int i = 0; i < n; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            break;
        }
        ::connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));  // EINPROGRESS
        fds.push_back(fd);
    }
    return fds;
}

Result<void> nft_apply(const std::string& ruleset) {
    char path[] = "/tmp/tcptune-nft-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) {
        return io_error("mkstemp");
    }
    ::close(fd);
    {
        std::ofstream out(path);
        out << ruleset;
    }
    const auto done = run_command(std::string("nft -f ") + path + " 2>&1");
    ::unlink(path);
    if (done.exit_code != 0) {
        return make_error(ErrorCode::kIo, "nft failed: " + done.out);
    }
    return {};
}

std::optional<std::uint64_t> netstat_counter(const std::string& name) {
    auto text = read_proc_file("/proc/net/netstat");
    if (!text) {
        return std::nullopt;
    }
    std::istringstream lines(*text);
    std::string header;
    std::string values;
    while (std::getline(lines, header) && std::getline(lines, values)) {
        if (header.rfind("TcpExt:", 0) != 0) {
            continue;
        }
        std::istringstream names(header);
        std::istringstream numbers(values);
        std::string n;
        std::string v;
        while (names >> n && numbers >> v) {
            if (n == name) {
                return std::stoull(v);
            }
        }
    }
    return std::nullopt;
}

}  // namespace tcptune::test
