#include "support/netns.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcptune::test {

namespace {
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
}  // namespace

std::string enter_fresh_netns() {
    if (::geteuid() != 0) {
        return "needs root to create a private network namespace (run as root, as CI does)";
    }
    if (::unshare(CLONE_NEWNET) != 0) {
        return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
    }
    return bring_loopback_up();
}

}  // namespace tcptune::test
