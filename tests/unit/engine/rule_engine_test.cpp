#include "tcptune/engine/rule_engine.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/files.hpp"
#include "support/pressure_fixtures.hpp"
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

// The example the project started from: TIME_WAIT above 20000 for 3 polls turns on
// tcp_tw_reuse, below 10000 for 6 polls reverts it, 5 min cooldown.
const std::string kTimeWaitProfile = test::read_text(std::filesystem::path(TCPTUNE_TEST_DATA_DIR) /
                                                     "profiles" / "valid" / "web-example.yaml");

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
    EXPECT_EQ(first[0].profile, "web-example");
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

namespace tcptune {
namespace {

ListenerQueues queue_of(const char* address, std::uint16_t port, std::uint32_t syn,
                        std::uint32_t queued, std::uint32_t backlog) {
    return test::listener_queues(address, port, syn, queued, backlog);
}

CensusSnapshot with_listeners(std::vector<ListenerQueues> filling) {
    CensusSnapshot snap;
    ListenerSignals l;
    l.filling = std::move(filling);
    snap.pressure.listeners = l;
    return snap;
}

const char* const kSynQueueProfile = R"(name: guard
description: test
rules:
  - name: syn-queue-full
    when: { listener: syn_queue, above: 90%, for: 2 }
    clear: { below: 50%, for: 2 }
    apply:
      net.ipv4.tcp_synack_retries: 2
    revert: true
    verify: { within: 3 }
    why: "spoofed half-open entries expire sooner"
)";

// Feeds the engine's plan back as "applied", as the controller does.
Plan poll_applied(EngineDriver& d, const CensusSnapshot& snap) {
    auto out = evaluate_rules(EngineInput{d.profile_, snap, d.sysctls_, d.state_, d.now_});
    d.state_ = std::move(out.state);
    for (const PlannedChange& c : out.plan) {
        d.sysctls_[c.key] = c.value;
    }
    note_applied(d.state_, out.plan, std::vector<bool>(out.plan.size(), true));
    d.now_ += d.interval_;
    return out.plan;
}

TEST(PressureRules, ListenerSynQueueRuleFiresOnTheFullListenerAndNamesIt) {
    EngineDriver d(profile_from(kSynQueueProfile));
    // The issue's flood: 512 request sockets for listen(511); another listener at 50%.
    const auto flood = with_listeners(
        {queue_of("127.0.0.5", 8080, 512, 0, 511), queue_of("127.0.0.6", 9090, 64, 0, 128)});
    EXPECT_TRUE(poll_applied(d, flood).empty());  // 1 of 2 polls
    const Plan fired = poll_applied(d, flood);
    ASSERT_EQ(fired.size(), 1U);
    EXPECT_EQ(fired[0].key, "net.ipv4.tcp_synack_retries");
    EXPECT_EQ(fired[0].subject, "127.0.0.5:8080");
    EXPECT_EQ(fired[0].purpose, ChangePurpose::kRuleFired);
    EXPECT_NE(fired[0].reason.find("SYN queue of 127.0.0.5:8080 512/511 (100.2%) above 90%"),
              std::string::npos)
        << fired[0].reason;
    const auto statuses = rule_statuses(d.profile_, d.state_, d.now_);
    EXPECT_EQ(statuses[0].subject, "127.0.0.5:8080");
    EXPECT_EQ(statuses[0].metric, "listener.syn_queue");
    EXPECT_EQ(statuses[0].verdict, "verifying");
}

TEST(PressureRules, AHalfFullListenerDoesNotFire) {
    EngineDriver d(profile_from(kSynQueueProfile));
    const auto busy = with_listeners({queue_of("127.0.0.6", 9090, 64, 0, 128)});
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(poll_applied(d, busy).empty());
    }
    EXPECT_FALSE(d.rule("syn-queue-full").active);
}

TEST(PressureRules, NoListenerSignalsMeansNoReadingNotZero) {
    EngineDriver d(profile_from(kSynQueueProfile));
    EXPECT_TRUE(poll_applied(d, CensusSnapshot{}).empty());
    EXPECT_FALSE(d.rule("syn-queue-full").last_observed);
}

TEST(PressureRules, AChangeThatDidNotHelpIsRevertedAndTheRuleStaysQuietUntilItClears) {
    EngineDriver d(profile_from(kSynQueueProfile));
    const auto flood = with_listeners({queue_of("127.0.0.5", 8080, 512, 0, 511)});
    poll_applied(d, flood);
    ASSERT_EQ(poll_applied(d, flood).size(), 1U);  // fired, synack_retries 5 -> 2
    EXPECT_EQ(d.sysctls_["net.ipv4.tcp_synack_retries"], "2");
    // The queue stays full for the whole verification window.
    EXPECT_TRUE(poll_applied(d, flood).empty());
    EXPECT_TRUE(poll_applied(d, flood).empty());
    const Plan undo = poll_applied(d, flood);
    ASSERT_EQ(undo.size(), 1U);
    EXPECT_EQ(undo[0].key, "net.ipv4.tcp_synack_retries");
    EXPECT_EQ(undo[0].value, "5");
    EXPECT_EQ(undo[0].purpose, ChangePurpose::kDidNotHelp);
    EXPECT_NE(undo[0].reason.find("rule syn-queue-full did not help: listener.syn_queue of "
                                  "127.0.0.5:8080"),
              std::string::npos)
        << undo[0].reason;
    const RuleState& rs = d.rule("syn-queue-full");
    EXPECT_TRUE(rs.active);
    EXPECT_TRUE(rs.ineffective);
    EXPECT_EQ(rs.verdict, "did not help");
    // While the flood goes on it neither fires again nor reverts again.
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(poll_applied(d, flood).empty());
    }
    // Nothing is desired of synack_retries any more.
    for (const auto& desired : desired_sysctls(d.profile_, d.state_)) {
        EXPECT_NE(desired.key, "net.ipv4.tcp_synack_retries");
    }
    // The flood ends: the rule clears without a second revert, and may act again later.
    const auto calm = with_listeners({});
    EXPECT_TRUE(poll_applied(d, calm).empty());
    EXPECT_TRUE(poll_applied(d, calm).empty());
    EXPECT_FALSE(d.rule("syn-queue-full").active);
    poll_applied(d, flood);
    EXPECT_EQ(poll_applied(d, flood).size(), 1U);
}

