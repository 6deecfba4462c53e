#include "tcptune/apply/sysctl_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/read_file.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune {

namespace {

ErrorCode code_for_errno(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return ErrorCode::kNotFound;
        case EACCES:
        case EPERM:
        case EROFS:
            return ErrorCode::kPermissionDenied;
        default:
            return ErrorCode::kIo;
    }
}

bool valid_component_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

}  // namespace

Result<std::filesystem::path> sysctl_key_path(const std::filesystem::path& root,
                                              std::string_view key) {
    std::filesystem::path path = root;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        const std::string_view part =
            key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        bool ok = !part.empty();
        for (char c : part) {
            ok = ok && valid_component_char(c);
        }
        if (!ok) {
            return make_error(ErrorCode::kParse,
                              "not a sysctl key: \"" + std::string(key) +
                                  "\" (expected dotted names like net.ipv4.tcp_fin_timeout)");
        }
        path /= std::string(part);
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return path;
}

ProcSysctlStore::ProcSysctlStore(std::filesystem::path root) : root_(std::move(root)) {}

Result<std::string> ProcSysctlStore::read(std::string_view key) const {
    std::filesystem::path path;
    TRY_ASSIGN(path, sysctl_key_path(root_, key));
    // A tunable's value is a line; 64 KiB is generous.
    auto raw = read_file_bounded(path, {.max_bytes = 64 * 1024, .no_follow = true});
    if (!raw) {
        return make_error(raw.error().code,
                          "cannot read " + std::string(key) + ": " + raw.error().message);
    }
    return normalize_sysctl_value(*raw);
}

Result<void> ProcSysctlStore::write(std::string_view key, std::string_view value) {
    std::filesystem::path path;
    TRY_ASSIGN(path, sysctl_key_path(root_, key));
    // No O_CREAT: writing a key the kernel does not have must fail, as on procfs.
    // O_TRUNC matters only for the temp-dir stand-in; procfs ignores it.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        const int err = errno;
        return make_error(code_for_errno(err),
                          "cannot open " + std::string(key) + " for writing: " + errno_text(err));
    }
    // procfs parses one write(2) as the whole value: never split it.
    std::string line(value);
    line += '\n';
    ssize_t n = -1;
    do {
        n = ::write(fd.get(), line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        const int err = errno;
        return make_error(code_for_errno(err), "kernel rejected " + std::string(key) + "=" +
                                                   std::string(value) + ": " + errno_text(err));
    }
    if (static_cast<std::size_t>(n) != line.size()) {
        return make_error(ErrorCode::kIo, "short write to " + std::string(key) + ": " +
                                              std::to_string(n) + " of " +
                                              std::to_string(line.size()) + " bytes");
    }
    // A write error procfs reports late surfaces at close: checked, not dropped.
    if (::close(fd.release()) != 0) {
        const int err = errno;
        return make_error(code_for_errno(err),
                          "writing " + std::string(key) + " failed on close: " + errno_text(err));
    }
    return {};
}

}  // namespace tcptune
