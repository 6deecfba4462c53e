// The applier against the real /proc/sys, inside a private network namespace
// (net.ipv4 TCP sysctls and net.core.somaxconn are per namespace, so the host is
// never touched).
#include "tcptune/apply/applier.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"
#include "support/netns.hpp"
#include "support/run_command.hpp"
#include "tcptune/apply/sysctl_registry.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::ManualClock;
using test::TempDir;

// Exactly what the kernel prints, tabs and newline included.
std::string raw_proc(const std::string& key) {
    std::string path = "/proc/sys/" + key;
    for (auto& c : path) {
        c = c == '.' ? '/' : c;
    }
    return test::read_text(path);
}

// An outside observer: the sysctl(8) an operator would use.
std::string sysctl_n(const std::string& key) {
    return normalize_sysctl_value(test::run_command("sysctl -n " + key).out);
}

// The private namespace has no listeners: a wider port range takes no server's port.
const ApplyContext kNoListeners{std::vector<std::uint16_t>{}};

PlannedChange change(const std::string& key, const std::string& value) {
    return PlannedChange{key, value, "integration", "rule", "integration test"};
}

const std::map<std::string, std::string> kTargets = {
    {"net.ipv4.tcp_fin_timeout", "25"},
    {"net.ipv4.tcp_keepalive_time", "600"},
    {"net.ipv4.ip_local_port_range", "20000 61000"},
    {"net.ipv4.tcp_tw_reuse", "1"},
    {"net.core.somaxconn", "8192"},
};

Plan target_plan() {
    Plan plan;
    for (const auto& [key, value] : kTargets) {
        plan.push_back(change(key, value));
    }
    return plan;
}

ApplierOptions options_for(const TempDir& state, ApplyMode mode = ApplyMode::kEnforce) {
    ApplierOptions options;
    options.state_dir = state.path();
    options.mode = mode;
    options.limits = GateLimits{.key_cooldown = 60s, .max_changes_per_minute = 100};
    return options;
}

TEST(ApplierIntegration, ApplyVerifyOverrideRollbackOnTheRealKernel) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    std::map<std::string, std::string> originals;
    for (const auto& [key, value] : kTargets) {
        originals[key] = raw_proc(key);
        ASSERT_FALSE(originals[key].empty()) << key;
        ASSERT_NE(normalize_sysctl_value(originals[key]), value) << key << " already at target";
    }
    TempDir state;
    ManualClock clock;
    ProcSysctlStore store;
    Applier applier(store, clock, options_for(state));
    ASSERT_FALSE(applier.journal_error());

    for (const auto& r : applier.apply(target_plan(), kNoListeners)) {
        EXPECT_EQ(r.result, ChangeResult::kApplied) << describe(r);
    }
    for (const auto& [key, value] : kTargets) {
        EXPECT_EQ(sysctl_n(key), value) << key;
    }
    EXPECT_TRUE(applier.check_overrides().empty());

    // An administrator changes one key behind tcptune's back.
    ASSERT_EQ(std::system("sysctl -q -w net.ipv4.tcp_fin_timeout=45"), 0);
    auto detected = applier.check_overrides();  // the next poll
    ASSERT_EQ(detected.size(), 1u);
    EXPECT_EQ(detected[0].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(detected[0].result, ChangeResult::kOverridden);
    EXPECT_EQ(detected[0].new_value, "45");

    // Never overwritten, even long after every cooldown.
    clock.advance(3600s);
    for (const auto& r : applier.apply(target_plan(), kNoListeners)) {
        if (r.key == "net.ipv4.tcp_fin_timeout") {
            EXPECT_EQ(r.result, ChangeResult::kRefused) << describe(r);
        } else {
            EXPECT_EQ(r.result, ChangeResult::kSkipped) << describe(r);
        }
    }
    EXPECT_EQ(sysctl_n("net.ipv4.tcp_fin_timeout"), "45");

    // A restarted daemon also leaves it alone.
    Applier restarted(store, clock, options_for(state));
    EXPECT_TRUE(restarted.is_overridden("net.ipv4.tcp_fin_timeout"));

    // Rollback restores every original exactly, except the administrator's key.
    auto rolled = restarted.rollback();
    ASSERT_TRUE(rolled) << rolled.error().message;
    for (const auto& r : *rolled) {
        const auto expected =
            r.key == "net.ipv4.tcp_fin_timeout" ? ChangeResult::kSkipped : ChangeResult::kRestored;
        EXPECT_EQ(r.result, expected) << describe(r);
    }
    for (const auto& [key, raw] : originals) {
        if (key != "net.ipv4.tcp_fin_timeout") {
            EXPECT_EQ(raw_proc(key), raw) << key;
        }
    }
    EXPECT_EQ(sysctl_n("net.ipv4.tcp_fin_timeout"), "45");

    auto forced = restarted.rollback({.force = true});
    ASSERT_TRUE(forced);
    ASSERT_EQ(forced->size(), 1u);
    EXPECT_EQ((*forced)[0].result, ChangeResult::kRestored) << describe((*forced)[0]);
    EXPECT_EQ(raw_proc("net.ipv4.tcp_fin_timeout"), originals["net.ipv4.tcp_fin_timeout"]);
    EXPECT_TRUE(Journal::open(state.path()).value().entries().empty());
}

TEST(ApplierIntegration, KernelRejectionIsAFailureWithTheKernelsErrno) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    TempDir state;
    ManualClock clock;
    ProcSysctlStore store;
    const std::string before = raw_proc("net.ipv4.tcp_fin_timeout");
    auto options = options_for(state);
    // Let a value through the gate that only the kernel can reject.
    options.validator = [](std::string_view, std::string_view value) -> Result<std::string> {
        return std::string(value);
    };
    Applier applier(store, clock, options);
    auto records = applier.apply({change("net.ipv4.tcp_fin_timeout", "not-a-number")});
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].result, ChangeResult::kFailed);
    EXPECT_NE(records[0].detail.find("EINVAL"), std::string::npos) << records[0].detail;
    EXPECT_EQ(raw_proc("net.ipv4.tcp_fin_timeout"), before);
    EXPECT_EQ(Journal::open(state.path()).value().find("net.ipv4.tcp_fin_timeout"), nullptr);
}

TEST(ApplierIntegration, AdviceModeLeavesTheKernelAndTheJournalAlone) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    TempDir state;
    ManualClock clock;
    ProcSysctlStore store;
    std::map<std::string, std::string> before;
    for (const auto& [key, value] : kTargets) {
        before[key] = raw_proc(key);
    }
    Applier applier(store, clock, options_for(state, ApplyMode::kAdvise));
    for (const auto& r : applier.apply(target_plan(), kNoListeners)) {
        EXPECT_EQ(r.result, ChangeResult::kAdvised) << describe(r);
    }
    for (const auto& [key, raw] : before) {
        EXPECT_EQ(raw_proc(key), raw) << key;
    }
    EXPECT_FALSE(std::filesystem::exists(state.path() / "journal.json"));
}

}  // namespace
}  // namespace tcptune