TEST(PressureRules, AChangeThatHelpedStays) {
    EngineDriver d(profile_from(kSynQueueProfile));
    const auto flood = with_listeners({queue_of("127.0.0.5", 8080, 512, 0, 511)});
    poll_applied(d, flood);
    poll_applied(d, flood);
    // The queue drains to 60%: above the clear threshold, but 40% better.
    const auto better = with_listeners({queue_of("127.0.0.5", 8080, 307, 0, 511)});
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(poll_applied(d, better).empty());
    }
    EXPECT_EQ(d.rule("syn-queue-full").verdict, "helped");
    EXPECT_FALSE(d.rule("syn-queue-full").ineffective);
    EXPECT_EQ(d.sysctls_["net.ipv4.tcp_synack_retries"], "2");
}

TEST(PressureRules, VerificationWaitsForTheChangeToBeApplied) {
    // A change the gate refused was never made: nothing to verify or revert.
    EngineDriver d(profile_from(kSynQueueProfile));
    const auto flood = with_listeners({queue_of("127.0.0.5", 8080, 512, 0, 511)});
    for (int i = 0; i < 8; ++i) {
        d.poll(flood);  // plain poll: nothing reported applied
    }
    EXPECT_TRUE(d.rule("syn-queue-full").active);
    EXPECT_FALSE(d.rule("syn-queue-full").ineffective);
    EXPECT_EQ(d.rule("syn-queue-full").verdict, "");
}

const char* const kDestinationProfile = R"(name: ports
description: test
rules:
  - name: ports-towards-one-destination
    when: { destination: ports, above: 80%, for: 1 }
    clear: { below: 50%, for: 3 }
    why: "connect() fails with EADDRNOTAVAIL once every usable port is held"
)";

CensusSnapshot with_destinations(std::vector<std::pair<std::uint16_t, std::uint64_t>> dests,
                                 std::uint32_t usable) {
    CensusSnapshot snap;
    DestinationSignals s;
    s.usable = usable;
    for (auto [port, sockets] : dests) {
        DestinationPorts d;
        d.local = test::ipv4("127.0.0.1");
        d.remote = test::ipv4("127.0.0.8", port);
        d.sockets = sockets;
        d.occupancy = static_cast<double>(sockets) / usable;
        s.top.push_back(d);
    }
    snap.pressure.destinations = s;
    return snap;
}

TEST(PressureRules, DestinationRuleFiresForOneHotDestinationNotForASpread) {
    EngineDriver hot(profile_from(kDestinationProfile));
    hot.poll(with_destinations({{5432, 420}}, 500));
    EXPECT_TRUE(hot.rule("ports-towards-one-destination").active);
    EXPECT_EQ(hot.rule("ports-towards-one-destination").subject, "127.0.0.1 -> 127.0.0.8:5432");

    EngineDriver spread(profile_from(kDestinationProfile));
    std::vector<std::pair<std::uint16_t, std::uint64_t>> ten;
    for (std::uint16_t p = 6000; p < 6010; ++p) {
        ten.emplace_back(p, 120);  // 1200 sockets in all, more than the 500 ports
    }
    for (int i = 0; i < 3; ++i) {
        spread.poll(with_destinations(ten, 500));
    }
    EXPECT_FALSE(spread.rule("ports-towards-one-destination").active);
    EXPECT_DOUBLE_EQ(*spread.rule("ports-towards-one-destination").last_observed, 24.0);
}

TEST(PressureRules, RatesRatiosAndDeadPeers) {
    EngineDriver d(profile_from(R"(name: r
description: test
rules:
  - name: drops
    when: { rate: reqq_full_drop, above: 10, for: 1 }
    why: "SYNs are dropped"
  - name: retrans
    when: { ratio: retransmits, above: 2%, for: 1 }
    why: "the network loses segments"
  - name: dead
    when: { dead_peers: keepalive, above: 100, for: 1 }
    why: "peers vanished"
)"));
    CensusSnapshot first;  // a first poll has no rates
    d.poll(first);
    EXPECT_FALSE(d.rule("drops").last_observed);
    CensusSnapshot snap;
    CounterRates rates;
    rates.seconds = 2;
    rates.per_second[static_cast<std::size_t>(RateCounter::kReqqFullDrop)] = 150.0;
    rates.retrans_ratio = 0.03;
    snap.pressure.rates = rates;
    DeadPeerSignals dead;
    dead.keepalive_unanswered = 120;
    dead.retransmitting = 500;  // not counted by a keepalive rule
    snap.pressure.dead_peers = dead;
    d.poll(snap);
    EXPECT_TRUE(d.rule("drops").active);
    EXPECT_NE(d.rule("drops").last_reading.find("TCPReqQFullDrop 150.0/s"), std::string::npos);
    EXPECT_TRUE(d.rule("retrans").active);
    EXPECT_DOUBLE_EQ(*d.rule("retrans").last_observed, 3.0);
    EXPECT_TRUE(d.rule("dead").active);
    EXPECT_DOUBLE_EQ(*d.rule("dead").last_observed, 120.0);
}

}  // namespace
}  // namespace tcptune
