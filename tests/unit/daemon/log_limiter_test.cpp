#include "log_limiter.hpp"

#include <gtest/gtest.h>

namespace tcptune::daemon {
namespace {

using namespace std::chrono_literals;

TEST(LogRateLimiter, AllowsABurstPerSenderThenCountsWhatItDrops) {
    LogRateLimiter limiter(3, 10s);
    const auto t0 = LogRateLimiter::Clock::time_point{} + 1000s;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter.admit(":1.5", t0), 0U);
    }
    for (int i = 0; i < 5000; ++i) {
        EXPECT_FALSE(limiter.admit(":1.5", t0 + 1s));
    }
    EXPECT_EQ(limiter.admit(":1.6", t0 + 1s), 0U) << "another sender has its own budget";
    // The next window: one line, saying how many were suppressed.
    EXPECT_EQ(limiter.admit(":1.5", t0 + 11s), 5000U);
    EXPECT_EQ(limiter.admit(":1.5", t0 + 11s), 0U);
    EXPECT_EQ(limiter.suppressed_total(), 5000U);
    EXPECT_EQ(suppressed_note(5000), " (5000 similar lines from this caller suppressed)");
    EXPECT_EQ(suppressed_note(0), "");
}

TEST(LogRateLimiter, RemembersABoundedNumberOfSenders) {
    LogRateLimiter limiter(1, 10s, 4);
    const auto t0 = LogRateLimiter::Clock::time_point{} + 1000s;
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(limiter.admit(":1." + std::to_string(i), t0 + std::chrono::seconds(i)), 0U);
    }
    // The newest senders are still limited.
    EXPECT_FALSE(limiter.admit(":1.99", t0 + 99s));
}

}  // namespace
}  // namespace tcptune::daemon
