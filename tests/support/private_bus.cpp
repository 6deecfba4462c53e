#include "support/private_bus.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>
#include <vector>

namespace tcptune::test {

namespace {

// The bus configurations are data files in tests/data/dbus/ (system-like.conf is
// shared with scripts/quickstart.sh); we write them, so a few kilobytes is plenty
// and anything larger is a mistake.
constexpr std::size_t kMaxConfigBytes = 64 * 1024;

std::filesystem::path config_template(BusPolicy policy) {
    const std::filesystem::path dir = std::filesystem::path(TCPTUNE_TEST_DATA_DIR) / "dbus";
    return dir / (policy == BusPolicy::kAllowAll ? "allow-all.conf" : "system-like.conf");
}

// Replaces every occurrence of `placeholder`; an error when there is none, so a
// template and its users cannot drift apart silently.
Result<void> fill_in(std::string& text, std::string_view placeholder, const std::string& value,
                     const std::filesystem::path& source) {
    std::size_t at = text.find(placeholder);
    if (at == std::string::npos) {
        return make_error(ErrorCode::kParse,
                          source.string() + " has no placeholder " + std::string(placeholder));
    }
    for (; at != std::string::npos; at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
    return {};
}

}  // namespace

Result<std::string> private_bus_config(BusPolicy policy, const std::filesystem::path& socket_path) {
    const auto source = config_template(policy);
    std::ifstream in(source, std::ios::binary);
    if (!in) {
        return make_error(ErrorCode::kNotFound, "cannot open " + source.string());
    }
    std::string text(kMaxConfigBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
        return make_error(ErrorCode::kIo, "cannot read " + source.string());
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
        return make_error(ErrorCode::kIo, source.string() + " is larger than " +
                                              std::to_string(kMaxConfigBytes) + " bytes");
    }
    if (auto filled = fill_in(text, "@SOCKET_PATH@", socket_path.string(), source); !filled) {
        return tl::unexpected(filled.error());
    }
    if (policy != BusPolicy::kAllowAll) {
        const std::string service_policy = TCPTUNE_SOURCE_DIR "/systemd/net.tcptune.conf";
        if (auto filled = fill_in(text, "@SERVICE_POLICY@", service_policy, source); !filled) {
            return tl::unexpected(filled.error());
        }
    }
    if (policy == BusPolicy::kProjectWithPolkit) {
        // Debian's own policy of polkitd's bus name, as on a real system bus.
        const std::string include = std::string("  <include>") + kPolkitBusPolicy + "</include>\n";
        if (auto filled = fill_in(text, "</busconfig>", include + "</busconfig>", source);
            !filled) {
            return tl::unexpected(filled.error());
        }
    }
    return text;
}

Result<std::unique_ptr<PrivateBus>> PrivateBus::start(BusPolicy policy) {
    std::unique_ptr<PrivateBus> bus(new PrivateBus());
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "tcptune-bus-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
        return make_error(ErrorCode::kIo, std::string("mkdtemp: ") + std::strerror(errno));
    }
    bus->dir_ = dir_template;
    // Unprivileged test users (setpriv --reuid=nobody) must reach the socket.
    ::chmod(bus->dir_.c_str(), 0755);
    const auto socket_path = bus->dir_ / "system_bus_socket";
    bus->config_file_ = bus->dir_ / "bus.conf";
    auto config = private_bus_config(policy, socket_path);
    if (!config) {
        return tl::unexpected(config.error());
    }
    {
        std::ofstream out(bus->config_file_);
        out << *config;
        out.flush();
        if (!out) {
            return make_error(ErrorCode::kIo, "cannot write " + bus->config_file_.string());
        }
    }

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
    }
    std::string config_arg = "--config-file=" + bus->config_file_.string();
    std::string print_arg = "--print-address=" + std::to_string(pipe_fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
        return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::fcntl(pipe_fds[1], F_SETFD, 0);  // the write end survives exec
        std::vector<char*> argv = {const_cast<char*>("dbus-daemon"),
                                   const_cast<char*>("--nofork"),
                                   const_cast<char*>("--nopidfile"),
                                   config_arg.data(),
                                   print_arg.data(),
                                   nullptr};
        ::execvp("dbus-daemon", argv.data());
        ::_exit(127);
    }
    bus->pid_ = pid;
    ::close(pipe_fds[1]);

    // The address line is printed once the socket is listening.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd pfd{pipe_fds[0], POLLIN, 0};
        if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            ::close(pipe_fds[0]);
            return make_error(ErrorCode::kIo, "dbus-daemon did not print its address in 10 s");
        }
        char buf[256];
        const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
        if (n <= 0) {
            ::close(pipe_fds[0]);
            return make_error(ErrorCode::kIo, "dbus-daemon exited before listening (config " +
                                                  bus->config_file_.string() + ")");
        }
        line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    // dbus-daemon prints "unix:path=...,guid=..."; clients only need the path.
    bus->address_ = "unix:path=" + socket_path.string();
    return bus;
}

PrivateBus::~PrivateBus() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void PrivateBus::export_as_system_bus() const {
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
}

}  // namespace tcptune::test
