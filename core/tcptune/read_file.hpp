#pragma once

// The one way tcptune reads a file it did not create in the same breath:
// bounded, non-blocking, regular files only. A FIFO in place of the journal
// must not hang the daemon, a character device must not be read until memory
// runs out, and a 1 GiB "profile" must cost at most limit + 1 bytes.

#include <cstddef>
#include <filesystem>
#include <string>

#include "tcptune/result.hpp"

namespace tcptune {

// Limits of the files tcptune reads, in one place so docs and tests agree.
inline constexpr std::size_t kMaxProfileFileBytes = 256 * 1024;
inline constexpr std::size_t kMaxConfigFileBytes = 256 * 1024;
inline constexpr std::size_t kMaxJournalFileBytes = 4 * 1024 * 1024;
// /proc/net/{sockstat,netstat,snmp} are a few KiB; /proc/sys values are short.
inline constexpr std::size_t kMaxProcFileBytes = 1024 * 1024;

struct ReadFileOptions {
    std::size_t max_bytes = kMaxProfileFileBytes;
    // Refuse a symlink as the last path component (the journal does).
    bool no_follow = false;
};

// Opens `path` with O_RDONLY|O_NONBLOCK|O_CLOEXEC, requires a regular file
// (fstat S_ISREG: a FIFO, socket, device or directory is refused with kIo and
// says what it is) and reads at most max_bytes + 1 bytes: more than max_bytes
// is an error naming the limit. The limit is checked on the bytes read, not on
// st_size, which /proc files report as 0. Errors: kNotFound (ENOENT/ENOTDIR),
// kPermissionDenied (EACCES/EPERM), kIo (everything else), each with the path.
Result<std::string> read_file_bounded(const std::filesystem::path& path,
                                      const ReadFileOptions& options = {});

// "a FIFO", "a character device", "a directory"... for messages.
std::string describe_file_type(unsigned int st_mode);

}  // namespace tcptune
