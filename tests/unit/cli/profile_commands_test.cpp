// The offline CLI verbs (cli/profile_commands.cpp, cli/explain_command.cpp), run
// as a user would run them. They only read files, so they are fast and need no
// root; skipped with a reason when the tcptune binary has not been built.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct CliRun {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

CliRun tcptune(const std::string& args) {
    const std::string command = std::string(TCPTUNE_BIN_DIR) + "/tcptune " + args + " 2>&1";
    CliRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return run;
    }
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        run.output.append(buffer.data(), n);
    }
    const int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

class ProfileCommands : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(fs::path(TCPTUNE_BIN_DIR) / "tcptune")) {
            GTEST_SKIP() << "tcptune not built in " << TCPTUNE_BIN_DIR;
        }
    }
    const std::string source_ = TCPTUNE_SOURCE_DIR;
    const std::string shipped_ = "--profile-dir " + source_ + "/profiles";
};

TEST_F(ProfileCommands, ProfilesListsTheShippedOnes) {
    CliRun r = tcptune("profiles --json " + shipped_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output);
    std::set<std::string> names;
    for (const auto& p : j["profiles"]) {
        names.insert(p["name"].get<std::string>());
        EXPECT_TRUE(p["valid"].get<bool>()) << p.dump();
    }
    for (const char* name :
         {"default", "web-frontend", "reverse-proxy", "database", "syn-flood-guard"}) {
        EXPECT_TRUE(names.contains(name)) << name;
    }
    // Uninstalled, the default search path falls back to the source tree.
    CliRun plain = tcptune("profiles");
    EXPECT_EQ(plain.exit_code, 0);
    EXPECT_NE(plain.output.find("syn-flood-guard"), std::string::npos) << plain.output;
}

TEST_F(ProfileCommands, ShowPrintsTheResolvedProfile) {
    CliRun r = tcptune("profile show web-frontend " + shipped_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("# resolved profile: web-frontend <- default"), std::string::npos);
    EXPECT_NE(r.output.find("close-wait-leak"), std::string::npos);  // inherited
    CliRun json = tcptune("profile show --json " + source_ + "/profiles/database.yaml");
    ASSERT_EQ(json.exit_code, 0) << json.output;
    EXPECT_EQ(nlohmann::json::parse(json.output)["name"], "database");
    EXPECT_EQ(tcptune("profile show no-such-profile " + shipped_).exit_code, 1);
}

TEST_F(ProfileCommands, CheckListsEveryErrorAndExitsSix) {
    const std::string invalid = source_ + "/tests/data/profiles/invalid/";
    CliRun ok = tcptune("profile check " + source_ + "/profiles/default.yaml");
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    CliRun bad = tcptune("profile check " + source_ + "/profiles/default.yaml " + invalid +
                         "unknown-state.yaml " + invalid + "retries2-too-low.yaml");
    EXPECT_EQ(bad.exit_code, 6) << bad.output;
    EXPECT_NE(bad.output.find(invalid + "unknown-state.yaml:6:"), std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find(invalid + "retries2-too-low.yaml:5:"), std::string::npos);
    EXPECT_NE(bad.output.find("valid: an integer in 8..20"), std::string::npos);
}

TEST_F(ProfileCommands, ExplainStatesAndSysctls) {
    CliRun tw = tcptune("explain time_wait");
    EXPECT_EQ(tw.exit_code, 0);
    EXPECT_NE(tw.output.find("Common myths"), std::string::npos);
    CliRun recycle = tcptune("explain --json net.ipv4.tcp_tw_recycle");
    ASSERT_EQ(recycle.exit_code, 0);
    EXPECT_NE(nlohmann::json::parse(recycle.output)["removed"].get<std::string>().find("4.12"),
              std::string::npos);
    EXPECT_EQ(tcptune("explain no-such-topic").exit_code, 2);
}

}  // namespace
