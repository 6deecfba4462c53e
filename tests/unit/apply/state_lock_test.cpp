#include "tcptune/apply/state_lock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

using test::TempDir;

TEST(StateDirLock, ASecondHolderIsRefusedAndToldWhoHasIt) {
    TempDir dir;
    const auto state = dir.path() / "state";
    auto first = StateDirLock::acquire(state);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_TRUE(std::filesystem::exists(state / "lock"));

    // flock is per open file description: a second acquire conflicts even in
    // the same process, exactly as a second daemon would.
    auto second = StateDirLock::acquire(state);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, ErrorCode::kRefused);
    EXPECT_NE(second.error().message.find("state directory " + state.string() +
                                          " is locked by pid " + std::to_string(::getpid())),
              std::string::npos)
        << second.error().message;
}

TEST(StateDirLock, IsReleasedWhenTheHolderGoesAway) {
    TempDir dir;
    {
        auto held = StateDirLock::acquire(dir.path());
        ASSERT_TRUE(held);
    }
    EXPECT_TRUE(StateDirLock::acquire(dir.path())) << "released on destruction";

    // A holder that dies without cleaning up (SIGKILL) leaves the file but not the lock.
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        std::optional<Result<StateDirLock>> held;
        held.emplace(StateDirLock::acquire(dir.path() / "other"));
        const char c = held->has_value() ? 'y' : 'n';
        [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
        ::pause();
        ::_exit(0);
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ASSERT_EQ(c, 'y');
    auto while_held = StateDirLock::acquire(dir.path() / "other");
    ASSERT_FALSE(while_held);
    EXPECT_NE(while_held.error().message.find("pid " + std::to_string(child)), std::string::npos);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    EXPECT_TRUE(StateDirLock::acquire(dir.path() / "other")) << "a dead holder's lock is gone";
}

TEST(StateDirLock, RefusesASymlinkInPlaceOfTheLockFile) {
    TempDir dir;
    std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "lock");
    auto lock = StateDirLock::acquire(dir.path());
    ASSERT_FALSE(lock);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "elsewhere"));
}

}  // namespace
}  // namespace tcptune
