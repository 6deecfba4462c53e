#include "tcptune/engine/rule_engine.hpp"

#include <string>

#include <gtest/gtest.h>

#include "tcptune/profile/profile_loader.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;

ResolvedProfile profile_from(const std::string& yaml) {
    auto parsed = parse_profile(yaml, "test.yaml");
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : to_error(parsed.error()).message);
    auto resolved = merge_profiles({*parsed});
    EXPECT_TRUE(resolved.has_value());
    return *resolved;
}

const char* const kTimeWaitProfile = R"(name: web
description: test
sysctls:
  net.ipv4.tcp_fin_timeout: 30
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 20000, for: 3 }
    clear: { below: 10000, for: 6 }
    cooldown: 5m
    apply:
      net.ipv4.tcp_tw_reuse: 1
    revert: true
    why: "outbound connections are starved of ports by TIME_WAIT"
)";

// Drives the engine poll by poll with a fake clock, as the daemon would.
class EngineDriver {
  public:
    explicit EngineDriver(ResolvedProfile profile, std::chrono::milliseconds interval = 5s)
        : profile_(std::move(profile)), interval_(interval) {
        sysctls_ = {{"net.ipv4.tcp_tw_reuse", "2"},
                    {"net.ipv4.tcp_fin_timeout", "60"},
                    {"net.ipv4.tcp_max_syn_backlog", "1000"},
                    {"net.ipv4.tcp_synack_retries", "5"}};
    }

    // One poll with `time_wait` sockets (and optional other state/counters).
    Plan poll_state(TcpState state, std::uint64_t count) {
        CensusSnapshot snap;
        snap.counts[state] = count;
        snap.netstat = netstat_;
        return poll(snap);
    }
    Plan poll(const CensusSnapshot& snap) {
        auto out = evaluate_rules(EngineInput{profile_, snap, sysctls_, state_, now_});
        state_ = std::move(out.state);
        // Pretend the applier did its job, so later polls see the new values.
        for (const PlannedChange& c : out.plan) {
            sysctls_[c.key] = c.value;
        }
        now_ += interval_;
        return out.plan;
    }
    Plan poll_time_wait(std::uint64_t n) { return poll_state(TcpState::kTimeWait, n); }

    const RuleState& rule(const std::string& name) { return state_.rules.at(name); }
    SteadyTime now_{std::chrono::hours(1000)};
    ResolvedProfile profile_;
    std::chrono::milliseconds interval_;
    SysctlValues sysctls_;
    EngineState state_;
    NetstatCounters netstat_;
};

