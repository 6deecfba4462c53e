#include "logging.hpp"

#include <chrono>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune::daemon {
namespace {

ChangeRecord record(ChangeResult result, std::string detail = "") {
    return test::sample_change(result, std::move(detail));
}

TEST(ChangeLoggerFormat, LineCarriesWhyAndReplayCommand) {
    EXPECT_EQ(ChangeLogger::format_change(record(ChangeResult::kApplied)),
              "applied net.ipv4.tcp_tw_reuse 2 -> 1 (profile web, rule time-wait-pressure); "
              "why: outbound connections are starved of ports; "
              "replay: sysctl -w net.ipv4.tcp_tw_reuse=1");
}

TEST(ChangeLoggerFormat, ASkippedChangeHasNothingToReplay) {
    auto skipped = record(ChangeResult::kSkipped, "already 1");
    skipped.reason.clear();
    EXPECT_EQ(ChangeLogger::format_change(skipped),
              "skipped net.ipv4.tcp_tw_reuse 2 -> 1 (profile web, rule time-wait-pressure): "
              "already 1");
}

// Every line the logger writes, as "level message", at debug level and above.
class ChangeLoggerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        saved_ = spdlog::default_logger();
        saved_level_ = spdlog::get_level();
        auto logger = std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::ostream_sink_st>(lines_));
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
        spdlog::set_level(spdlog::level::debug);
    }
    void TearDown() override {
        spdlog::set_default_logger(saved_);
        spdlog::set_level(saved_level_);
    }
    // The lines written since the last call.
    std::string taken() {
        std::string text = lines_.str();
        lines_.str("");
        return text;
    }

    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> saved_;
    spdlog::level::level_enum saved_level_ = spdlog::level::info;
    ChangeLogger logger_;
};

TEST_F(ChangeLoggerTest, ARefusalThatRepeatsEveryPollIsLoggedOnceUntilItChanges) {
    logger_.on_change(record(ChangeResult::kRefused, "cooldown: 42 s left"));
    EXPECT_EQ(taken().rfind("warning refused net.ipv4.tcp_tw_reuse", 0), 0u);
    // The same refusal, counting down: only at debug level.
    logger_.on_change(record(ChangeResult::kRefused, "cooldown: 41 s left"));
    EXPECT_EQ(taken().rfind("debug refused", 0), 0u);
    // An applied change ends the condition; the next refusal is news again.
    logger_.on_change(record(ChangeResult::kApplied));
    EXPECT_EQ(taken().rfind("info applied", 0), 0u);
    logger_.on_change(record(ChangeResult::kRefused, "cooldown: 60 s left"));
    EXPECT_EQ(taken().rfind("warning refused", 0), 0u);
}

TEST_F(ChangeLoggerTest, EachResultHasItsLevel) {
    logger_.on_change(record(ChangeResult::kFailed, "EPERM"));
    logger_.on_change(record(ChangeResult::kOverridden));
    logger_.on_change(record(ChangeResult::kAdvised));
    logger_.on_change(record(ChangeResult::kRestored));
    const std::string text = taken();
    EXPECT_NE(text.find("error failed net.ipv4.tcp_tw_reuse"), std::string::npos) << text;
    EXPECT_NE(text.find("warning overridden net.ipv4.tcp_tw_reuse"), std::string::npos) << text;
    EXPECT_NE(text.find("info advised net.ipv4.tcp_tw_reuse"), std::string::npos) << text;
    EXPECT_NE(text.find("info restored net.ipv4.tcp_tw_reuse"), std::string::npos) << text;
}

TEST_F(ChangeLoggerTest, ACensusFailureIsLoggedWhenItStartsAndWhenItEnds) {
    const Error error{ErrorCode::kNetlink, "dump interrupted"};
    logger_.on_poll_error(error);
    EXPECT_EQ(taken(),
              "error census failed: dump interrupted (retrying every poll; logged again when it "
              "changes)\n");
    logger_.on_poll_error(error);
    logger_.on_poll_error(error);
    EXPECT_EQ(taken(),
              "debug census failed again: dump interrupted\n"
              "debug census failed again: dump interrupted\n");
    logger_.on_poll(CensusSnapshot{});
    EXPECT_EQ(taken(), "info census recovered after 3 failed poll(s) (dump interrupted)\n");
    logger_.on_poll(CensusSnapshot{});
    EXPECT_EQ(taken(), "") << "a healthy poll logs nothing";
}

TEST_F(ChangeLoggerTest, RuleTransitionsNameTheMetricValueAndThreshold) {
    RuleStatus rule;
    rule.name = "time-wait-pressure";
    rule.metric = "time_wait";
    rule.threshold = "20000";
    rule.active = true;
    rule.last_observed = 25000;
    logger_.on_rule_changed(rule);
    rule.active = false;
    rule.last_observed = 900;
    logger_.on_rule_changed(rule);
    EXPECT_EQ(taken(),
              "warning rule time-wait-pressure fired: time_wait is 25000 (threshold 20000)\n"
              "info rule time-wait-pressure cleared: time_wait is 900 (threshold 20000)\n");
}

TEST_F(ChangeLoggerTest, EveryLogLevelReachesSpdlog) {
    const std::pair<LogLevel, spdlog::level::level_enum> expected[] = {
        {LogLevel::kTrace, spdlog::level::trace}, {LogLevel::kDebug, spdlog::level::debug},
        {LogLevel::kInfo, spdlog::level::info},   {LogLevel::kWarning, spdlog::level::warn},
        {LogLevel::kError, spdlog::level::err},   {LogLevel::kCritical, spdlog::level::critical},
        {LogLevel::kOff, spdlog::level::off},
    };
    for (const auto& [ours, theirs] : expected) {
        set_log_level(ours);
        EXPECT_EQ(spdlog::get_level(), theirs) << to_string(ours);
    }
}

}  // namespace
}  // namespace tcptune::daemon
