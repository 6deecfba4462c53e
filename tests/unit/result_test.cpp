#include "tcptune/result.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "tcptune/unique_fd.hpp"

namespace tcptune {
namespace {

Result<int> parse_digit(char c) {
    if (c < '0' || c > '9') {
        return make_error(ErrorCode::kParse, std::string("not a digit: ") + c);
    }
    return c - '0';
}

Result<int> sum_of_two(char a, char b, int& steps) {
    int first = 0;
    TRY_ASSIGN(first, parse_digit(a));
    ++steps;
    int second = 0;
    TRY_ASSIGN(second, parse_digit(b));
    ++steps;
    return first + second;
}

Result<void> both_digits(char a, char b) {
    TRY(parse_digit(a));
    TRY(parse_digit(b));
    return {};
}

TEST(Result, TryAssignReturnsTheFirstErrorAndStopsThere) {
    int steps = 0;
    EXPECT_EQ(sum_of_two('3', '4', steps), 7);
    EXPECT_EQ(steps, 2);
    steps = 0;
    const auto failed = sum_of_two('x', '4', steps);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kParse);
    EXPECT_EQ(failed.error().message, "not a digit: x");
    EXPECT_EQ(steps, 0) << "nothing after the failing step ran";
}

TEST(Result, TryPassesAnErrorThroughAVoidResult) {
    EXPECT_TRUE(both_digits('1', '2'));
    const auto failed = both_digits('1', '?');
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message, "not a digit: ?");
}

TEST(Result, ErrnoTextNamesTheErrno) {
    EXPECT_EQ(errno_text(EACCES), "Permission denied (EACCES, errno 13)");
    EXPECT_EQ(errno_text(ENOENT), "No such file or directory (ENOENT, errno 2)");
    EXPECT_NE(errno_text(100000).find("errno 100000"), std::string::npos);
}

TEST(UniqueFd, ClosesOnScopeExitAndMovesOwnership) {
    int raw = -1;
    {
        UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        ASSERT_TRUE(fd);
        raw = fd.get();
        UniqueFd moved(std::move(fd));
        EXPECT_FALSE(fd) << "a moved-from fd owns nothing";
        EXPECT_EQ(moved.get(), raw);
        EXPECT_NE(::fcntl(raw, F_GETFD), -1) << "still open while owned";
    }
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1) << "closed when the owner went out of scope";
    EXPECT_EQ(errno, EBADF);

    UniqueFd released(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int kept = released.release();
    EXPECT_FALSE(released);
    EXPECT_NE(::fcntl(kept, F_GETFD), -1) << "release() gives it up without closing";
    UniqueFd adopted;
    adopted.reset(kept);
    EXPECT_EQ(adopted.get(), kept);
    adopted.reset();
    EXPECT_EQ(::fcntl(kept, F_GETFD), -1);
}

}  // namespace
}  // namespace tcptune
