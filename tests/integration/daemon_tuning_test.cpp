// End-to-end: the real tcptuned in a private network namespace tunes the
// namespace's own sysctls when a TIME_WAIT storm trips a rule, reverts when it
// is over, never fights an administrator, and writes nothing in advice mode.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "daemon_fixture.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kReuse = "net.ipv4.tcp_tw_reuse";
constexpr const char* kBuckets = "net.ipv4.tcp_max_tw_buckets";
constexpr const char* kFinTimeout = "net.ipv4.tcp_fin_timeout";
constexpr std::size_t kStorm = 400;  // tw-storm.yaml fires above 300

class DaemonTuningTest : public DaemonTest {};

TEST_F(DaemonTuningTest, TimeWaitStormFiresTheRuleAndItRevertsAfterTheClearWindow) {
    const std::string reuse_before = sysctl(kReuse);
    const std::string buckets_before = sysctl(kBuckets);
    const std::string fin_before = sysctl(kFinTimeout);
    ASSERT_NE(reuse_before, "1");
    ASSERT_NE(buckets_before, "200000");

    launch({"--profile", "tw-storm", "--interval", "0.2"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    EXPECT_TRUE(sysctl_becomes(kFinTimeout, "25", 5s)) << "baseline not applied";

    SocketFactory factory;
    make_time_wait_storm(factory, kStorm);
    // Sustain window: 3 polls of 200 ms above the threshold.
    ASSERT_TRUE(sysctl_becomes(kReuse, "1", 5s));
    EXPECT_TRUE(sysctl_becomes(kBuckets, "200000", 2s));
    EXPECT_TRUE(daemon_->wait_for_log("rule time-wait-storm fired", 2s));
    // One line per change: what, old -> new, the scenario, the why, the replay.
    const std::string log = daemon_->log();
    EXPECT_NE(log.find("applied net.ipv4.tcp_tw_reuse " + reuse_before +
                       " -> 1 (profile tw-storm, rule time-wait-storm)"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("replay: sysctl -w net.ipv4.tcp_tw_reuse=1"), std::string::npos);
    EXPECT_NE(log.find("why: rule time-wait-storm fired: time_wait"), std::string::npos);
    EXPECT_NE(log.find("a TIME_WAIT storm starves outgoing connections"), std::string::npos);

    // The journal holds the originals (written before the first write).
    const auto entries = journal();
    ASSERT_TRUE(entries.contains(kReuse));
    EXPECT_EQ(entries.at(kReuse).original, reuse_before);
    ASSERT_TRUE(entries.contains(kBuckets));
    EXPECT_EQ(entries.at(kBuckets).original, buckets_before);
    ASSERT_TRUE(entries.contains(kFinTimeout));
    EXPECT_EQ(entries.at(kFinTimeout).original, fin_before);

    // Load drops: after 3 polls below `clear` the rule clears and reverts. The
    // safety gate's per-key cooldown (60 s) holds the revert back until then;
    // the daemon applies it as soon as the gate allows.
    end_time_wait_storm();
    ASSERT_TRUE(daemon_->wait_for_log("rule time-wait-storm cleared", 5s));
    ASSERT_TRUE(sysctl_becomes(kReuse, reuse_before, 75s));
    EXPECT_TRUE(sysctl_becomes(kBuckets, buckets_before, 5s));
    // The cooldown refusal was logged once, not on every poll while waiting.
    EXPECT_LE(daemon_->count_in_log("refused net.ipv4.tcp_tw_reuse"), 1U) << daemon_->log();
    EXPECT_EQ(sysctl(kFinTimeout), "25");  // the baseline stays
    EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(DaemonTuningTest, AShortKeyCooldownInTheConfigLetsTheRevertHappenWithinSeconds) {
    const std::string reuse_before = sysctl(kReuse);
    const std::string buckets_before = sysctl(kBuckets);
    ASSERT_NE(reuse_before, "1");
    ASSERT_TRUE(
        write_text(config_file(), "safety:\n  key_cooldown: 2s\n  max_changes_per_minute: 20\n"));
    launch({"--profile", "tw-storm", "--interval", "0.2"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    EXPECT_TRUE(
        daemon_->wait_for_log("safety gate: key_cooldown 2 s, max_changes_per_minute 20", 1s))
        << daemon_->log();

    SocketFactory factory;
    make_time_wait_storm(factory, kStorm);
    ASSERT_TRUE(sysctl_becomes(kReuse, "1", 5s)) << daemon_->log();
    const auto fired_at = std::chrono::steady_clock::now();
    end_time_wait_storm();
    ASSERT_TRUE(daemon_->wait_for_log("rule time-wait-storm cleared", 5s)) << daemon_->log();
    // 3 polls of 200 ms clear the rule well within the 2 s cooldown: the gate
    // holds the revert back, then the daemon applies it by itself.
    EXPECT_TRUE(daemon_->wait_for_log("refused net.ipv4.tcp_tw_reuse 1 -> " + reuse_before, 2s))
        << daemon_->log();
    ASSERT_TRUE(sysctl_becomes(kReuse, reuse_before, 5s)) << daemon_->log();
    const auto took = std::chrono::steady_clock::now() - fired_at;
    // Not before the cooldown, and nowhere near the default minute.
    EXPECT_GE(took, 1500ms);
    EXPECT_LT(took, 10s);
    EXPECT_TRUE(daemon_->wait_for_log("applied net.ipv4.tcp_tw_reuse 1 -> " + reuse_before, 1s))
        << daemon_->log();
    EXPECT_TRUE(sysctl_becomes(kBuckets, buckets_before, 2s)) << daemon_->log();
    EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(DaemonTuningTest, SynRecvSurgeTurnsCookiesOnAndTheGateRefusesTheIgnoredSynBacklog) {
    // A host that turned SYN cookies off; the rest are the namespace's defaults.
    ASSERT_TRUE(write_namespace_sysctl("net.ipv4.tcp_syncookies", "0").has_value());
    const std::string retries_before = sysctl("net.ipv4.tcp_synack_retries");
    const std::string backlog_before = sysctl("net.ipv4.tcp_max_syn_backlog");
    ASSERT_NE(retries_before, "2");
    ASSERT_NE(backlog_before, "8192");

    launch({"--profile", "syn-flood"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    SocketFactory factory;
    auto made = factory.add_syn_recv(IpFamily::kV4, 200);  // nft drops the final ACKs
    ASSERT_TRUE(made.has_value()) << made.error().message;
    auto shown = wait_until_ss_shows(factory.expected());
    ASSERT_TRUE(shown.has_value()) << shown.error().message;

    ASSERT_TRUE(sysctl_becomes("net.ipv4.tcp_syncookies", "1", 5s));
    EXPECT_TRUE(sysctl_becomes("net.ipv4.tcp_synack_retries", "2", 2s));
    EXPECT_TRUE(daemon_->wait_for_log("rule syn-flood fired: syn_recv is 200", 2s))
        << daemon_->log();
    // Cookies went on first (plan order), so the kernel no longer reads
    // tcp_max_syn_backlog: the gate refuses to change it, and says why.
    EXPECT_TRUE(daemon_->wait_for_log(
        "refused net.ipv4.tcp_max_syn_backlog ? -> 8192 (profile syn-flood, rule syn-flood): "
        "net.ipv4.tcp_max_syn_backlog has no effect now",
        2s))
        << daemon_->log();
    EXPECT_EQ(sysctl("net.ipv4.tcp_max_syn_backlog"), backlog_before);
    const auto entries = journal();
    ASSERT_TRUE(entries.contains("net.ipv4.tcp_syncookies"));
    EXPECT_EQ(entries.at("net.ipv4.tcp_syncookies").original, "0");
    ASSERT_TRUE(entries.contains("net.ipv4.tcp_synack_retries"));
    EXPECT_EQ(entries.at("net.ipv4.tcp_synack_retries").original, retries_before);
    EXPECT_FALSE(entries.contains("net.ipv4.tcp_max_syn_backlog"));
    EXPECT_EQ(daemon_->stop(), 0);
}

TEST_F(DaemonTuningTest, OutsideSysctlWriteIsMarkedOverriddenAndNeverWrittenAgain) {
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    auto factory = std::make_unique<SocketFactory>();
    make_time_wait_storm(*factory, kStorm);
    ASSERT_TRUE(sysctl_becomes(kReuse, "1", 5s));

    // The administrator steps in.
    ASSERT_EQ(std::system("sysctl -q -w net.ipv4.tcp_tw_reuse=0"), 0);
    ASSERT_TRUE(daemon_->wait_for_log("overridden net.ipv4.tcp_tw_reuse 1 -> 0", 5s));

    // The rule clears and wants to revert tcp_tw_reuse: refused, the
    // administrator's value stays.
    end_time_wait_storm();
    ASSERT_TRUE(daemon_->wait_for_log("rule time-wait-storm cleared", 5s));
    ASSERT_TRUE(daemon_->wait_for_log("refused net.ipv4.tcp_tw_reuse", 5s));
    // More polls: still never written, reported once.
    EXPECT_FALSE(eventually([] { return sysctl(kReuse) != "0"; }, 2s));
    EXPECT_EQ(daemon_->count_in_log("overridden net.ipv4.tcp_tw_reuse"), 1U) << daemon_->log();

    const auto entries = journal();
    ASSERT_TRUE(entries.contains(kReuse));
    EXPECT_TRUE(entries.at(kReuse).overridden);
    EXPECT_EQ(entries.at(kReuse).overridden_value, "0");

    // A restart remembers it: the journal says overridden.
    EXPECT_EQ(daemon_->stop(), 0);
    launch({"--profile", "tw-storm"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    factory.reset();  // its destroyed TIME_WAITs would spoil expected()
    end_time_wait_storm();
    factory = std::make_unique<SocketFactory>();
    make_time_wait_storm(*factory, kStorm);
    ASSERT_TRUE(daemon_->wait_for_log("rule time-wait-storm fired", 5s));
    EXPECT_FALSE(eventually([] { return sysctl(kReuse) != "0"; }, 1s));
}

// The override pattern end to end: a profile of the same name earlier in the
// search path extends the shipped one; the daemon applies the merged result.
TEST_F(DaemonTuningTest, OverrideOfTheSameNameBuildsOnTheShippedProfile) {
    const auto etc = work_dir() / "etc";
    const auto usr = work_dir() / "usr";
    std::filesystem::create_directories(etc);
    std::filesystem::create_directories(usr);
    std::ofstream(usr / "override-demo.yaml") << "name: override-demo\n"
                                                 "description: the shipped one\n"
                                                 "sysctls:\n"
                                                 "  net.ipv4.tcp_fin_timeout: 25\n"
                                                 "  net.ipv4.tcp_keepalive_intvl: 40\n";
    std::ofstream(etc / "override-demo.yaml") << "name: override-demo\n"
                                                 "description: site override\n"
                                                 "extends: override-demo\n"
                                                 "sysctls:\n"
                                                 "  net.ipv4.tcp_keepalive_intvl: 30\n"
                                                 "  net.ipv4.tcp_keepalive_time: 600\n";
    launch({"--profile-dir", etc.string(), "--profile-dir", usr.string(), "--profile",
            "override-demo", "--interval", "0.2"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s)) << daemon_->log();
    EXPECT_TRUE(sysctl_becomes(kFinTimeout, "25", 5s)) << "the shipped baseline";
    EXPECT_TRUE(sysctl_becomes("net.ipv4.tcp_keepalive_time", "600", 5s)) << "the override";
    EXPECT_TRUE(sysctl_becomes("net.ipv4.tcp_keepalive_intvl", "30", 5s)) << "override wins";
    EXPECT_EQ(daemon_->log().find("inheritance cycle"), std::string::npos) << daemon_->log();
}

TEST_F(DaemonTuningTest, AdviceModeRunsThePipelineAndChangesNothing) {
    const std::string reuse_before = sysctl(kReuse);
    const std::string buckets_before = sysctl(kBuckets);
    const std::string fin_before = sysctl(kFinTimeout);

    launch({"--profile", "tw-storm", "--advise"});
    ASSERT_TRUE(daemon_->wait_for_log("ready: first poll done", 10s));
    SocketFactory factory;
    make_time_wait_storm(factory, kStorm);
    ASSERT_TRUE(daemon_->wait_for_log("rule time-wait-storm fired", 5s));
    ASSERT_TRUE(
        daemon_->wait_for_log("advised net.ipv4.tcp_tw_reuse " + reuse_before + " -> 1", 2s));
    EXPECT_TRUE(
        daemon_->wait_for_log("advised net.ipv4.tcp_fin_timeout " + fin_before + " -> 25", 1s));

    EXPECT_EQ(sysctl(kReuse), reuse_before);
    EXPECT_EQ(sysctl(kBuckets), buckets_before);
    EXPECT_EQ(sysctl(kFinTimeout), fin_before);
    EXPECT_FALSE(std::filesystem::exists(journal_file()));
    EXPECT_EQ(daemon_->count_in_log("applied "), 0U);
    EXPECT_EQ(daemon_->stop(), 0);
}

}  // namespace
}  // namespace tcptune::test
