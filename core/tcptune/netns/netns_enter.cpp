#include "tcptune/netns/netns_enter.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

namespace tcptune {

namespace {

#ifndef SO_NETNS_COOKIE
constexpr int SO_NETNS_COOKIE = 71;  // include/uapi/asm-generic/socket.h, Linux 5.14
#endif

Result<void> setns_to(int fd, const NetnsInfo& ns) {
    if (::setns(fd, CLONE_NEWNET) != 0) {
        const int err = errno;
        return make_error(err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kIo,
                          fmt::format("cannot enter network namespace {} (inode {}): {}", ns.name,
                                      ns.id.inode, errno_text(err)));
    }
    return {};
}

}  // namespace

Result<std::optional<UniqueFd>> open_namespace(const NetnsInfo& ns) {
    UniqueFd fd(::open(ns.handle.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT || err == ESRCH || err == ENOTDIR) {
            return std::optional<UniqueFd>{};
        }
        return make_error(
            err == EACCES || err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kIo,
            fmt::format("{}: {}", ns.handle.string(), errno_text(err)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        const int err = errno;
        return make_error(ErrorCode::kIo,
                          fmt::format("{}: {}", ns.handle.string(), errno_text(err)));
    }
    if (NetnsId{static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)} !=
        ns.id) {
        return std::optional<UniqueFd>{};
    }
    return std::optional<UniqueFd>{std::move(fd)};
}

Result<bool> enter_namespace(const NetnsInfo& ns, int home) {
    if (ns.own) {
        // A new thread starts in its creator's namespace; a census thread that
        // visited others goes back through `home`.
        if (home >= 0) {
            TRY(setns_to(home, ns));
        }
        return true;
    }
    std::optional<UniqueFd> fd;
    TRY_ASSIGN(fd, open_namespace(ns));
    if (!fd) {
        return false;
    }
    TRY(setns_to(fd->get(), ns));
    return true;
}

std::uint64_t current_netns_cookie() {
    const UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) {
        return 0;
    }
    std::uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0 ||
        len != sizeof cookie) {
        return 0;
    }
    return cookie;
}

Result<std::vector<NetnsInfo>> resolve_namespaces(std::string_view spec,
                                                  const NetnsDiscoveryOptions& options) {
    std::vector<NetnsInfo> discovered;
    TRY_ASSIGN(discovered, discover_namespaces(options));
    return select_namespaces(discovered, spec, options);
}

Result<NetnsInfo> resolve_one_namespace(std::string_view spec,
                                        const NetnsDiscoveryOptions& options) {
    if (spec == "all") {
        return make_error(ErrorCode::kParse,
                          "--netns all names every namespace; name one (a name, inode, pid or "
                          "path; see tcptune namespaces)");
    }
    std::vector<NetnsInfo> selected;
    TRY_ASSIGN(selected, resolve_namespaces(spec, options));
    if (selected.size() != 1) {
        return make_error(ErrorCode::kNotFound,
                          fmt::format("'{}' names {} namespaces", spec, selected.size()));
    }
    return std::move(selected.front());
}

}  // namespace tcptune
