#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <thread>

#include "support/files.hpp"

namespace tcptune::test {

bool eventually_impl(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (predicate()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

DaemonLaunch isolated_launch(const Isolated& isolated) {
    const auto config = isolated.dir / "tcptune.yaml";
    if (!std::filesystem::exists(config)) {
        write_text(config, "# empty: defaults and flags only\n");
    }
    const auto profile_dir =
        isolated.profile_dir.empty() ? isolated.dir / "profiles" : isolated.profile_dir;
    DaemonLaunch launch;
    if (!isolated.wrapper.empty()) {
        launch.binary = isolated.wrapper.front();
        launch.args.assign(isolated.wrapper.begin() + 1, isolated.wrapper.end());
        launch.args.push_back(std::string(TCPTUNE_BIN_DIR) + "/tcptuned");
    }
    launch.args.insert(launch.args.end(),
                       {"--config", config.string(), "--state-dir",
                        (isolated.dir / "state").string(), "--profile-dir", profile_dir.string(),
                        "--bus", isolated.bus, "--metrics-address", isolated.metrics});
    if (!isolated.profile.empty()) {
        launch.args.insert(launch.args.end(), {"--profile", isolated.profile});
    }
    launch.args.insert(launch.args.end(), isolated.extra.begin(), isolated.extra.end());
    launch.env = isolated.env;
    launch.watchdog_pid_is_child = isolated.watchdog_pid_is_child;
    launch.log_file = isolated.dir / "tcptuned.log";
    return launch;
}

DaemonProcess::DaemonProcess(DaemonLaunch launch) : launch_(std::move(launch)) {
    if (launch_.binary.empty()) {
        launch_.binary = std::filesystem::path(TCPTUNE_BIN_DIR) / "tcptuned";
    }
}

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0 && !exit_status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

Result<void> DaemonProcess::start() {
    if (!std::filesystem::exists(launch_.binary)) {
        return make_error(ErrorCode::kNotFound, launch_.binary.string() + " is not built");
    }
    std::vector<std::string> argv_storage;
    argv_storage.push_back(launch_.binary.string());
    argv_storage.insert(argv_storage.end(), launch_.args.begin(), launch_.args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const std::string log_path = launch_.log_file.string();

    const pid_t pid = ::fork();
    if (pid < 0) {
        return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Child: only async-signal-safe-ish work until exec (single-threaded
        // test process, so setenv is fine in practice).
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            ::_exit(126);
        }
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        for (const auto& entry : launch_.env) {
            const auto eq = entry.find('=');
            ::setenv(entry.substr(0, eq).c_str(), entry.substr(eq + 1).c_str(), 1);
        }
        if (launch_.watchdog_pid_is_child) {
            ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
        }
        // A test may have blocked signals; the daemon must start with a clean mask.
        sigset_t empty;
        sigemptyset(&empty);
        ::sigprocmask(SIG_SETMASK, &empty, nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    return {};
}

bool DaemonProcess::running() {
    if (pid_ <= 0 || exit_status_) {
        return false;
    }
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

void DaemonProcess::signal(int signo) const {
    if (pid_ > 0 && !exit_status_) {
        ::kill(pid_, signo);
    }
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
    eventually([this] { return !running(); }, timeout);
    return exit_status_;
}

std::optional<int> DaemonProcess::stop(std::chrono::milliseconds timeout) {
    if (!running()) {
        return exit_status_;
    }
    signal(SIGTERM);
    if (auto status = wait_exit(timeout)) {
        return status;
    }
    signal(SIGKILL);
    return wait_exit(std::chrono::seconds(5));
}

void stop_daemon(const std::unique_ptr<DaemonProcess>& daemon, bool test_failed) {
    if (!daemon) {
        return;
    }
    if (test_failed) {
        std::cerr << "---- tcptuned log ----\n" << daemon->log() << "----\n";
    }
    daemon->stop();
}

std::string DaemonProcess::log() const {
    return read_text(launch_.log_file);
}

std::size_t DaemonProcess::count_in_log(const std::string& needle) const {
    const std::string text = log();
    std::size_t count = 0;
    for (auto pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + needle.size())) {
        ++count;
    }
    return count;
}

bool DaemonProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout,
                                 std::size_t occurrences) const {
    return eventually([&] { return count_in_log(needle) >= occurrences; }, timeout);
}

std::size_t DaemonProcess::open_fds() const {
    std::size_t count = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid_) + "/fd", ec), end;
         !ec && it != end; it.increment(ec)) {
        ++count;
    }
    return count;
}

std::size_t DaemonProcess::rss_kb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return static_cast<std::size_t>(std::strtoull(line.c_str() + 6, nullptr, 10));
        }
    }
    return 0;
}

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = path_.string();
    if (fd_ < 0 || p.size() >= sizeof addr.sun_path) {
        throw std::runtime_error("cannot create notify socket at " + p);
    }
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    std::filesystem::remove(path_);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error("cannot bind notify socket at " + p + ": " + std::strerror(errno));
    }
}

NotifySocket::~NotifySocket() {
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

std::optional<std::string> NotifySocket::receive(std::chrono::milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
        return std::nullopt;
    }
    std::string buffer(4096, '\0');
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) {
        return std::nullopt;
    }
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
}

std::optional<std::string> NotifySocket::wait_for(const std::string& needle,
                                                  std::chrono::milliseconds timeout,
                                                  std::vector<std::string>* seen) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        auto message = receive(left);
        if (!message) {
            return std::nullopt;
        }
        if (seen != nullptr) {
            seen->push_back(*message);
        }
        if (message->find(needle) != std::string::npos) {
            return message;
        }
    }
}

std::size_t DaemonProcess::standing_fds() const {
    std::size_t least = open_fds();
    for (int i = 0; i < 20; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
        least = std::min(least, open_fds());
    }
    return least;
}

std::optional<std::uint64_t> polls_in_status(const std::string& message) {
    static const std::regex pattern("; ([0-9]+) polls");
    std::smatch match;
    if (!std::regex_search(message, match, pattern)) {
        return std::nullopt;
    }
    return std::stoull(match[1].str());
}

}  // namespace tcptune::test