TEST(RuleEngine, BaselineIsPlannedOnceOnActivation) {
    EngineDriver d(profile_from(kTimeWaitProfile));
    Plan first = d.poll_time_wait(0);
    ASSERT_EQ(first.size(), 1U);
    EXPECT_EQ(first[0].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(first[0].value, "30");
    EXPECT_EQ(first[0].rule, "");
    EXPECT_EQ(first[0].profile, "web");
    EXPECT_TRUE(d.poll_time_wait(0).empty());
    EXPECT_TRUE(d.poll_time_wait(0).empty());
}

TEST(RuleEngine, RisingLoadFiresAfterSustainedPolls) {
    EngineDriver d(profile_from(kTimeWaitProfile));
    d.poll_time_wait(100);
    EXPECT_TRUE(d.poll_time_wait(20000).empty());  // equal is not above
    EXPECT_TRUE(d.poll_time_wait(25000).empty());  // 1 of 3
    EXPECT_TRUE(d.poll_time_wait(26000).empty());  // 2 of 3
    Plan plan = d.poll_time_wait(27000);           // 3 of 3
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_EQ(plan[0].key, "net.ipv4.tcp_tw_reuse");
    EXPECT_EQ(plan[0].value, "1");
    EXPECT_EQ(plan[0].rule, "time-wait-pressure");
    // The reason names the rule, the state, the observed count and the threshold.
    EXPECT_NE(plan[0].reason.find("time-wait-pressure"), std::string::npos) << plan[0].reason;
    EXPECT_NE(plan[0].reason.find("time_wait 27000"), std::string::npos) << plan[0].reason;
    EXPECT_NE(plan[0].reason.find("above 20000 for 3 polls"), std::string::npos);
    EXPECT_NE(plan[0].reason.find("starved of ports"), std::string::npos);
    EXPECT_TRUE(d.rule("time-wait-pressure").active);
    EXPECT_EQ(d.rule("time-wait-pressure").trigger_count, 1U);
    // Staying high plans nothing more.
    EXPECT_TRUE(d.poll_time_wait(30000).empty());
}

TEST(RuleEngine, FlappingLoadNeverFires) {
    EngineDriver d(profile_from(kTimeWaitProfile));
    d.poll_time_wait(0);
    for (int cycle = 0; cycle < 20; ++cycle) {
        EXPECT_TRUE(d.poll_time_wait(25000).empty());
        EXPECT_TRUE(d.poll_time_wait(25000).empty());
        EXPECT_TRUE(d.poll_time_wait(15000).empty());  // a dip resets the count
    }
    EXPECT_FALSE(d.rule("time-wait-pressure").active);
    EXPECT_EQ(d.rule("time-wait-pressure").trigger_count, 0U);
}

TEST(RuleEngine, HysteresisKeepsTheRuleActiveBetweenClearAndAbove) {
    EngineDriver d(profile_from(kTimeWaitProfile), 1min);
    d.poll_time_wait(0);
    for (int i = 0; i < 3; ++i) {
        d.poll_time_wait(25000);
    }
    ASSERT_TRUE(d.rule("time-wait-pressure").active);
    // Below `above` but not below `clear.below`: still active, however long.
    for (int i = 0; i < 30; ++i) {
        EXPECT_TRUE(d.poll_time_wait(15000).empty());
    }
    EXPECT_TRUE(d.rule("time-wait-pressure").active);
    // Flapping around clear.below never completes 6 consecutive polls.
    for (int i = 0; i < 10; ++i) {
        for (int j = 0; j < 5; ++j) {
            EXPECT_TRUE(d.poll_time_wait(5000).empty());
        }
        EXPECT_TRUE(d.poll_time_wait(12000).empty());
    }
    EXPECT_TRUE(d.rule("time-wait-pressure").active);
}

TEST(RuleEngine, FallingLoadRevertsToTheValueBeforeTheRuleFired) {
    EngineDriver d(profile_from(kTimeWaitProfile), 1min);
    d.poll_time_wait(0);
    for (int i = 0; i < 3; ++i) {
        d.poll_time_wait(25000);
    }
    ASSERT_EQ(d.sysctls_["net.ipv4.tcp_tw_reuse"], "1");
    EXPECT_EQ(d.rule("time-wait-pressure").saved_values.at("net.ipv4.tcp_tw_reuse"), "2");
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(d.poll_time_wait(3000).empty());
    }
    Plan plan = d.poll_time_wait(3000);  // 6th consecutive poll below 10000
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_EQ(plan[0].key, "net.ipv4.tcp_tw_reuse");
    EXPECT_EQ(plan[0].value, "2");
    EXPECT_NE(plan[0].reason.find("cleared"), std::string::npos);
    EXPECT_NE(plan[0].reason.find("below 10000 for 6 polls"), std::string::npos);
    EXPECT_FALSE(d.rule("time-wait-pressure").active);
    EXPECT_TRUE(d.rule("time-wait-pressure").saved_values.empty());
}

TEST(RuleEngine, CooldownDelaysRevertAndRefire) {
    // 5 s polls, 5 min cooldown: clearing 30 s after firing must wait.
    EngineDriver d(profile_from(kTimeWaitProfile), 5s);
    d.poll_time_wait(0);
    d.poll_time_wait(25000);
    d.poll_time_wait(25000);
    const SteadyTime fired_at = d.now_;
    ASSERT_EQ(d.poll_time_wait(25000).size(), 1U);
    int polls_until_revert = 0;
    Plan plan;
    while (plan.empty() && polls_until_revert < 1000) {
        plan = d.poll_time_wait(0);
        ++polls_until_revert;
    }
    ASSERT_EQ(plan.size(), 1U);
    // The revert happened on the first poll at or after fired_at + 5 min.
    const SteadyTime reverted_at = d.now_ - 5s;
    EXPECT_GE(reverted_at - fired_at, 5min);
    EXPECT_LT(reverted_at - fired_at, 5min + 5s);
    // Load returns at once: the rule may not change anything for another 5 min.
    int polls_until_refire = 0;
    plan.clear();
    while (plan.empty() && polls_until_refire < 1000) {
        plan = d.poll_time_wait(25000);
        ++polls_until_refire;
    }
    const SteadyTime refired_at = d.now_ - 5s;
    EXPECT_GE(refired_at - reverted_at, 5min);
    EXPECT_EQ(d.rule("time-wait-pressure").trigger_count, 2U);
}

