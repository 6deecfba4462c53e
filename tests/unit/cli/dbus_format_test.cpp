#include "dbus_format.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "command.hpp"
#include "fakes/applier_fakes.hpp"

namespace tcptune::cli {
namespace {

ChangeRecord change(ChangeResult result) {
    ChangeRecord row = test::sample_change(result);
    row.rule.clear();
    row.reason = "TIME_WAIT pressure";
    return row;
}

TEST(DbusFormat, TimesAreUtcAndZeroIsEmpty) {
    EXPECT_EQ(format_unix_usec(1'714'564'800'000'000), "2024-05-01T12:00:00Z");
    EXPECT_EQ(format_unix_usec(0), "");
}

TEST(DbusFormat, HeaderNamesProfileModeIntervalAndHealth) {
    DaemonStatus s;
    s.version = "0.1.0";
    s.profile = "web";
    s.mode = "apply";
    s.interval_seconds = 0.5;
    s.description = "frontends";
    s.profile_file = "/etc/tcptune/profiles/web.yaml";
    s.polls = 12;
    s.poll_errors = 1;
    s.last_poll_error = "dump interrupted";
    EXPECT_EQ(render_daemon_header(s, false),
              "tcptuned 0.1.0: profile web (apply mode, every 0.5s)\n"
              "  frontends\n"
              "  file: /etc/tcptune/profiles/web.yaml\n"
              "  polls: 12 (1 errors)\n"
              "  last poll error: dump interrupted\n");
    s.journal_error = "journal.json: bad JSON";
    EXPECT_NE(render_daemon_header(s, false).find(
                  "  JOURNAL UNUSABLE, writes refused: journal.json: bad JSON\n"),
              std::string::npos);
}

TEST(DbusFormat, CountsInTheKernelsOrderWithATotal) {
    DaemonCounts c;
    EXPECT_EQ(render_counts(c, false), "no census yet (the daemon has not completed a poll)\n");
    c.valid = true;
    c.states = {{"time_wait", 7}, {"established", 3}, {"listen", 2}};
    c.age_seconds = 1.5;
    c.duration_seconds = 0.002;
    EXPECT_EQ(render_counts(c, false),
              "STATE        SOCKETS\n"
              "established        3\n"
              "syn_sent           0\n"
              "syn_recv           0\n"
              "fin_wait1          0\n"
              "fin_wait2          0\n"
              "time_wait          7\n"
              "close              0\n"
              "close_wait         0\n"
              "last_ack           0\n"
              "listen             2\n"
              "closing            0\n"
              "total             12\n"
              "census 1.5s ago, took 2 ms\n");
    // In colour, a watched state with sockets stands out and empty ones are dimmed.
    const std::string coloured = render_counts(c, true);
    EXPECT_NE(coloured.find("\x1b[33mtime_wait          7\x1b[0m"), std::string::npos) << coloured;
    EXPECT_NE(coloured.find("\x1b[2msyn_sent           0\x1b[0m"), std::string::npos) << coloured;
}

TEST(DbusFormat, ChangesShowTheDetailElseTheReason) {
    ChangeRecord refused = change(ChangeResult::kRefused);
    refused.detail = "cooldown: 42 s left";
    refused.rule = "tw";
    EXPECT_EQ(render_changes({change(ChangeResult::kApplied), refused}, false),
              "AT                    RESULT   SYSCTL                 OLD  NEW  RULE  DETAIL\n"
              "2024-05-01T12:00:00Z  applied  net.ipv4.tcp_tw_reuse    2    1  -     TIME_WAIT "
              "pressure\n"
              "2024-05-01T12:00:00Z  refused  net.ipv4.tcp_tw_reuse    2    1  tw    cooldown: 42 "
              "s left\n");
    EXPECT_EQ(render_changes({}, false), "no changes\n");
}

TEST(DbusFormat, SysctlsAndRulesSayWhenThereAreNone) {
    EXPECT_EQ(render_sysctls({}, false), "no managed sysctls\n");
    EXPECT_EQ(render_rules({}, false), "no rules in this profile\n");
    SysctlRow row{"net.ipv4.tcp_fin_timeout", "30", "60", "", "tcptune"};
    EXPECT_EQ(render_sysctls({row}, false),
              "SYSCTL                    CURRENT  ORIGINAL  DESIRED  OWNER\n"
              "net.ipv4.tcp_fin_timeout       30        60        -  tcptune\n");
}

TEST(DbusFormat, AFailureOutranksARefusalInTheExitCode) {
    EXPECT_EQ(exit_code_for_changes({}), kExitOk);
    EXPECT_EQ(
        exit_code_for_changes({change(ChangeResult::kApplied), change(ChangeResult::kSkipped)}),
        kExitOk);
    EXPECT_EQ(
        exit_code_for_changes({change(ChangeResult::kApplied), change(ChangeResult::kRefused)}),
        kExitRefused);
    EXPECT_EQ(
        exit_code_for_changes({change(ChangeResult::kRefused), change(ChangeResult::kFailed)}),
        kExitFailure);
}

TEST(DbusFormat, DaemonErrorsSayWhatToDoNextAndKeepTheirExitCode) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(report_daemon_error("status", DaemonError("org.freedesktop.DBus.Error.ServiceUnknown",
                                                        "no owner", kExitDaemonUnreachable, true)),
              kExitDaemonUnreachable);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.rfind("tcptune status: tcptuned is not reachable (no owner).\n", 0), 0u) << err;
    EXPECT_NE(err.find("systemctl start tcptune"), std::string::npos) << err;

    testing::internal::CaptureStderr();
    EXPECT_EQ(report_daemon_error(
                  "apply", DaemonError("org.freedesktop.DBus.Error.AccessDenied",
                                       "SetProfile requires root", kExitPermissionDenied, false)),
              kExitPermissionDenied);
    err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("permission denied: SetProfile requires root"), std::string::npos) << err;
    EXPECT_NE(err.find("sudo tcptune apply ..."), std::string::npos) << err;

    testing::internal::CaptureStderr();
    EXPECT_EQ(
        report_daemon_error("apply", DaemonError("net.tcptune.Error.InvalidProfile",
                                                 "web.yaml:3:1: bad", kExitInvalidProfile, false)),
        kExitInvalidProfile);
    EXPECT_EQ(testing::internal::GetCapturedStderr(),
              "tcptune apply: web.yaml:3:1: bad [net.tcptune.Error.InvalidProfile]\n");
}

}  // namespace
}  // namespace tcptune::cli
