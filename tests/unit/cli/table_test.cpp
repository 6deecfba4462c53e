#include "table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tcptune::cli {
namespace {

// Without colour: the header, then each row; right-aligned columns padded on the
// left, trailing blanks trimmed, missing cells empty, extra cells dropped.
struct RenderCase {
    const char* what;
    std::vector<Column> columns;
    std::vector<std::vector<std::string>> rows;
    std::string text;
};

TEST(Table, RendersTheHeaderAndTheRowsAligned) {
    const RenderCase cases[] = {
        {"right-aligns and trims trailing blanks",
         {{"NAME", Align::kLeft}, {"COUNT", Align::kRight}, {"NOTE", Align::kLeft}},
         {{"a", "1", ""}, {"longer", "12345", "x"}},
         "NAME    COUNT  NOTE\n"
         "a           1\n"
         "longer  12345  x\n"},
        {"missing cells print empty, extra cells are ignored",
         {{"A", Align::kLeft}, {"B", Align::kRight}},
         {{"only"}, {"x", "2", "dropped"}},
         "A     B\n"
         "only\n"
         "x     2\n"},
        {"a header alone is one line",
         {{"STATE", Align::kLeft}, {"SOCKETS", Align::kRight}},
         {},
         "STATE  SOCKETS\n"},
    };
    for (const RenderCase& c : cases) {
        SCOPED_TRACE(c.what);
        Table table(c.columns);
        for (const auto& row : c.rows) {
            table.add_row(row);
        }
        EXPECT_EQ(table.render(false), c.text);
    }
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
