#pragma once

// Socket inode -> owning process, the way `ss -p` and `lsof` find it: every
// /proc/<pid>/fd/<n> of a socket is a symlink reading "socket:[INODE]". Only the
// inodes asked for are looked up, so the scan costs one readlink per open fd of the
// host, and memory is bounded by the number of inodes asked for.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune {

// "socket:[12345]" -> 12345; nullopt for anything else ("pipe:[7]", "/dev/null").
std::optional<std::uint64_t> parse_socket_link(std::string_view link_target);

struct ProcessInfo {
    pid_t pid = 0;
    std::string comm;  // /proc/<pid>/comm without the newline; "?" when unreadable
};

struct SocketOwnerScan {
    std::vector<ProcessInfo> processes;  // only processes that hold a wanted inode
    // (inode, index into processes) for every fd that links to a wanted inode. A socket
    // shared by several processes (fork, SCM_RIGHTS) appears once per holder.
    struct Hit {
        std::uint64_t inode = 0;
        std::size_t process = 0;
    };
    std::vector<Hit> hits;
    std::uint64_t processes_scanned = 0;
    std::uint64_t processes_unreadable = 0;  // fd directory not listable (EACCES, gone)
};

// Scans proc_root/<pid>/fd for links to any inode in `sorted_inodes` (sorted,
// duplicates allowed). Processes that vanish during the scan are skipped. Fails only
// when proc_root itself cannot be listed.
Result<SocketOwnerScan> scan_socket_owners(const std::filesystem::path& proc_root,
                                           std::span<const std::uint64_t> sorted_inodes);

}  // namespace tcptune
