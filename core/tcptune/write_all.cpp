#include "tcptune/write_all.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace tcptune {

Result<void> write_all(int fd, std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            const int err = errno;
            if (err == EINTR) {
                continue;
            }
            return make_error(err == EACCES || err == EPERM || err == EROFS
                                  ? ErrorCode::kPermissionDenied
                                  : ErrorCode::kIo,
                              "write: " + errno_text(err));
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace tcptune
