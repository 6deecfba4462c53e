#include "tcptune/diagnosis/process_map.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>

#include "tcptune/unique_fd.hpp"

namespace tcptune {

namespace {

std::optional<std::uint64_t> parse_number(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::string read_comm(const std::filesystem::path& pid_dir) {
    std::ifstream in(pid_dir / "comm");
    std::string comm;
    if (!in || !std::getline(in, comm)) {
        return "?";
    }
    return comm;
}

// Closes a DIR* on every path out.
struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

}  // namespace

std::optional<std::uint64_t> parse_socket_link(std::string_view link_target) {
    constexpr std::string_view kPrefix = "socket:[";
    if (link_target.size() <= kPrefix.size() + 1 ||
        link_target.substr(0, kPrefix.size()) != kPrefix || link_target.back() != ']') {
        return std::nullopt;
    }
    return parse_number(
        link_target.substr(kPrefix.size(), link_target.size() - kPrefix.size() - 1));
}

Result<SocketOwnerScan> scan_socket_owners(const std::filesystem::path& proc_root,
                                           std::span<const std::uint64_t> sorted_inodes) {
    SocketOwnerScan scan;
    DirHandle proc(::opendir(proc_root.c_str()));
    if (!proc) {
        const int err = errno;
        return make_error(ErrorCode::kIo,
                          "cannot list " + proc_root.string() + ": " + errno_text(err));
    }
    if (sorted_inodes.empty()) {
        return scan;
    }
    // readlink() of the fd entries is what costs; a directory fd per process plus
    // readlinkat() avoids rebuilding paths for every descriptor.
    char target[64];
    while (dirent* entry = ::readdir(proc.get())) {
        const auto pid = parse_number(entry->d_name);
        if (!pid) {
            continue;  // not a process directory
        }
        ++scan.processes_scanned;
        const std::filesystem::path pid_dir = proc_root / entry->d_name;
        UniqueFd fd_dir_owner(::open((pid_dir / "fd").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd_dir_owner) {
            ++scan.processes_unreadable;
            continue;
        }
        const int fd_dir = fd_dir_owner.get();
        DirHandle fds(::fdopendir(fd_dir));
        if (!fds) {
            ++scan.processes_unreadable;
            continue;  // fd_dir_owner closes it
        }
        fd_dir_owner.release();  // the DIR* owns it now
        std::size_t process_index = scan.processes.size();
        bool process_recorded = false;
        while (dirent* fd_entry = ::readdir(fds.get())) {
            if (fd_entry->d_name[0] == '.') {
                continue;
            }
            const ssize_t len = ::readlinkat(fd_dir, fd_entry->d_name, target, sizeof(target));
            if (len <= 0 || static_cast<std::size_t>(len) >= sizeof(target)) {
                continue;  // closed meanwhile, or too long to be a socket link
            }
            const auto inode =
                parse_socket_link(std::string_view(target, static_cast<std::size_t>(len)));
            if (!inode || !std::binary_search(sorted_inodes.begin(), sorted_inodes.end(), *inode)) {
                continue;
            }
            if (!process_recorded) {
                scan.processes.push_back(ProcessInfo{static_cast<pid_t>(*pid), read_comm(pid_dir)});
                process_recorded = true;
            }
            scan.hits.push_back(SocketOwnerScan::Hit{*inode, process_index});
        }
    }
    return scan;
}

}  // namespace tcptune
