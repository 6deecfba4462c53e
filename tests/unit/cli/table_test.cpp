#include "table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace tcptune::cli {
namespace {

TEST(Table, RightAlignsAndTrimsTrailingBlanks) {
    Table table({{"NAME", Align::kLeft}, {"COUNT", Align::kRight}, {"NOTE", Align::kLeft}});
    table.add_row({"a", "1", ""});
    table.add_row({"longer", "12345", "x"});
    EXPECT_EQ(table.render(false),
              "NAME    COUNT  NOTE\n"
              "a           1\n"
              "longer  12345  x\n");
}

TEST(Table, MissingCellsPrintEmptyAndExtraCellsAreIgnored) {
    Table table({{"A", Align::kLeft}, {"B", Align::kRight}});
    table.add_row({"only"});
    table.add_row({"x", "2", "dropped"});
    EXPECT_EQ(table.render(false),
              "A     B\n"
              "only\n"
              "x     2\n");
}

TEST(Table, AHeaderAloneIsOneLine) {
    Table table({{"STATE", Align::kLeft}, {"SOCKETS", Align::kRight}});
    EXPECT_EQ(table.render(false), "STATE  SOCKETS\n");
}

TEST(Table, ColourBoldsTheHeaderAndStylesRowsButNeverChangesTheText) {
    Table table({{"K", Align::kLeft}, {"V", Align::kRight}});
    table.add_row({"n", "1"}, RowStyle::kNormal);
    table.add_row({"d", "2"}, RowStyle::kDim);
    table.add_row({"w", "3"}, RowStyle::kWarn);
    EXPECT_EQ(table.render(true),
              "\x1b[1mK  V\x1b[0m\n"
              "n  1\n"
              "\x1b[2md  2\x1b[0m\n"
              "\x1b[33mw  3\x1b[0m\n");
    // Without colour the styles are ignored.
    EXPECT_EQ(table.render(false), "K  V\nn  1\nd  2\nw  3\n");
}

TEST(Table, ColourOnlyOnATerminalAndNeverWithNoColor) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    EXPECT_FALSE(colour_enabled(pipe_fds[1])) << "a pipe is not a terminal";
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);

    const int tty = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) {
        GTEST_SKIP() << "no pseudo-terminal to test the terminal case with";
    }
    ASSERT_EQ(::grantpt(tty), 0);
    ASSERT_EQ(::unlockpt(tty), 0);
    const int replica = ::open(::ptsname(tty), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(replica, 0);
    const char* saved = std::getenv("NO_COLOR");
    const std::string saved_value = saved != nullptr ? saved : "";
    ::unsetenv("NO_COLOR");
    EXPECT_TRUE(colour_enabled(replica));
    ::setenv("NO_COLOR", "", 1);  // any value, even empty, turns colour off
    EXPECT_FALSE(colour_enabled(replica));
    if (saved != nullptr) {
        ::setenv("NO_COLOR", saved_value.c_str(), 1);
    } else {
        ::unsetenv("NO_COLOR");
    }
    ::close(replica);
    ::close(tty);
}

}  // namespace
}  // namespace tcptune::cli
