#include "tcptune/netns/netns_sysctl_store.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <exception>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "tcptune/unique_fd.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71  // include/uapi/asm-generic/socket.h, Linux 5.14
#endif

namespace tcptune {

namespace {

Error gone(const NetnsInfo& ns, std::string_view why) {
    return Error{ErrorCode::kNotFound,
                 fmt::format("network namespace {} (inode {}) {}", ns.name, ns.id.inode, why)};
}

}  // namespace

Result<void> run_in_namespace(const NetnsInfo& ns, const std::function<Result<void>()>& body) {
    std::optional<UniqueFd> opened;
    TRY_ASSIGN(opened, open_namespace(ns));
    if (!opened) {
        return tl::unexpected(
            gone(ns, fmt::format("is gone ({} no longer leads to it)", ns.handle.string())));
    }
    const UniqueFd fd = std::move(*opened);
    Result<void> result = make_error(ErrorCode::kInternal, "namespace worker did not run");
    std::thread worker([&] {
        try {
            if (::setns(fd.get(), CLONE_NEWNET) != 0) {
                const int err = errno;
                result = make_error(err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kIo,
                                    fmt::format("cannot enter network namespace {} (inode {}): {}",
                                                ns.name, ns.id.inode, errno_text(err)));
                return;
            }
            result = body();
        } catch (const std::exception& e) {
            result = make_error(ErrorCode::kInternal,
                                fmt::format("in network namespace {}: {}", ns.name, e.what()));
        }
    });
    worker.join();
    return result;
}

Result<std::uint64_t> read_netns_cookie(const NetnsInfo& ns) {
    std::uint64_t cookie = 0;
    TRY(run_in_namespace(ns, [&]() -> Result<void> {
        UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!sock) {
            const int err = errno;
            return make_error(ErrorCode::kIo, "socket: " + errno_text(err));
        }
        socklen_t len = sizeof(cookie);
        if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) {
            const int err = errno;
            if (err == ENOPROTOOPT) {
                cookie = 0;  // before 5.14: the inode (and name) must do
                return {};
            }
            return make_error(ErrorCode::kIo, "SO_NETNS_COOKIE: " + errno_text(err));
        }
        return {};
    }));
    return cookie;
}

NetnsSysctlStore::NetnsSysctlStore(NetnsInfo ns) : ns_(std::move(ns)) {}

Result<std::string> NetnsSysctlStore::read(std::string_view key) const {
    Result<std::string> value = make_error(ErrorCode::kInternal, "not read");
    TRY(run_in_namespace(ns_, [&]() -> Result<void> {
        value = ProcSysctlStore().read(key);
        return {};
    }));
    return value;
}

Result<void> NetnsSysctlStore::write(std::string_view key, std::string_view value) {
    return run_in_namespace(ns_, [&] { return ProcSysctlStore().write(key, value); });
}

}  // namespace tcptune
