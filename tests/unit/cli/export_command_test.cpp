// `tcptune export` run as an operator would, over a journal written by core.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"
#include "tcptune/apply/journal.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

class ExportCommand : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(fs::path(TCPTUNE_BIN_DIR) / "tcptune")) {
            GTEST_SKIP() << "tcptune not built in " << TCPTUNE_BIN_DIR;
        }
        JournalEntry fin;
        fin.original = "60";
        fin.last_written = "30";
        fin.written_at = std::chrono::system_clock::from_time_t(1'714'564'800);
        fin.profile = "web";
        fin.reason = "baseline";
        JournalEntry reuse = fin;
        reuse.original = "2";
        reuse.last_written = "1";
        reuse.rule = "tw";
        reuse.overridden = true;
        reuse.overridden_at = fin.written_at;
        reuse.overridden_value = "0";
        ASSERT_TRUE(test::write_text(state_.path() / kJournalFileName,
                                     serialize_journal({{"net.ipv4.tcp_fin_timeout", fin},
                                                        {"net.ipv4.tcp_tw_reuse", reuse}})));
    }

    test::CommandOutput tcptune_export(const std::string& args) const {
        return test::run_command(std::string(TCPTUNE_BIN_DIR) + "/tcptune export --state-dir " +
                                 state_.path().string() + " " + args);
    }

    test::TempDir state_;
};

TEST_F(ExportCommand, JsonListsEveryKeyWithTheValueSetAndTheJournalsFields) {
    const auto r = tcptune_export("--json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("journal"), (state_.path() / kJournalFileName).string());
    ASSERT_EQ(j.at("sysctls").size(), 2u);
    EXPECT_EQ(j["sysctls"][0], (nlohmann::json{{"key", "net.ipv4.tcp_fin_timeout"},
                                               {"value", "30"},
                                               {"original", "60"},
                                               {"profile", "web"},
                                               {"rule", ""},
                                               {"reason", "baseline"},
                                               {"written_at", "2024-05-01T12:00:00Z"},
                                               {"overridden", false}}));
    EXPECT_EQ(j["sysctls"][1].at("overridden_value"), "0");
    EXPECT_EQ(j["sysctls"][1].at("overridden_at"), "2024-05-01T12:00:00Z");
    EXPECT_FALSE(j["sysctls"][1].contains("last_written")) << "named \"value\" here";
}

TEST_F(ExportCommand, TheSnippetCanBeFedToSysctl) {
    const auto r = tcptune_export("");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("net.ipv4.tcp_fin_timeout = 30\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tcptune
