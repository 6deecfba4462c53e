#include "tcptune/apply/safety_gate.hpp"

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::ManualClock;

PlannedChange change(std::string key, std::string value) {
    return PlannedChange{std::move(key), std::move(value), "web", "rule", "because"};
}

// Gates on a clock the test moves; an empty validator is the real registry.
class SafetyGateTest : public ::testing::Test {
  protected:
    SafetyGate gate_with(GateLimits limits, SafetyGate::Validator validator = {}) {
        return SafetyGate(clock, limits, std::move(validator));
    }
    ManualClock clock;
};

TEST_F(SafetyGateTest, RefusesValuesOutsideTheRegistryBounds) {
    SafetyGate gate = gate_with(GateLimits{});  // the real registry
    auto ok = gate.check_value(change("net.ipv4.tcp_fin_timeout", " 30 "));
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, "30");
    for (const auto& bad :
         {change("net.ipv4.tcp_fin_timeout", "1"), change("net.ipv4.tcp_tw_recycle", "1"),
          change("net.ipv4.no_such_thing", "1"), change("net.ipv4.tcp_fin_timeout", "thirty")}) {
        auto refused = gate.check_value(bad);
        ASSERT_FALSE(refused) << bad.key << "=" << bad.value;
        EXPECT_EQ(refused.error().kind, GateRefusalKind::kInvalid);
        EXPECT_FALSE(refused.error().message.empty());
    }
}

TEST_F(SafetyGateTest, PerKeyCooldownUsesTheClock) {
    SafetyGate gate = gate_with(GateLimits{.key_cooldown = 120s, .max_changes_per_minute = 100});
    EXPECT_FALSE(gate.check_timing("net.ipv4.tcp_fin_timeout"));
    gate.record_change("net.ipv4.tcp_fin_timeout");
    clock.advance(119s);
    auto refused = gate.check_timing("net.ipv4.tcp_fin_timeout");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->kind, GateRefusalKind::kCooldown);
    EXPECT_NE(refused->message.find("120 s"), std::string::npos) << refused->message;
    // Other keys are not held back by this key's cooldown.
    EXPECT_FALSE(gate.check_timing("net.core.somaxconn"));
    clock.advance(1s);
    EXPECT_FALSE(gate.check_timing("net.ipv4.tcp_fin_timeout"));
}

TEST_F(SafetyGateTest, GlobalRateLimitIsASlidingMinute) {
    SafetyGate gate = gate_with(GateLimits{.key_cooldown = 0s, .max_changes_per_minute = 3});
    gate.record_change("a.b");
    clock.advance(20s);
    gate.record_change("a.c");
    gate.record_change("a.d");
    auto refused = gate.check_timing("a.e");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->kind, GateRefusalKind::kRateLimit);
    clock.advance(40s);  // the first change leaves the window
    EXPECT_FALSE(gate.check_timing("a.e"));
}

TEST_F(SafetyGateTest, FilterDropsEveryViolationWithAReason) {
    SafetyGate gate = gate_with(GateLimits{.key_cooldown = 300s, .max_changes_per_minute = 2});
    gate.record_change("net.ipv4.tcp_keepalive_time");
    clock.advance(1s);
    const Plan plan = {
        change("net.ipv4.tcp_fin_timeout", "500"),     // out of bounds
        change("net.ipv4.tcp_tw_reuse", "1"),          // overridden
        change("net.ipv4.tcp_keepalive_time", "600"),  // cooldown
        change("net.ipv4.tcp_fin_timeout", "30"),      // passes (1 of budget 2 used)
        change("net.ipv4.tcp_syncookies", "1"),        // rate limit: budget exhausted
    };
    auto outcome =
        gate.filter(plan, [](std::string_view key) { return key == "net.ipv4.tcp_tw_reuse"; });
    ASSERT_EQ(outcome.passed.size(), 1u);
    EXPECT_EQ(outcome.passed[0].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(outcome.passed[0].value, "30");
    ASSERT_EQ(outcome.dropped.size(), 4u);
    EXPECT_EQ(outcome.dropped[0].refusal.kind, GateRefusalKind::kInvalid);
    EXPECT_EQ(outcome.dropped[1].refusal.kind, GateRefusalKind::kOverridden);
    EXPECT_NE(outcome.dropped[1].refusal.message.find("tcptune resume net.ipv4.tcp_tw_reuse"),
              std::string::npos);
    EXPECT_EQ(outcome.dropped[2].refusal.kind, GateRefusalKind::kCooldown);
    EXPECT_EQ(outcome.dropped[3].refusal.kind, GateRefusalKind::kRateLimit);
    for (const auto& drop : outcome.dropped) {
        EXPECT_FALSE(drop.refusal.message.empty());
    }
    // Filtering is a simulation: the gate itself has not counted anything.
    EXPECT_FALSE(gate.check_timing("net.ipv4.tcp_fin_timeout"));
}

TEST_F(SafetyGateTest, ValidatorIsInjectable) {
    SafetyGate gate = gate_with(
        GateLimits{}, [](std::string_view, std::string_view value) -> Result<std::string> {
            if (value == "ok") {
                return std::string("OK");
            }
            return make_error(ErrorCode::kRefused, "only ok is ok");
        });
    EXPECT_EQ(gate.check_value(change("x.y", "ok")).value(), "OK");
    EXPECT_EQ(gate.check_value(change("x.y", "no")).error().message, "only ok is ok");
}

}  // namespace
}  // namespace tcptune
