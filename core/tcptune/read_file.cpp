#include "tcptune/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tcptune/unique_fd.hpp"

namespace tcptune {

namespace {

Error open_error(const std::filesystem::path& path, int err) {
    ErrorCode code = ErrorCode::kIo;
    if (err == ENOENT || err == ENOTDIR) {
        code = ErrorCode::kNotFound;
    } else if (err == EACCES || err == EPERM) {
        code = ErrorCode::kPermissionDenied;
    }
    std::string why = errno_text(err);
    if (err == ELOOP) {
        why = "it is a symbolic link, which is not followed here";
    }
    return Error{code, "cannot open " + path.string() + ": " + why};
}

}  // namespace

std::string describe_file_type(unsigned int st_mode) {
    switch (st_mode & S_IFMT) {
        case S_IFREG:
            return "a regular file";
        case S_IFDIR:
            return "a directory";
        case S_IFIFO:
            return "a FIFO";
        case S_IFSOCK:
            return "a socket";
        case S_IFCHR:
            return "a character device";
        case S_IFBLK:
            return "a block device";
        case S_IFLNK:
            return "a symbolic link";
        default:
            return "not a regular file";
    }
}

Result<std::string> read_file_bounded(const std::filesystem::path& path,
                                      const ReadFileOptions& options) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
    // forever; the S_ISREG check below then refuses it.
    int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    if (options.no_follow) {
        flags |= O_NOFOLLOW;
    }
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd) {
        return tl::unexpected(open_error(path, errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return make_error(ErrorCode::kIo,
                          "cannot stat " + path.string() + ": " + errno_text(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::kIo, path.string() + " is " + describe_file_type(st.st_mode) +
                                              ", not a regular file; refusing to read it");
    }
    if (static_cast<std::uint64_t>(st.st_size) > options.max_bytes) {
        return make_error(ErrorCode::kIo, path.string() + " is too large (" +
                                              std::to_string(st.st_size) + " bytes; at most " +
                                              std::to_string(options.max_bytes) + " are read)");
    }
    std::string text;
    // One byte more than allowed tells "exactly at the limit" from "over it",
    // whatever st_size claimed (/proc files say 0, a file may grow meanwhile).
    const std::size_t want = options.max_bytes + 1;
    text.resize(std::min<std::size_t>(
        want, st.st_size > 0 ? static_cast<std::size_t>(st.st_size) + 1 : std::size_t{4096}));
    std::size_t used = 0;
    while (true) {
        if (used == text.size()) {
            if (text.size() >= want) {
                break;
            }
            text.resize(std::min(want, text.size() * 2));
        }
        const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return make_error(ErrorCode::kIo,
                              "cannot read " + path.string() + ": " + errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        used += static_cast<std::size_t>(n);
    }
    if (used > options.max_bytes) {
        return make_error(ErrorCode::kIo, path.string() + " is too large (more than " +
                                              std::to_string(options.max_bytes) +
                                              " bytes; at most that many are read)");
    }
    text.resize(used);
    return text;
}

}  // namespace tcptune
