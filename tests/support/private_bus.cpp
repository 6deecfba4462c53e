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
#include <system_error>
#include <vector>

namespace tcptune::test {

namespace {

constexpr const char* kDoctype =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n";

// The default policy of Debian's /usr/share/dbus-1/system.conf: nobody owns
// names or sends method calls unless a service's policy file allows it.
constexpr const char* kSystemDefaults = R"(  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
)";

constexpr const char* kAllowAll = R"(  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="*"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
)";

}  // namespace

std::string private_bus_config(BusPolicy policy, const std::filesystem::path& socket_path) {
    std::string out = std::string("<?xml version=\"1.0\"?>\n") + kDoctype + "<busconfig>\n" +
                      "  <type>system</type>\n" + "  <listen>unix:path=" + socket_path.string() +
                      "</listen>\n" + "  <auth>EXTERNAL</auth>\n";
    if (policy == BusPolicy::kProject || policy == BusPolicy::kProjectWithPolkit) {
        out += kSystemDefaults;
        out += "  <include>" TCPTUNE_SOURCE_DIR "/systemd/net.tcptune.conf</include>\n";
        if (policy == BusPolicy::kProjectWithPolkit) {
            // Debian's own policy of polkitd's bus name, as on a real system bus.
            out += std::string("  <include>") + kPolkitBusPolicy + "</include>\n";
        }
    } else {
        out += kAllowAll;
    }
    out += "</busconfig>\n";
    return out;
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
    {
        std::ofstream out(bus->config_file_);
        out << private_bus_config(policy, socket_path);
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
