#include "tcptune/apply/change_record.hpp"

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

TEST(ChangeRecord, ReplayCommandIsPasteableIntoAShell) {
    EXPECT_EQ(sysctl_replay_command("net.ipv4.tcp_fin_timeout", "30"),
              "sysctl -w net.ipv4.tcp_fin_timeout=30");
    EXPECT_EQ(sysctl_replay_command("net.ipv4.ip_local_port_range", "1024 65535"),
              "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"");
}

TEST(ChangeRecord, ResultNamesAreTheMetricLabels) {
    EXPECT_EQ(to_string(ChangeResult::kApplied), "applied");
    EXPECT_EQ(to_string(ChangeResult::kFailed), "failed");
    EXPECT_EQ(to_string(ChangeResult::kSkipped), "skipped");
    EXPECT_EQ(to_string(ChangeResult::kAdvised), "advised");
    EXPECT_EQ(to_string(ChangeResult::kRefused), "refused");
    EXPECT_EQ(to_string(ChangeResult::kOverridden), "overridden");
    EXPECT_EQ(to_string(ChangeResult::kRestored), "restored");
    EXPECT_EQ(to_string(ChangeResult::kResumed), "resumed");
}

TEST(ChangeRecord, DescribeIsOneReadableLine) {
    EXPECT_EQ(
        describe(test::sample_change(ChangeResult::kFailed, "Invalid argument (EINVAL, errno 22)")),
        "failed net.ipv4.tcp_tw_reuse 2 -> 1 (profile web, rule time-wait-pressure): "
        "Invalid argument (EINVAL, errno 22)");
}

}  // namespace
}  // namespace tcptune
