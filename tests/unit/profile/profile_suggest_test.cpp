#include "tcptune/profile/profile_suggest.hpp"

#include <array>
#include <string_view>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

constexpr std::array<std::string_view, 4> kWords = {"cooldown", "revert", "clear", "when"};

TEST(ClosestMatch, FindsATypo) {
    EXPECT_EQ(closest_match("cooldwn", kWords), "cooldown");
    EXPECT_EQ(closest_match("reverts", kWords), "revert");
    EXPECT_EQ(closest_match("wehn", kWords), "when");
}

TEST(ClosestMatch, NothingWhenTooFar) {
    EXPECT_EQ(closest_match("interval", kWords), "");
    EXPECT_EQ(closest_match("", std::span<const std::string_view>{}), "");
}

}  // namespace
}  // namespace tcptune
