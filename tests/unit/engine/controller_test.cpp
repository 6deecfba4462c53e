#include "tcptune/engine/controller.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "fakes/fake_census.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::FakeCensusSource;
using test::FakeProcSys;
using test::ManualClock;
using test::snapshot_with;
using test::TempDir;

const char* const kWebProfile = R"(name: web
description: test web profile
interval: 2s
sysctls:
  net.ipv4.tcp_fin_timeout: 30
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 100, for: 2 }
    clear: { below: 50, for: 2 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
    revert: true
    why: "outbound connections are starved of ports by TIME_WAIT"
)";

const char* const kCalmProfile = R"(name: calm
description: only a baseline
sysctls:
  net.ipv4.tcp_fin_timeout: 45
)";

class Recorder final : public ControllerObserver {
  public:
    void on_poll(const CensusSnapshot& snapshot) override {
        polls.push_back(snapshot.counts[TcpState::kTimeWait]);
    }
    void on_poll_error(const Error& error) override { errors.push_back(error.message); }
    void on_rule_changed(const RuleStatus& status) override {
        rule_changes.push_back(status.name + (status.active ? ":active" : ":clear"));
    }
    void on_change(const ChangeRecord& record) override { changes.push_back(record); }
    void on_profile_changed(const std::string& profile) override { profiles.push_back(profile); }

    std::vector<std::uint64_t> polls;
    std::vector<std::string> errors;
    std::vector<std::string> rule_changes;
    std::vector<ChangeRecord> changes;
    std::vector<std::string> profiles;
};

class ControllerTest : public ::testing::Test {
  protected:
    ControllerTest() : store_(proc_.root()) {
        proc_.set("net.ipv4.tcp_fin_timeout", "60");
        proc_.set("net.ipv4.tcp_tw_reuse", "2");
        write_profile("web", kWebProfile);
        write_profile("calm", kCalmProfile);
    }

    // The value as the kernel would show it, without the trailing newline.
    std::string live(std::string_view key) const {
        std::string text = proc_.raw(key);
        while (!text.empty() && text.back() == '\n') {
            text.pop_back();
        }
        return text;
    }

    void write_profile(const std::string& name, const std::string& text) {
        std::ofstream(profiles_.path() / (name + ".yaml")) << text;
    }

    ControllerConfig config(ApplyMode mode = ApplyMode::kEnforce) {
        ControllerConfig c;
        c.profile = "web";
        c.profile_dirs = {profiles_.path()};
        c.mode = mode;
        c.recent_changes_capacity = 4;
        return c;
    }

    std::unique_ptr<Applier> make_applier(ApplyMode mode = ApplyMode::kEnforce,
                                          std::chrono::seconds key_cooldown = 0s) {
        ApplierOptions options;
        options.state_dir = state_.path();
        options.mode = mode;
        // Zero unless under test: the rule engine's own timing is tested here.
        options.limits.key_cooldown = key_cooldown;
        return std::make_unique<Applier>(store_, clock_, options);
    }

    // A started controller over the fakes, reporting to recorder_; the one of the
    // previous start() call, if any, is destroyed first.
    Controller& start(ApplyMode mode = ApplyMode::kEnforce,
                      std::chrono::seconds key_cooldown = 0s) {
        return start(config(mode), key_cooldown);
    }
    Controller& start(const ControllerConfig& c, std::chrono::seconds key_cooldown = 0s) {
        controller_.reset();
        applier_ = make_applier(c.mode, key_cooldown);
        controller_ = std::make_unique<Controller>(census_, store_, clock_, *applier_, c);
        controller_->add_observer(&recorder_);
        auto started = controller_->start();
        EXPECT_TRUE(started.has_value()) << started.error().message;
        return *controller_;
    }

    void poll(Controller& controller, std::uint64_t time_wait) {
        census_.push(snapshot_with({{TcpState::kTimeWait, time_wait}}));
        ASSERT_TRUE(controller.poll_once().has_value());
        clock_.advance(2s);
    }

    FakeProcSys proc_;
    TempDir profiles_;
    TempDir state_;
    ProcSysctlStore store_;
    ManualClock clock_;
    FakeCensusSource census_;
    Recorder recorder_;
    std::unique_ptr<Applier> applier_;
    std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerTest, StartFailsOnUnknownProfileAndPollRefusesBeforeStart) {
    auto applier = make_applier();
    auto c = config();
    c.profile = "does-not-exist";
    Controller controller(census_, store_, clock_, *applier, c);
    EXPECT_FALSE(controller.poll_once().has_value());
    auto started = controller.start();
    ASSERT_FALSE(started.has_value());
}

