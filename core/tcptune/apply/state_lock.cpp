#include "tcptune/apply/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace tcptune {

namespace fs = std::filesystem;

namespace {

// The pid the holder wrote, read through the fd we opened (bounded: a pid is
// short), or 0 when it cannot be told.
pid_t holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return 0;
    }
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(buf, buf + n, pid);
    return ec == std::errc() ? pid : 0;
}

}  // namespace

StateDirLock::StateDirLock(UniqueFd fd, fs::path path)
    : fd_(std::move(fd)), path_(std::move(path)) {}

Result<StateDirLock> StateDirLock::acquire(const fs::path& state_dir) {
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    if (ec) {
        return make_error(ErrorCode::kIo, "cannot create state directory " + state_dir.string() +
                                              ": " + ec.message());
    }
    fs::path path = state_dir / std::string(kStateLockFileName);
    // O_NOFOLLOW: whoever can write the state dir must not turn the lock into a
    // write through a symlink elsewhere.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (!fd) {
        const int err = errno;
        return make_error(
            err == EACCES || err == EPERM || err == EROFS ? ErrorCode::kPermissionDenied
                                                          : ErrorCode::kIo,
            "cannot open the state directory lock " + path.string() + ": " + errno_text(err));
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            const pid_t pid = holder_pid(fd.get());
            return make_error(
                ErrorCode::kRefused,
                "state directory " + state_dir.string() + " is locked by " +
                    (pid > 0 ? "pid " + std::to_string(pid) : std::string("another process")) +
                    " (" + path.string() +
                    "): another tcptuned (or tool writing its journal) uses it; "
                    "stop it or give this one its own --state-dir");
        }
        return make_error(ErrorCode::kIo, "cannot lock " + path.string() + ": " + errno_text(err));
    }
    // Ours now: say who holds it. A failure here costs only the pid in a
    // later refusal, not the lock.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) == 0) {
        [[maybe_unused]] const ssize_t written = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
    }
    return StateDirLock(std::move(fd), std::move(path));
}

}  // namespace tcptune
