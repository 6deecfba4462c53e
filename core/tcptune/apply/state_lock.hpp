#pragma once

// One writer per state directory. Two daemons on one state dir would each
// rewrite journal.json from their own memory and lose each other's originals;
// nothing else stops that when the bus name is not taken (--bus none in a
// container with a host-path state dir). So every process that may write the
// journal (tcptuned, the test harness) holds an exclusive flock on
// <state-dir>/lock for as long as it runs; the lock file holds its pid so the
// refusal can say who has it. The kernel drops the lock when the holder dies,
// even by SIGKILL: a stale lock file never blocks a restart.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune {

inline constexpr std::string_view kStateLockFileName = "lock";

class StateDirLock {
  public:
    // Creates the state directory if needed, then <state_dir>/lock, and takes
    // flock(LOCK_EX | LOCK_NB). Held by another process: kRefused, "state
    // directory X is locked by pid N". Never waits.
    static Result<StateDirLock> acquire(const std::filesystem::path& state_dir);

    const std::filesystem::path& path() const { return path_; }

  private:
    StateDirLock(UniqueFd fd, std::filesystem::path path);
    UniqueFd fd_;
    std::filesystem::path path_;
};

}  // namespace tcptune