TEST_F(ControllerTest, PollAppliesBaselineThenFiresAndRevertsRuleWithNotifications) {
    Controller& controller = start();
    EXPECT_EQ(controller.interval(), 2s);

    poll(controller, 10);  // baseline
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "30");
    ASSERT_EQ(recorder_.changes.size(), 1U);
    EXPECT_EQ(recorder_.changes[0].result, ChangeResult::kApplied);
    EXPECT_EQ(recorder_.changes[0].old_value, "60");

    poll(controller, 500);  // above, 1 of 2
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "2");
    EXPECT_TRUE(recorder_.rule_changes.empty());
    poll(controller, 500);  // above, 2 of 2: fires
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "1");
    ASSERT_EQ(recorder_.rule_changes, std::vector<std::string>{"time-wait-pressure:active"});

    const auto status = controller.status();
    EXPECT_EQ(status.profile, "web");
    EXPECT_EQ(status.polls, 3U);
    ASSERT_EQ(status.rules.size(), 1U);
    EXPECT_TRUE(status.rules[0].active);
    bool saw_reuse = false;
    for (const auto& view : status.sysctls) {
        if (view.key == "net.ipv4.tcp_tw_reuse") {
            saw_reuse = true;
            EXPECT_EQ(view.current, "1");
            EXPECT_EQ(view.original, "2");
            EXPECT_EQ(view.desired, "1");
            EXPECT_EQ(view.owner, SysctlOwner::kTcptune);
        }
    }
    EXPECT_TRUE(saw_reuse);

    poll(controller, 10);
    poll(controller, 10);  // clear after 2 polls below: revert to the pre-fire value
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "2");
    EXPECT_EQ(recorder_.rule_changes,
              (std::vector<std::string>{"time-wait-pressure:active", "time-wait-pressure:clear"}));
    EXPECT_EQ(recorder_.polls, (std::vector<std::uint64_t>{10, 500, 500, 10, 10}));
}

TEST_F(ControllerTest, RevertRefusedByTheGateCooldownIsAppliedOnceTheCooldownEnds) {
    Controller& controller = start(ApplyMode::kEnforce, 60s);
    poll(controller, 500);
    poll(controller, 500);  // fires: tw_reuse 2 -> 1
    ASSERT_EQ(live("net.ipv4.tcp_tw_reuse"), "1");
    poll(controller, 10);
    poll(controller, 10);  // clears 4 s after the write: the gate's 60 s cooldown refuses
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "1");
    ASSERT_EQ(recorder_.changes.back().result, ChangeResult::kRefused);
    const auto records_before = recorder_.changes.size();
    for (int i = 0; i < 10; ++i) {
        poll(controller, 10);  // waiting: no new records, no writes
    }
    EXPECT_EQ(recorder_.changes.size(), records_before);
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "1");
    clock_.advance(60s);
    poll(controller, 10);
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "2");
    EXPECT_EQ(recorder_.changes.back().result, ChangeResult::kApplied);
    EXPECT_EQ(recorder_.changes.back().new_value, "2");
    poll(controller, 10);
    EXPECT_EQ(recorder_.changes.size(), records_before + 1);  // applied once, not again
}

TEST_F(ControllerTest, CensusErrorIsCountedReportedAndClearedByNextSuccess) {
    Controller& controller = start();
    census_.push_error(Error{ErrorCode::kNetlink, "dump interrupted"});
    EXPECT_FALSE(controller.poll_once().has_value());
    EXPECT_EQ(controller.status().poll_errors, 1U);
    ASSERT_TRUE(controller.status().last_poll_error.has_value());
    EXPECT_EQ(recorder_.errors, std::vector<std::string>{"dump interrupted"});
    poll(controller, 1);
    EXPECT_FALSE(controller.status().last_poll_error.has_value());
    EXPECT_EQ(controller.status().polls, 1U);
}

TEST_F(ControllerTest, OutsideWriteIsReportedOnceAndNeverOverwritten) {
    Controller& controller = start();
    poll(controller, 10);
    proc_.set("net.ipv4.tcp_fin_timeout", "15");  // the administrator
    poll(controller, 10);
    poll(controller, 10);
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "15");
    int overridden = 0;
    for (const auto& change : recorder_.changes) {
        overridden += change.result == ChangeResult::kOverridden ? 1 : 0;
    }
    EXPECT_EQ(overridden, 1);
    for (const auto& view : controller.status().sysctls) {
        if (view.key == "net.ipv4.tcp_fin_timeout") {
            EXPECT_EQ(view.owner, SysctlOwner::kAdministrator);
        }
    }
    auto resumed = controller.resume("net.ipv4.tcp_fin_timeout");
    ASSERT_TRUE(resumed.has_value());
    EXPECT_EQ(resumed->result, ChangeResult::kResumed);
    EXPECT_EQ(recorder_.changes.back().result, ChangeResult::kResumed);
}