TEST(RuleEngine, RevertTargetIsTheBaselineWhenTheProfileSetsTheKey) {
    EngineDriver d(profile_from(R"(name: p
description: test
sysctls:
  net.ipv4.tcp_synack_retries: 4
rules:
  - name: syn
    when: { state: syn_recv, above: 10 }
    apply: { net.ipv4.tcp_synack_retries: 2 }
    revert: true
    why: test
)"));
    // Baseline and rule in the same first poll: the live value (5) is not the target.
    Plan first = d.poll_state(TcpState::kSynRecv, 50);
    ASSERT_EQ(first.size(), 2U);
    EXPECT_EQ(first[0].value, "4");
    EXPECT_EQ(first[1].value, "2");
    Plan cleared = d.poll_state(TcpState::kSynRecv, 0);
    ASSERT_EQ(cleared.size(), 1U);
    EXPECT_EQ(cleared[0].value, "4");
}

TEST(RuleEngine, WithoutRevertClearingPlansNothing) {
    EngineDriver d(profile_from(R"(name: p
description: test
rules:
  - name: r
    when: { state: time_wait, above: 10 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    why: test
)"));
    EXPECT_EQ(d.poll_time_wait(50).size(), 1U);
    EXPECT_TRUE(d.poll_time_wait(0).empty());
    EXPECT_FALSE(d.rule("r").active);
}

TEST(RuleEngine, ObserveOnlyRuleActivatesWithoutPlanning) {
    EngineDriver d(profile_from(R"(name: p
description: test
rules:
  - name: leak
    when: { state: close_wait, above: 100, for: 2 }
    clear: { below: 10 }
    why: report only
)"));
    EXPECT_TRUE(d.poll_state(TcpState::kCloseWait, 500).empty());
    EXPECT_TRUE(d.poll_state(TcpState::kCloseWait, 500).empty());
    EXPECT_TRUE(d.rule("leak").active);
    EXPECT_EQ(d.rule("leak").trigger_count, 1U);
}

TEST(RuleEngine, PercentageIsOfTheLiveSysctl) {
    EngineDriver d(profile_from(R"(name: p
description: test
rules:
  - name: syn
    when: { state: syn_recv, above: 80%, of: net.ipv4.tcp_max_syn_backlog, for: 1 }
    clear: { below: 20% }
    apply: { net.ipv4.tcp_synack_retries: 2 }
    revert: true
    why: test
)"));
    EXPECT_TRUE(d.poll_state(TcpState::kSynRecv, 800).empty());  // exactly 80% of 1000
    Plan plan = d.poll_state(TcpState::kSynRecv, 900);
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_NE(plan[0].reason.find("syn_recv 900 = 90% of net.ipv4.tcp_max_syn_backlog (1000)"),
              std::string::npos)
        << plan[0].reason;
    EXPECT_DOUBLE_EQ(*d.rule("syn").last_observed, 90.0);
    // The backlog grows (another rule, an admin): the same count is now a small share.
    d.sysctls_["net.ipv4.tcp_max_syn_backlog"] = "8192";
    EXPECT_EQ(d.poll_state(TcpState::kSynRecv, 900).size(), 1U);  // 11% < 20%: cleared
}

TEST(RuleEngine, PercentageWithoutTheLiveValueIsNotEvaluated) {
    EngineDriver d(profile_from(R"(name: p
description: test
rules:
  - name: syn
    when: { state: syn_recv, above: 50%, of: net.ipv4.tcp_max_syn_backlog, for: 2 }
    why: test
)"));
    d.poll_state(TcpState::kSynRecv, 900);
    EXPECT_EQ(d.rule("syn").polls_above, 1);
    d.sysctls_.erase("net.ipv4.tcp_max_syn_backlog");
    d.poll_state(TcpState::kSynRecv, 900);
    EXPECT_EQ(d.rule("syn").polls_above, 1);  // neither counted nor reset
    EXPECT_FALSE(d.rule("syn").active);
}

TEST(RuleEngine, IncreaseIsTheCounterRiseSinceThePreviousPoll) {
    EngineDriver d(profile_from(R"(name: p
description: test
rules:
  - name: overflow
    when: { increase: listen_overflows, above: 100, for: 2 }
    clear: { below: 1, for: 2 }
    apply: { net.core.somaxconn: 8192 }
    revert: true
    why: test
)"));
    d.sysctls_["net.core.somaxconn"] = "4096";
    CensusSnapshot snap;
    snap.netstat.listen_overflows = 1'000'000;  // a big total since boot is not a surge
    EXPECT_TRUE(d.poll(snap).empty());
    EXPECT_FALSE(d.rule("overflow").last_observed.has_value());
    snap.netstat.listen_overflows += 500;
    EXPECT_TRUE(d.poll(snap).empty());
    EXPECT_DOUBLE_EQ(*d.rule("overflow").last_observed, 500.0);
    snap.netstat.listen_overflows += 300;
    Plan plan = d.poll(snap);
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_NE(plan[0].reason.find("increase(listen_overflows) 300"), std::string::npos);
    // A counter reset (smaller than before) is not an observation.
    snap.netstat.listen_overflows = 5;
    EXPECT_TRUE(d.poll(snap).empty());
    EXPECT_EQ(d.rule("overflow").polls_below, 0);
    EXPECT_TRUE(d.poll(snap).empty());  // +0
    Plan revert = d.poll(snap);         // +0, second poll below 1
    ASSERT_EQ(revert.size(), 1U);
    EXPECT_EQ(revert[0].value, "4096");
}

TEST(RuleEngine, SwitchingProfilesStartsFreshWithTheNewBaseline) {
    EngineDriver d(profile_from(kTimeWaitProfile));
    d.poll_time_wait(25000);
    d.poll_time_wait(25000);
    EXPECT_EQ(d.rule("time-wait-pressure").polls_above, 2);
    d.profile_ = profile_from(R"(name: other
description: test
sysctls:
  net.ipv4.tcp_syncookies: 1
)");
    Plan plan = d.poll_time_wait(25000);
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_EQ(plan[0].key, "net.ipv4.tcp_syncookies");
    EXPECT_EQ(d.state_.profile, "other");
    EXPECT_TRUE(d.state_.rules.empty());
}

TEST(RuleEngine, StatusReportsEachRule) {
    EngineDriver d(profile_from(kTimeWaitProfile));
    auto before = rule_statuses(d.profile_, d.state_, d.now_);
    ASSERT_EQ(before.size(), 1U);
    EXPECT_FALSE(before[0].active);
    EXPECT_FALSE(before[0].last_observed.has_value());
    d.poll_time_wait(0);
    d.poll_time_wait(21000);
    d.poll_time_wait(22000);
    const SteadyTime fired = d.now_;
    d.poll_time_wait(23000);
    auto after = rule_statuses(d.profile_, d.state_, d.now_);
    ASSERT_EQ(after.size(), 1U);
    EXPECT_EQ(after[0].name, "time-wait-pressure");
    EXPECT_EQ(after[0].metric, "time_wait");
    EXPECT_EQ(after[0].threshold, "20000");
    EXPECT_TRUE(after[0].active);
    EXPECT_EQ(after[0].since, fired);
    EXPECT_DOUBLE_EQ(*after[0].last_observed, 23000.0);
    EXPECT_EQ(after[0].trigger_count, 1U);
    EXPECT_EQ(after[0].cooldown_until, fired + 5min);
}

TEST(RuleEngine, DesiredSysctlsOverlayActiveRulesOnTheBaseline) {
    EngineDriver d(profile_from(R"(name: p
description: test
sysctls:
  net.ipv4.tcp_synack_retries: 4
  net.ipv4.tcp_fin_timeout: 30
rules:
  - name: syn
    when: { state: syn_recv, above: 10 }
    apply: { net.ipv4.tcp_synack_retries: 2, net.ipv4.tcp_tw_reuse: 1 }
    revert: true
    why: test
)"));
    const std::vector<DesiredSysctl> baseline = {{"net.ipv4.tcp_synack_retries", "4", ""},
                                                 {"net.ipv4.tcp_fin_timeout", "30", ""}};
    EXPECT_EQ(desired_sysctls(d.profile_, d.state_), baseline);
    d.poll_state(TcpState::kSynRecv, 50);
    const std::vector<DesiredSysctl> active = {{"net.ipv4.tcp_synack_retries", "2", "syn"},
                                               {"net.ipv4.tcp_fin_timeout", "30", ""},
                                               {"net.ipv4.tcp_tw_reuse", "1", "syn"}};
    EXPECT_EQ(desired_sysctls(d.profile_, d.state_), active);
    d.poll_state(TcpState::kSynRecv, 0);
    EXPECT_EQ(desired_sysctls(d.profile_, d.state_), baseline);
}

}  // namespace
}  // namespace tcptune
