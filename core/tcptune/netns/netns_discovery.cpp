#include "tcptune/netns/netns_discovery.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "tcptune/config/whole_number.hpp"
#include "tcptune/netns/cgroup_name.hpp"
#include "tcptune/read_file.hpp"

namespace tcptune {

namespace {

// /proc/<pid>/cgroup is one line per hierarchy: a few KiB at most.
constexpr std::size_t kMaxCgroupFileBytes = 64 * 1024;

struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

std::optional<pid_t> parse_pid(std::string_view s) {
    pid_t pid = 0;
    const auto* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, pid);
    if (s.empty() || ec != std::errc() || ptr != end || pid <= 0) {
        return std::nullopt;
    }
    return pid;
}

// The largest pid_max the kernel accepts (PID_MAX_LIMIT on 64-bit).
constexpr std::uint64_t kMaxPid = 1U << 22;

Result<NetnsId> stat_id(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        return make_error(err == ENOENT || err == ESRCH || err == ENOTDIR ? ErrorCode::kNotFound
                          : err == EACCES || err == EPERM ? ErrorCode::kPermissionDenied
                                                          : ErrorCode::kIo,
                          fmt::format("{}: {}", path.string(), errno_text(err)));
    }
    return NetnsId{static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)};
}

// Entries of a directory, bounded; a missing directory is an empty list.
Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir, std::size_t limit) {
    DirPtr handle(::opendir(dir.c_str()));
    if (!handle) {
        const int err = errno;
        if (err == ENOENT) {
            return std::vector<std::string>{};
        }
        return make_error(ErrorCode::kIo, fmt::format("{}: {}", dir.string(), errno_text(err)));
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(handle.get())) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        if (names.size() >= limit) {
            break;
        }
        names.emplace_back(entry->d_name);
    }
    return names;
}

void name_from_processes(NetnsInfo& ns, const std::filesystem::path& proc_dir) {
    if (!ns.pid) {
        return;
    }
    auto text = read_file_bounded(proc_dir / std::to_string(*ns.pid) / "cgroup",
                                  {.max_bytes = kMaxCgroupFileBytes});
    if (text) {
        ns.cgroup = cgroup_path_from_proc(*text);
    }
    if (!ns.name.empty()) {
        return;
    }
    if (auto workload = workload_name_from_cgroup(ns.cgroup)) {
        ns.name = *workload;
    } else {
        ns.name = fmt::format("pid:{}", *ns.pid);
    }
}

}  // namespace

Result<NetnsId> netns_id_of(const std::filesystem::path& path) {
    return stat_id(path);
}

Result<std::vector<NetnsInfo>> discover_namespaces(const NetnsDiscoveryOptions& options) {
    NetnsId own_id;
    TRY_ASSIGN(own_id, stat_id(options.proc_dir / "thread-self/ns/net"));

    std::map<NetnsId, NetnsInfo> found;
    NetnsInfo& own = found[own_id];
    own.id = own_id;
    own.own = true;
    own.name = std::string(kOwnNetnsName);
    own.handle = options.proc_dir / "thread-self/ns/net";

    std::vector<std::string> run_names;
    TRY_ASSIGN(run_names, list_dir(options.run_netns_dir, options.max_run_netns_entries));
    std::sort(run_names.begin(), run_names.end());
    for (const auto& entry : run_names) {
        const auto path = options.run_netns_dir / entry;
        auto id = stat_id(path);
        // A file left by a failed `ip netns add` is not a namespace: it is not on nsfs.
        if (!id || id->device != own_id.device) {
            continue;
        }
        NetnsInfo& ns = found[*id];
        ns.id = *id;
        if (ns.ip_netns_name.empty()) {
            ns.ip_netns_name = entry;
            if (!ns.own) {
                ns.name = entry;
                ns.handle = path;
            }
        }
    }

    std::vector<std::string> entries;
    TRY_ASSIGN(entries, list_dir(options.proc_dir, options.max_processes));
    for (const auto& entry : entries) {
        const auto pid = parse_pid(entry);
        if (!pid) {
            continue;
        }
        const auto path = options.proc_dir / entry / "ns/net";
        auto id = stat_id(path);
        if (!id) {
            continue;  // exited meanwhile, a kernel thread, or not ours to look at
        }
        NetnsInfo& ns = found[*id];
        ns.id = *id;
        ++ns.processes;
        if (!ns.pid || *pid < *ns.pid) {
            ns.pid = *pid;
            if (ns.ip_netns_name.empty() && !ns.own) {
                ns.handle = path;
            }
        }
    }

    std::vector<NetnsInfo> result;
    result.reserve(found.size());
    std::set<std::string> used;
    for (auto& [id, ns] : found) {
        name_from_processes(ns, options.proc_dir);
        // Two namespaces of one workload (or a name reused): keep names unique.
        if (!used.insert(ns.name).second) {
            ns.name = fmt::format("{}@{}", ns.name, ns.id.inode);
            used.insert(ns.name);
        }
        result.push_back(std::move(ns));
    }
    std::sort(result.begin(), result.end(), [](const NetnsInfo& a, const NetnsInfo& b) {
        if (a.own != b.own) {
            return a.own;
        }
        return a.name < b.name;
    });
    return result;
}

Result<std::vector<NetnsInfo>> select_namespaces(const std::vector<NetnsInfo>& discovered,
                                                 std::string_view spec,
                                                 const NetnsDiscoveryOptions& options) {
    if (spec == "all") {
        return discovered;
    }
    for (const auto& ns : discovered) {
        if (ns.name == spec || (!ns.ip_netns_name.empty() && ns.ip_netns_name == spec)) {
            return std::vector<NetnsInfo>{ns};
        }
    }
    // An inode (as `lsns` and `ip netns identify` print it) before a pid: nsfs inodes
    // are far above any pid (pid_max is at most 2^22).
    if (const auto inode =
            parse_whole_number<std::uint64_t>(spec, 1, std::numeric_limits<std::uint64_t>::max())) {
        for (const auto& ns : discovered) {
            if (ns.id.inode == *inode) {
                return std::vector<NetnsInfo>{ns};
            }
        }
        if (*inode > kMaxPid) {
            return make_error(
                ErrorCode::kNotFound,
                fmt::format("no network namespace has inode {} (see tcptune namespaces)", *inode));
        }
    }
    std::filesystem::path path;
    std::string name;
    if (const auto pid = parse_pid(spec)) {
        path = options.proc_dir / std::to_string(*pid) / "ns/net";
        name = fmt::format("pid:{}", *pid);
    } else if (spec.find('/') != std::string_view::npos) {
        path = std::filesystem::path(spec);
        name = std::string(spec);
    } else {
        return make_error(
            ErrorCode::kNotFound,
            fmt::format("no network namespace named '{}' (see tcptune census --netns all)", spec));
    }
    NetnsId id;
    TRY_ASSIGN(id, stat_id(path));
    NetnsId own_id;
    TRY_ASSIGN(own_id, stat_id(options.proc_dir / "thread-self/ns/net"));
    if (id.device != own_id.device) {
        return make_error(ErrorCode::kNotFound,
                          fmt::format("{} is not a namespace file (not on nsfs)", path.string()));
    }
    for (const auto& ns : discovered) {
        if (ns.id == id) {
            return std::vector<NetnsInfo>{ns};
        }
    }
    NetnsInfo ns;
    ns.name = name;
    ns.id = id;
    ns.handle = path;
    return std::vector<NetnsInfo>{ns};
}

}  // namespace tcptune
