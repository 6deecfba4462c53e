// The offline CLI verbs (cli/profile_commands.cpp, cli/explain_command.cpp), run
// as a user would run them. They only read files, so they are fast and need no
// root; skipped with a reason when the tcptune binary has not been built.
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;

// The tcptune binary with `args`, stdout and stderr together in `out`.
tcptune::test::CommandOutput tcptune(const std::string& args) {
    return tcptune::test::run_command(std::string(TCPTUNE_BIN_DIR) + "/tcptune " + args,
                                      {.merge_stderr = true});
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
    auto r = tcptune("profiles --json " + shipped_);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto j = nlohmann::json::parse(r.out);
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
    auto plain = tcptune("profiles");
    EXPECT_EQ(plain.exit_code, 0);
    EXPECT_NE(plain.out.find("syn-flood-guard"), std::string::npos) << plain.out;
}

TEST_F(ProfileCommands, ShowPrintsTheResolvedProfile) {
    auto r = tcptune("profile show web-frontend " + shipped_);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("# resolved profile: web-frontend <- default"), std::string::npos);
    EXPECT_NE(r.out.find("close-wait-leak"), std::string::npos);  // inherited
    auto json = tcptune("profile show --json " + source_ + "/profiles/database.yaml");
    ASSERT_EQ(json.exit_code, 0) << json.out;
    EXPECT_EQ(nlohmann::json::parse(json.out)["name"], "database");
    EXPECT_EQ(tcptune("profile show no-such-profile " + shipped_).exit_code, 1);
}

TEST_F(ProfileCommands, CheckListsEveryErrorAndExitsSix) {
    const std::string invalid = source_ + "/tests/data/profiles/invalid/";
    auto ok = tcptune("profile check " + source_ + "/profiles/default.yaml");
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    auto bad = tcptune("profile check " + source_ + "/profiles/default.yaml " + invalid +
                       "unknown-state.yaml " + invalid + "retries2-too-low.yaml");
    EXPECT_EQ(bad.exit_code, 6) << bad.out;
    EXPECT_NE(bad.out.find(invalid + "unknown-state.yaml:6:"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find(invalid + "retries2-too-low.yaml:5:"), std::string::npos);
    EXPECT_NE(bad.out.find("valid: an integer in 8..20"), std::string::npos);
}

TEST_F(ProfileCommands, ExplainStatesAndSysctls) {
    auto tw = tcptune("explain time_wait");
    EXPECT_EQ(tw.exit_code, 0);
    EXPECT_NE(tw.out.find("Common myths"), std::string::npos);
    auto recycle = tcptune("explain --json net.ipv4.tcp_tw_recycle");
    ASSERT_EQ(recycle.exit_code, 0);
    EXPECT_NE(nlohmann::json::parse(recycle.out)["removed"].get<std::string>().find("4.12"),
              std::string::npos);
    EXPECT_EQ(tcptune("explain no-such-topic").exit_code, 2);
}

}  // namespace
