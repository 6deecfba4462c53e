#include "support/churn.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <string_view>
#include <utility>

#include "tcptune/write_all.hpp"

namespace tcptune::test {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int /*sig*/) {
    g_stop = 1;
}

tl::unexpected<Error> io_error(const std::string& what) {
    return make_error(ErrorCode::kIo, "churn: " + what + ": " + errno_text(errno));
}

// The bytes of a value, for the status pipes to the parent.
template <typename T>
std::string_view bytes_of(const T& value) {
    return {reinterpret_cast<const char*>(&value), sizeof value};
}

bool read_all(int fd, void* data, std::size_t len) {
    auto* p = static_cast<char*>(data);
    while (len > 0) {
        const ssize_t n = ::read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

void reset_close(int fd) {
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
}

// One connection's end, by the closing path its number picks.
void close_pair(std::pair<int, int> pair, std::uint64_t n, int only_path) {
    auto [client, server] = pair;
    switch (only_path >= 0 ? static_cast<std::uint64_t>(only_path) : n % 4) {
        case 0:  // client first: client TIME_WAIT, server CLOSE_WAIT -> LAST_ACK
            ::close(client);
            ::close(server);
            break;
        case 1:  // server first
            ::close(server);
            ::close(client);
            break;
        case 2:  // reset: straight to CLOSE, no TIME_WAIT
            reset_close(client);
            ::close(server);
            break;
        default:  // half-close, then both
            ::shutdown(client, SHUT_WR);
            ::close(server);
            ::close(client);
            break;
    }
}

[[noreturn]] void churn_child(const ChurnOptions& options, int ready_fd, int result_fd) {
    std::signal(SIGTERM, on_stop);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(options.port);
    ::inet_pton(AF_INET, options.address.c_str(), &addr.sin_addr);
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    std::uint8_t ok = 0;
    if (listener >= 0 && ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(listener, 4096) == 0) {
        ok = 1;
    }
    (void)write_all(ready_fd, bytes_of(ok));
    ::close(ready_fd);
    if (ok == 0) {
        ::_exit(1);
    }
    std::deque<std::pair<int, int>> open;
    std::uint64_t made = 0;
    while (g_stop == 0) {
        const int client = ::socket(AF_INET, SOCK_STREAM, 0);
        if (client < 0) {
            break;
        }
        if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(client);  // e.g. ephemeral ports exhausted for a moment
            continue;
        }
        const int server = ::accept(listener, nullptr, nullptr);
        if (server < 0) {
            ::close(client);
            continue;
        }
        ++made;
        if (options.close_only) {
            close_pair({client, server}, made, options.only_path);
            continue;
        }
        open.emplace_back(client, server);
        if (open.size() > options.keep_open) {
            close_pair(open.front(), made, options.only_path);
            open.pop_front();
        }
    }
    for (auto& pair : open) {
        close_pair(pair, 0, options.only_path);
    }
    ::close(listener);
    (void)write_all(result_fd, bytes_of(made));
    ::_exit(0);
}

}  // namespace

Result<std::unique_ptr<ConnectionChurn>> ConnectionChurn::start(ChurnOptions options) {
    int ready[2];
    int result[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        return io_error("pipe");
    }
    if (::pipe2(result, O_CLOEXEC) != 0) {
        ::close(ready[0]);
        ::close(ready[1]);
        return io_error("pipe");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return io_error("fork");
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(ready[0]);
        ::close(result[0]);
        churn_child(options, ready[1], result[1]);
    }
    ::close(ready[1]);
    ::close(result[1]);
    std::uint8_t ok = 0;
    const bool got = read_all(ready[0], &ok, 1);
    ::close(ready[0]);
    auto churn = std::unique_ptr<ConnectionChurn>(new ConnectionChurn(pid, result[0]));
    if (!got || ok == 0) {
        return make_error(ErrorCode::kIo, "churn: the child could not listen on " +
                                              options.address + ":" + std::to_string(options.port));
    }
    return churn;
}

Result<std::uint64_t> ConnectionChurn::stop() {
    if (!child_.running()) {
        return make_error(ErrorCode::kInternal, "churn: already stopped");
    }
    child_.signal(SIGTERM);
    std::uint64_t made = 0;
    const bool got = read_all(result_fd_.get(), &made, sizeof made);
    child_.reap();
    result_fd_.reset();
    if (!got) {
        return make_error(ErrorCode::kIo, "churn: the child did not report how much it did");
    }
    return made;
}

}  // namespace tcptune::test
