#include "support/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/run_command.hpp"

namespace tcptune::test {

std::string bring_loopback_up() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return std::string("socket(AF_INET) failed: ") + std::strerror(errno);
    }
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    std::string why;
    if (::ioctl(fd, SIOCGIFFLAGS, &req) < 0) {
        why = std::string("SIOCGIFFLAGS(lo) failed: ") + std::strerror(errno);
    } else {
        req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
        if (::ioctl(fd, SIOCSIFFLAGS, &req) < 0) {
            why = std::string("SIOCSIFFLAGS(lo up) failed: ") + std::strerror(errno);
        }
    }
    ::close(fd);
    return why;
}

std::string enter_fresh_netns() {
    if (::geteuid() != 0) {
        return "needs root to create a private network namespace (run as root, as CI does)";
    }
    if (::unshare(CLONE_NEWNET) != 0) {
        return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
    }
    return bring_loopback_up();
}

IpNetns::IpNetns(std::string name) : name_(std::move(name)) {
    if (::geteuid() != 0) {
        why_ = "needs root for ip netns add";
        return;
    }
    auto added = run_command("ip netns add " + name_, {.merge_stderr = true});
    if (added.exit_code != 0) {
        why_ = "ip netns add " + name_ + ": " + describe(added);
        return;
    }
    exists_ = true;
    auto up = run_command("ip -n " + name_ + " link set lo up", {.merge_stderr = true});
    if (up.exit_code != 0) {
        why_ = "ip -n " + name_ + " link set lo up: " + describe(up);
    }
}

IpNetns::~IpNetns() {
    remove();
}

void IpNetns::remove() {
    if (exists_) {
        run_command("ip netns delete " + name_, {.merge_stderr = true});
        exists_ = false;
    }
}

UnsharedProcess::UnsharedProcess() {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        why_ = std::string("pipe2: ") + std::strerror(errno);
        return;
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        why_ = std::string("fork: ") + std::strerror(errno);
        ::close(ready[0]);
        ::close(ready[1]);
        return;
    }
    if (pid_ == 0) {
        ::close(ready[0]);
        char status = 'x';
        if (::unshare(CLONE_NEWNET) == 0 && bring_loopback_up().empty()) {
            status = 'k';
        }
        (void)!::write(ready[1], &status, 1);
        ::close(ready[1]);
        for (;;) {
            ::pause();
        }
    }
    ::close(ready[1]);
    char status = 0;
    const ssize_t got = ::read(ready[0], &status, 1);
    ::close(ready[0]);
    if (got != 1 || status != 'k') {
        why_ = "the child could not unshare a network namespace";
        stop();
    }
}

UnsharedProcess::~UnsharedProcess() {
    stop();
}

void UnsharedProcess::stop() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
}

InsideNetns::InsideNetns(const std::filesystem::path& path) {
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (home_ < 0 || target < 0) {
        why_ =
            "cannot open " + path.string() + " or this thread's namespace: " + std::strerror(errno);
    } else if (::setns(target, CLONE_NEWNET) != 0) {
        why_ = "setns " + path.string() + ": " + std::strerror(errno);
    }
    if (target >= 0) {
        ::close(target);
    }
}

InsideNetns::~InsideNetns() {
    if (home_ >= 0) {
        (void)::setns(home_, CLONE_NEWNET);
        ::close(home_);
    }
}

Result<std::unique_ptr<SocketFactory>> sockets_in(
    const std::filesystem::path& netns, const std::function<Result<void>(SocketFactory&)>& fill) {
    InsideNetns inside(netns);
    if (!inside.ok()) {
        return make_error(ErrorCode::kIo, inside.why());
    }
    auto factory = std::make_unique<SocketFactory>();
    TRY(fill(*factory));
    return factory;
}

}  // namespace tcptune::test
