#pragma once

// Writing a whole buffer to a file descriptor: write(2) may write less than asked
// (pipes, signals), so every caller that must not lose a byte loops the same way.

#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

// Writes all of `data` to `fd`, retrying short writes and EINTR. A failure is
// kPermissionDenied for EACCES, EPERM and EROFS, kIo otherwise, and says
// "write: <errno_text>".
Result<void> write_all(int fd, std::string_view data);

}  // namespace tcptune
