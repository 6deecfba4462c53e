#include "support/private_polkit.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "support/files.hpp"

namespace tcptune::test {

namespace fs = std::filesystem;

namespace {

struct BindMount {
    const char* source;  // below the test's directory
    const char* target;
};

// What polkitd reads, each replaced by the test's own directory.
constexpr BindMount kMounts[] = {
    {"actions", "/usr/share/polkit-1/actions"},
    {"rules.d", "/etc/polkit-1/rules.d"},
    {"vendor-rules.d", "/usr/share/polkit-1/rules.d"},
};

// In the child, before exec (so no allocation here: `sources` are kMounts'
// sources, made absolute by the parent): a private mount namespace with the
// bind mounts. Returns what failed, or nullptr.
const char* enter_private_mounts(const std::vector<std::string>& sources) {
    if (::unshare(CLONE_NEWNS) != 0) {
        return "unshare(CLONE_NEWNS) failed\n";
    }
    // Nothing mounted below propagates back to the host's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        return "making / private failed\n";
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (::mount(sources[i].c_str(), kMounts[i].target, nullptr, MS_BIND, nullptr) != 0) {
            return "bind mount over a polkit directory failed\n";
        }
    }
    return nullptr;
}

}  // namespace

std::string PrivatePolkit::unavailable_reason() {
    if (::geteuid() != 0) {
        return "polkitd on a private bus needs root (a private mount namespace)";
    }
    if (::access(kPolkitdPath, X_OK) != 0) {
        return std::string(kPolkitdPath) + " is not installed (apt-get install polkitd)";
    }
    for (const auto& m : kMounts) {
        if (!fs::is_directory(m.target)) {
            return std::string(m.target) + " does not exist (polkitd package incomplete)";
        }
    }
    return "";
}

Result<std::unique_ptr<PrivatePolkit>> PrivatePolkit::start(const std::string& bus_address,
                                                            const std::string& rules_js) {
    std::unique_ptr<PrivatePolkit> polkit(new PrivatePolkit());
    std::string dir_template = (fs::temp_directory_path() / "tcptune-polkit-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        return make_error(ErrorCode::kIo, std::string("mkdtemp: ") + std::strerror(errno));
    }
    polkit->dir_ = dir_template;
    std::error_code ec;
    for (const auto& m : kMounts) {
        fs::create_directories(polkit->dir_ / m.source, ec);
    }
    fs::copy_file(fs::path(TCPTUNE_SOURCE_DIR) / "systemd" / "net.tcptune.policy",
                  polkit->dir_ / "actions" / "net.tcptune.policy", ec);
    if (ec) {
        return make_error(ErrorCode::kIo, "cannot copy the action file: " + ec.message());
    }
    {
        std::ofstream rules(polkit->dir_ / "rules.d" / "50-tcptune-test.rules");
        rules << rules_js;
        if (!rules) {
            return make_error(ErrorCode::kIo, "cannot write the test rule");
        }
    }
    // polkitd drops to its own user after start: it must read all of it.
    for (const auto& entry : fs::recursive_directory_iterator(polkit->dir_)) {
        ::chmod(entry.path().c_str(), entry.is_directory() ? 0755 : 0644);
    }
    ::chmod(polkit->dir_.c_str(), 0755);

    const std::string log_file = (polkit->dir_ / "polkitd.log").string();
    // polkitd's whole environment: the bus to use as "the system bus".
    std::string bus_env = "DBUS_SYSTEM_BUS_ADDRESS=" + bus_address;
    char* env[] = {bus_env.data(), nullptr};
    std::vector<std::string> sources;
    for (const auto& m : kMounts) {
        sources.push_back((polkit->dir_ / m.source).string());
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (const char* why = enter_private_mounts(sources)) {
            (void)!::write(STDERR_FILENO, why, std::strlen(why));
            ::_exit(126);
        }
        ::execle(kPolkitdPath, kPolkitdPath, static_cast<char*>(nullptr), env);
        ::_exit(127);
    }
    polkit->pid_ = pid;

    // Ready once it owns its name on the bus; it logs that line then.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (polkit->log().find("Acquired the name org.freedesktop.PolicyKit1") ==
           std::string::npos) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            polkit->pid_ = -1;
            return make_error(ErrorCode::kIo, "polkitd exited: " + polkit->log());
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return make_error(ErrorCode::kIo,
                              "polkitd did not take its bus name in 10 s: " + polkit->log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return polkit;
}

PrivatePolkit::~PrivatePolkit() {
    if (pid_ > 0) {
        ::kill(pid_, SIGCONT);  // a frozen process would not see SIGTERM until thawed
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void PrivatePolkit::freeze() const {
    ::kill(pid_, SIGSTOP);
}

void PrivatePolkit::thaw() const {
    ::kill(pid_, SIGCONT);
}

std::string PrivatePolkit::log() const {
    return read_text(dir_ / "polkitd.log");
}

}  // namespace tcptune::test
