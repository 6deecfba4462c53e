#include "tcptune/apply/change_record.hpp"

#include <gtest/gtest.h>

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
    ChangeRecord r;
    r.key = "net.ipv4.tcp_fin_timeout";
    r.old_value = "60";
    r.new_value = "30";
    r.profile = "web";
    r.rule = "fin-wait2-pileup";
    r.result = ChangeResult::kFailed;
    r.detail = "Invalid argument (EINVAL, errno 22)";
    EXPECT_EQ(describe(r),
              "failed net.ipv4.tcp_fin_timeout 60 -> 30 (profile web, rule fin-wait2-pileup): "
              "Invalid argument (EINVAL, errno 22)");
}

}  // namespace
}  // namespace tcptune
