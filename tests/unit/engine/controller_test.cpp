#include "tcptune/engine/controller.hpp"

#include <sys/socket.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/controller_fixture.hpp"
#include "support/pressure_fixtures.hpp"

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

class ControllerTest : public test::ControllerFixture {
  protected:
    ControllerTest() {
        write_profile("web", kWebProfile);
        write_profile("calm", kCalmProfile);
    }
    ~ControllerTest() override { controller_.reset(); }  // before recorder_ goes

    // The value as the kernel would show it, without the trailing newline.
    std::string live(std::string_view key) const {
        std::string text = proc_.raw(key);
        while (!text.empty() && text.back() == '\n') {
            text.pop_back();
        }
        return text;
    }

    // A started controller over the fakes, reporting to recorder_.
    Controller& start(ApplyMode mode = ApplyMode::kEnforce,
                      std::chrono::seconds key_cooldown = 0s) {
        return start(config(mode), key_cooldown);
    }
    Controller& start(const ControllerConfig& c, std::chrono::seconds key_cooldown = 0s) {
        return start_controller(c, key_cooldown, &recorder_);
    }

    void poll(Controller& controller, std::uint64_t time_wait) {
        census_.push(snapshot_with({{TcpState::kTimeWait, time_wait}}));
        ASSERT_TRUE(controller.poll_once().has_value());
        clock_.advance(2s);
    }

    Recorder recorder_;
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

// #16 item 6: a journaled write that never took effect (crash between
// journaling and writing) shows as not applied, is never reported as an
// administrator's override, and the restarted daemon applies it after all.
TEST_F(ControllerTest, AJournaledButUnwrittenKeyIsNotAppliedNotOverridden) {
    {
        auto journal = Journal::open(state_.path()).value();
        ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", clock_.wall_now(),
                                         "web", "", "baseline"));
    }
    Controller& controller = start();
    for (const auto& view : controller.status().sysctls) {
        if (view.key == "net.ipv4.tcp_fin_timeout") {
            EXPECT_EQ(view.owner, SysctlOwner::kNotApplied);
            EXPECT_EQ(to_string(view.owner), "not-applied");
        }
    }
    poll(controller, 10);
    for (const auto& change : recorder_.changes) {
        EXPECT_NE(change.result, ChangeResult::kOverridden) << change.detail;
    }
    EXPECT_EQ(live("net.ipv4.tcp_fin_timeout"), "30") << "the baseline is applied after all";
    EXPECT_EQ(applier_->journal()->find("net.ipv4.tcp_fin_timeout")->original, "60");
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

namespace tcptune {
namespace {

constexpr const char* kGuardProfile = R"(name: guard
description: a per-listener rule whose change does not help
interval: 1s
verify_within: 2
rules:
  - name: syn-queue-full
    when: { listener: syn_queue, above: 90%, for: 1 }
    clear: { below: 50%, for: 1 }
    apply:
      net.ipv4.tcp_synack_retries: 2
    revert: true
    why: "test: shorter SYN-ACK retries"
)";

CensusSnapshot full_listener(std::uint32_t syn_queue) {
    CensusSnapshot s;
    ListenerSignals l;
    l.filling = {test::listener_queues("127.0.0.5", 8080, syn_queue, 0, 511)};
    s.pressure.listeners = l;
    return s;
}

TEST_F(ControllerTest, AChangeThatDidNotHelpIsPutBackAndReportedEverywhere) {
    proc_.set("net.ipv4.tcp_synack_retries", "5");
    write_profile("guard", kGuardProfile);
    ControllerConfig c = config();
    c.profile = "guard";
    Controller& controller = start(c);
    // The controller asks the census for what the rule reads.
    EXPECT_TRUE(controller.signal_request().listeners);
    EXPECT_FALSE(controller.signal_request().destinations);

    auto poll_full = [&] {
        census_.push(full_listener(512));
        ASSERT_TRUE(controller.poll_once().has_value());
        clock_.advance(1s);
    };
    poll_full();  // fires: 5 -> 2
    EXPECT_EQ(live("net.ipv4.tcp_synack_retries"), "2");
    ASSERT_FALSE(recorder_.changes.empty());
    EXPECT_EQ(recorder_.changes.back().result, ChangeResult::kApplied);
    EXPECT_NE(recorder_.changes.back().reason.find("SYN queue of 127.0.0.5:8080 512/511"),
              std::string::npos)
        << recorder_.changes.back().reason;
    EXPECT_EQ(controller.status().rules[0].verdict, "verifying");
    EXPECT_EQ(controller.status().rules[0].subject, "127.0.0.5:8080");

    poll_full();
    poll_full();  // 2 polls without improvement: put back
    EXPECT_EQ(live("net.ipv4.tcp_synack_retries"), "5");
    const ChangeRecord& undo = recorder_.changes.back();
    EXPECT_EQ(undo.result, ChangeResult::kApplied);
    EXPECT_EQ(undo.new_value, "5");
    EXPECT_NE(undo.reason.find("rule syn-queue-full did not help"), std::string::npos)
        << undo.reason;
    const auto status = controller.status();
    EXPECT_EQ(status.rules[0].verdict, "did not help");
    EXPECT_TRUE(status.rules[0].active);
    // Nothing wants the key any more: status shows no desired value from the rule.
    for (const auto& view : status.sysctls) {
        if (view.key == "net.ipv4.tcp_synack_retries") {
            EXPECT_FALSE(view.desired.has_value());
        }
    }
    // The flood goes on: no new change.
    const std::size_t changes = recorder_.changes.size();
    poll_full();
    poll_full();
    EXPECT_EQ(recorder_.changes.size(), changes);
    EXPECT_EQ(live("net.ipv4.tcp_synack_retries"), "5");
}

TEST_F(ControllerTest, AGateRefusalStartsNoVerification) {
    // tcp_max_syn_backlog with cookies on: refused as ineffective, nothing to verify.
    proc_.set("net.ipv4.tcp_syncookies", "1");
    proc_.set("net.ipv4.tcp_max_syn_backlog", "2048");
    write_profile("backlog", R"(name: backlog
description: an ineffective key
rules:
  - name: bigger-backlog
    when: { listener: syn_queue, above: 90%, for: 1 }
    apply:
      net.ipv4.tcp_max_syn_backlog: 16384
    why: "test: folklore"
)");
    ControllerConfig c = config();
    c.profile = "backlog";
    Controller& controller = start(c);
    for (int i = 0; i < 5; ++i) {
        census_.push(full_listener(512));
        ASSERT_TRUE(controller.poll_once().has_value());
        clock_.advance(1s);
    }
    ASSERT_FALSE(recorder_.changes.empty());
    EXPECT_EQ(recorder_.changes.front().result, ChangeResult::kRefused);
    EXPECT_NE(recorder_.changes.front().detail.find("has no effect now"), std::string::npos);
    EXPECT_EQ(live("net.ipv4.tcp_max_syn_backlog"), "2048");
    EXPECT_EQ(controller.status().rules[0].verdict, "");
    for (const auto& r : recorder_.changes) {
        EXPECT_EQ(r.reason.find("did not help"), std::string::npos) << r.reason;
    }
}

}  // namespace
}  // namespace tcptune
