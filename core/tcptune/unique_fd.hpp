#pragma once

// An owned file descriptor: closed when it goes out of scope, moved, never
// copied. Paths that must know whether close() succeeded (fsync'd writes)
// release() the fd and close it themselves.

#include <unistd.h>

#include <utility>

namespace tcptune {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    // Gives up ownership without closing.
    int release() { return std::exchange(fd_, -1); }
    // Closes the owned fd (if any) and takes `fd`.
    void reset(int fd = -1) {
        const int old = std::exchange(fd_, fd);
        if (old >= 0) {
            ::close(old);
        }
    }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

}  // namespace tcptune
