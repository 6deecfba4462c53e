#include "tcptune/duration.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesEveryUnit) {
    EXPECT_EQ(parse_duration("500ms").value(), milliseconds(500));
    EXPECT_EQ(parse_duration("5s").value(), milliseconds(5000));
    EXPECT_EQ(parse_duration("2m").value(), milliseconds(120000));
    EXPECT_EQ(parse_duration("1h").value(), milliseconds(3600000));
    EXPECT_EQ(parse_duration("1m30s").value(), milliseconds(90000));
    EXPECT_EQ(parse_duration("0s").value(), milliseconds(0));
}

TEST(Duration, RejectsAmbiguousOrMalformedText) {
    for (const char* bad : {"", "5", "5 s", "-5s", "5sec", "1.5s", "s", "5s3", "1x", "ms5"}) {
        auto r = parse_duration(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_NE(r.error().message.find("500ms, 5s, 2m"), std::string::npos) << bad;
    }
}

TEST(Duration, RejectsAbsurdlyLongWithoutOverflow) {
    EXPECT_FALSE(parse_duration("8000h").has_value());
    EXPECT_FALSE(parse_duration("99999999999999999999999s").has_value());
    EXPECT_TRUE(parse_duration("168h").has_value());
}

TEST(Duration, FormatRoundTrips) {
    for (long ms : {0L, 1L, 500L, 1000L, 5000L, 90000L, 3600000L, 3723004L}) {
        const std::string text = format_duration(milliseconds(ms));
        EXPECT_EQ(parse_duration(text).value(), milliseconds(ms)) << text;
    }
    EXPECT_EQ(format_duration(milliseconds(90000)), "1m30s");
    EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
}

}  // namespace
}  // namespace tcptune
