// #16 items 9 and 10 from the operator's side: the real tcptune binary must
// not exit 0 when its output did not reach the file, and rejects absurd
// numbers with a one-line usage error instead of allocating for them.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/run_command.hpp"

namespace tcptune::test {
namespace {

std::string tcptune() {
    return std::string(TCPTUNE_BIN_DIR) + "/tcptune";
}

TEST(CliOutput, AWriteThatFailsIsExitOneNotZero) {
    TempDir state;
    for (const std::string& verb :
         std::vector<std::string>{"explain sysctls", "export --state-dir " + state.path().string(),
                                  "--help", "profile show default", "profiles"}) {
        const auto r = run_command(tcptune() + " " + verb + " >/dev/full 2>/dev/null");
        EXPECT_EQ(r.exit_code, 1) << verb;
    }
    // The same verbs exit 0 when the output is written.
    const auto ok = run_command(tcptune() + " explain sysctls >/dev/null");
    EXPECT_EQ(ok.exit_code, 0);
}

TEST(CliOutput, NumbersOutsideSaneBoundsAreShortUsageErrors) {
    for (const std::string& args : std::vector<std::string>{
             "top --top -1", "top --top 1e20", "top --capacity 4.3e12", "watch --interval -1",
             "watch --interval 1e400", "watch --iterations -5", "status --changes -1",
             "top --trend 1000h"}) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = run_command(tcptune() + " " + args + " 2>&1");
        EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out;
        EXPECT_LT(r.out.size(), 200U) << args << ": " << r.out;
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << args;
    }
}

TEST(CliOutput, ProfileCheckOfADeviceIsRefusedAtOnce) {
    const auto r = run_command(tcptune() + " profile check /dev/zero 2>&1");
    EXPECT_EQ(r.exit_code, 6) << r.out;
    EXPECT_NE(r.out.find("character device"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tcptune::test