TEST_F(ControllerTest, AdviceModeWritesNothingAndReportsAdvice) {
    Controller& controller = start(ApplyMode::kAdvise);
    poll(controller, 500);
    poll(controller, 500);
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "60");
    EXPECT_EQ(live("net.ipv4.tcp_tw_reuse"), "2");
    EXPECT_FALSE(std::filesystem::exists(state_.path() / "journal.json"));
    ASSERT_FALSE(recorder_.changes.empty());
    for (const auto& change : recorder_.changes) {
        EXPECT_EQ(change.result, ChangeResult::kAdvised) << describe(change);
    }
    EXPECT_EQ(controller.status().mode, ApplyMode::kAdvise);
}

TEST_F(ControllerTest, RecentChangesRingIsBounded) {
    Controller& controller = start();
    for (int i = 0; i < 6; ++i) {
        poll(controller, 10);
        proc_.set("net.ipv4.tcp_fin_timeout", std::to_string(20 + i));
        if (i > 0) {
            ASSERT_TRUE(controller.resume("net.ipv4.tcp_fin_timeout").has_value());
        }
    }
    EXPECT_EQ(controller.recent_changes().size(), 4U);
    EXPECT_EQ(controller.recent_changes().back().result, ChangeResult::kResumed);
}

TEST_F(ControllerTest, SetProfileDryRunAdvisesWithoutChangingAnything) {
    Controller& controller = start();
    poll(controller, 10);
    const auto changes_before = recorder_.changes.size();

    auto advised = controller.set_profile("calm", true);
    ASSERT_TRUE(advised.has_value());
    ASSERT_EQ(advised->size(), 1U);
    EXPECT_EQ((*advised)[0].result, ChangeResult::kAdvised);
    EXPECT_EQ((*advised)[0].new_value, "45");
    EXPECT_EQ(controller.profile().name, "web");
    EXPECT_EQ(controller.status().mode, ApplyMode::kEnforce);
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "30");
    EXPECT_EQ(recorder_.changes.size(), changes_before);
    EXPECT_TRUE(recorder_.profiles.size() == 1U);  // only start()

    auto applied = controller.set_profile("calm", false);
    ASSERT_TRUE(applied.has_value());
    EXPECT_EQ(controller.profile().name, "calm");
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "45");
    EXPECT_EQ(recorder_.profiles.back(), "calm");
    EXPECT_EQ(controller.config().profile, "calm");
}

TEST_F(ControllerTest, SetProfileAndReloadKeepTheOldProfileOnError) {
    Controller& controller = start();
    EXPECT_FALSE(controller.set_profile("nope", false).has_value());
    EXPECT_EQ(controller.profile().name, "web");

    write_profile("web", "name: web\nrules: [ {name: broken\n");
    auto reloaded = controller.reload();
    ASSERT_FALSE(reloaded.has_value());
    EXPECT_EQ(reloaded.error().code, ErrorCode::kInvalidProfile);
    EXPECT_EQ(controller.profile().rules.size(), 1U);
    EXPECT_EQ(controller.interval(), 2s);

    write_profile("web", std::string(kWebProfile) +
                             "  - name: second\n"
                             "    when: { state: close_wait, above: 5 }\n"
                             "    clear: { below: 2 }\n"
                             "    why: observe only\n");
    auto good = controller.reload();
    ASSERT_TRUE(good.has_value()) << good.error().message;
    EXPECT_EQ(controller.profile().rules.size(), 2U);

    auto next = config();
    next.interval_override = 250ms;
    next.profile = "calm";
    ASSERT_TRUE(controller.reload(next).has_value());
    EXPECT_EQ(controller.interval(), 250ms);
    EXPECT_EQ(controller.profile().name, "calm");
}

TEST_F(ControllerTest, StopWithRestorePolicyRollsBackAndKeepLeavesValues) {
    Controller& keeping = start();
    poll(keeping, 10);
    EXPECT_TRUE(keeping.stop().empty());  // keep
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "30");

    auto c = config();
    c.stop_policy = StopPolicy::kRestore;
    auto records = start(c).stop();
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].result, ChangeResult::kRestored);
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "60");
}

}  // namespace
}  // namespace tcptune
