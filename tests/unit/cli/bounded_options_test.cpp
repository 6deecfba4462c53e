#include "bounded_options.hpp"

#include <gtest/gtest.h>

namespace tcptune::cli {
namespace {

TEST(BoundedOptions, IntegersArePlainDecimalWithinBounds) {
    EXPECT_EQ(parse_bounded_integer("10", 1, 1000), 10U);
    EXPECT_EQ(parse_bounded_integer("1000", 1, 1000), 1000U);
    for (const char* bad : {"-1", "1e20", "4.3e12", "", " 5", "5 ", "+5", "0x10", "1001", "0",
                            "18446744073709551616", "99999999999999999999999"}) {
        EXPECT_FALSE(parse_bounded_integer(bad, 1, 1000)) << bad;
    }
}

TEST(BoundedOptions, SecondsArePlainDecimalWithinBounds) {
    EXPECT_EQ(parse_bounded_seconds("0.5", 0.1, 3600), 0.5);
    EXPECT_EQ(parse_bounded_seconds("3600", 0.1, 3600), 3600.0);
    for (const char* bad : {"-1", "0.05", "1e400", "nan", "inf", "1..2", ".", "", "3601"}) {
        EXPECT_FALSE(parse_bounded_seconds(bad, 0.1, 3600)) << bad;
    }
}

TEST(BoundedOptions, ACommandRejectsOutOfRangeValuesWithAShortMessage) {
    CLI::App app;
    std::size_t top = 10;
    add_bounded_integer(app, "-n,--top", top, 1, 1000, "Rows");
    try {
        app.parse("--top -1", false);
        FAIL() << "accepted -1";
    } catch (const CLI::ValidationError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("from 1 to 1000"), std::string::npos) << what;
        EXPECT_LT(what.size(), 120U) << "no DBL_MAX in 300 digits";
    }
    app.parse("--top 25", false);
    EXPECT_EQ(top, 25U);
}

}  // namespace
}  // namespace tcptune::cli
