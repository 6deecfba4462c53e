#include "tcptune/metrics/metrics_model.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "support/pressure_fixtures.hpp"

namespace tcptune {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// What a scrape returns: the families in prometheus-cpp's text format.
std::string exposition(const MetricsModel& model) {
    return prometheus::TextSerializer{}.Serialize(model.families());
}

// The sample lines of family `name` (histograms: its _count, _sum and _bucket), in order.
std::vector<std::string> series(const std::string& text, const std::string& name) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.size() > name.size() && line.rfind(name, 0) == 0 &&
            std::string_view(" {_").find(line[name.size()]) != std::string_view::npos) {
            lines.push_back(line);
        }
    }
    return lines;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

CensusSnapshot snapshot_with(std::uint64_t time_wait, std::uint64_t established,
                             std::chrono::nanoseconds duration) {
    CensusSnapshot s;
    s.counts[TcpState::kTimeWait] = time_wait;
    s.counts[TcpState::kEstablished] = established;
    s.duration = duration;
    return s;
}

// Everything a scrape shows before the first poll, byte for byte.
constexpr const char* kBeforeTheFirstPoll =
    R"exposition(# HELP tcptune_build_info Always 1; the version label is the running tcptuned's version.
# TYPE tcptune_build_info gauge
tcptune_build_info{version="1.2.3"} 1
# HELP tcptune_tcp_sockets TCP sockets in this network namespace by state (IPv4 and IPv6), from the last successful poll's sock_diag census; SYN_RECV includes request sockets.
# TYPE tcptune_tcp_sockets gauge
# HELP tcptune_poll_duration_seconds Wall time of each successful census poll (sock_diag dump and /proc/net reads), in seconds.
# TYPE tcptune_poll_duration_seconds histogram
tcptune_poll_duration_seconds_count 0
tcptune_poll_duration_seconds_sum 0
tcptune_poll_duration_seconds_bucket{le="0.0001"} 0
tcptune_poll_duration_seconds_bucket{le="0.00025"} 0
tcptune_poll_duration_seconds_bucket{le="0.0005"} 0
tcptune_poll_duration_seconds_bucket{le="0.001"} 0
tcptune_poll_duration_seconds_bucket{le="0.0025"} 0
tcptune_poll_duration_seconds_bucket{le="0.005"} 0
tcptune_poll_duration_seconds_bucket{le="0.01"} 0
tcptune_poll_duration_seconds_bucket{le="0.025"} 0
tcptune_poll_duration_seconds_bucket{le="0.05"} 0
tcptune_poll_duration_seconds_bucket{le="0.1"} 0
tcptune_poll_duration_seconds_bucket{le="0.25"} 0
tcptune_poll_duration_seconds_bucket{le="0.5"} 0
tcptune_poll_duration_seconds_bucket{le="1"} 0
tcptune_poll_duration_seconds_bucket{le="2.5"} 0
tcptune_poll_duration_seconds_bucket{le="5"} 0
tcptune_poll_duration_seconds_bucket{le="10"} 0
tcptune_poll_duration_seconds_bucket{le="+Inf"} 0
# HELP tcptune_poll_errors_total Census polls that failed; counts and rules are stale while they fail.
# TYPE tcptune_poll_errors_total counter
tcptune_poll_errors_total 0
# HELP tcptune_rule_active 1 while the active profile's rule is firing, 0 otherwise.
# TYPE tcptune_rule_active gauge
# HELP tcptune_rule_triggers_total Times the active profile's rule has fired (resets when the profile is switched or reloaded).
# TYPE tcptune_rule_triggers_total counter
# HELP tcptune_sysctl_value Live value of a sysctl tcptune manages or knows (its allowlist); integer pairs such as ip_local_port_range give two series, bound="low" and bound="high".
# TYPE tcptune_sysctl_value gauge
# HELP tcptune_sysctl_changes_total Sysctl changes by key and outcome since tcptuned started: applied, failed, skipped, advised, refused, overridden, restored, resumed.
# TYPE tcptune_sysctl_changes_total counter
# HELP tcptune_sysctl_overridden 1 when an administrator changed a key tcptune manages; tcptune leaves it alone until `tcptune resume KEY`.
# TYPE tcptune_sysctl_overridden gauge
# HELP tcptune_tcp_listen_overflows_total Times a full accept queue made the kernel drop a connection (TcpExt ListenOverflows in /proc/net/netstat, this network namespace).
# TYPE tcptune_tcp_listen_overflows_total counter
# HELP tcptune_tcp_listen_drops_total SYNs dropped by listening sockets for any reason, overflows included (TcpExt ListenDrops).
# TYPE tcptune_tcp_listen_drops_total counter
# HELP tcptune_tcp_syncookies_sent_total SYN cookies sent because a SYN queue was full, a sign of a SYN flood (TcpExt SyncookiesSent).
# TYPE tcptune_tcp_syncookies_sent_total counter
# HELP tcptune_tcp_syncookies_failed_total ACKs carrying an invalid SYN cookie (TcpExt SyncookiesFailed).
# TYPE tcptune_tcp_syncookies_failed_total counter
# HELP tcptune_tcp_timewait_overflows_total TIME_WAIT sockets the kernel could not create because net.ipv4.tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow).
# TYPE tcptune_tcp_timewait_overflows_total counter
# HELP tcptune_census_engine 1 for the census engine counting the sockets (bpf: state counters; netlink: a sock_diag dump per poll), 0 for the other.
# TYPE tcptune_census_engine gauge
# HELP tcptune_census_reconciliations_total Times the bpf census engine was checked against (and corrected by) a full sock_diag dump, the seeding included; 0 with the netlink engine.
# TYPE tcptune_census_reconciliations_total counter
# HELP tcptune_census_drift_sockets Engine count minus a full dump's, per state, found by the bpf engine's last reconciliation (then corrected); states the bpf program counts. 0 is exact.
# TYPE tcptune_census_drift_sockets gauge
# HELP tcptune_census_lost_events_total State changes the bpf census engine could not count (kernel recursion guard, full maps); any make it reconcile early.
# TYPE tcptune_census_lost_events_total counter
# HELP tcptune_listener_syn_queue Half-open connections (request sockets) of a listener, for the listeners with the fullest queues (at most metrics_top_k).
# TYPE tcptune_listener_syn_queue gauge
# HELP tcptune_listener_accept_queue Completed connections waiting for accept() on a listener, for the listeners with the fullest queues.
# TYPE tcptune_listener_accept_queue gauge
# HELP tcptune_listener_backlog A listener's effective backlog, min(listen() backlog, net.core.somaxconn): the limit of both of its queues.
# TYPE tcptune_listener_backlog gauge
# HELP tcptune_ephemeral_ports_usable Ports connect() may pick: net.ipv4.ip_local_port_range minus net.ipv4.ip_local_reserved_ports.
# TYPE tcptune_ephemeral_ports_usable gauge
# HELP tcptune_destination_sockets Sockets holding an ephemeral port towards a destination (local address, remote address:port), for the most occupied destinations (at most metrics_top_k).
# TYPE tcptune_destination_sockets gauge
# HELP tcptune_destination_port_usage_ratio Share of the usable ephemeral ports held towards a destination; connect() to it fails with EADDRNOTAVAIL at 1.
# TYPE tcptune_destination_port_usage_ratio gauge
# HELP tcptune_dead_peer_sockets Sockets whose peer does not answer, by evidence: keepalive probes, retransmissions or zero-window probes unanswered.
# TYPE tcptune_dead_peer_sockets gauge
# HELP tcptune_tcp_event_rate Kernel TCP counters (TcpExt and Tcp) per second between the last two polls; the counter label is the profile's name for it.
# TYPE tcptune_tcp_event_rate gauge
# HELP tcptune_tcp_retransmit_ratio RetransSegs / OutSegs between the last two polls.
# TYPE tcptune_tcp_retransmit_ratio gauge
# HELP tcptune_rule_subject 1 for the listener or destination an active per-listener or per-destination rule fired on.
# TYPE tcptune_rule_subject gauge
# HELP tcptune_rule_did_not_help 1 while a rule's change did not improve its signal and was reverted; the rule does not act again until it clears.
# TYPE tcptune_rule_did_not_help gauge
)exposition";

TEST(MetricsModel, BeforeTheFirstPollTheExpositionIsExactlyThis) {
    EXPECT_EQ(exposition(MetricsModel("1.2.3")), kBeforeTheFirstPoll);
}

TEST(MetricsModel, ExposesExactlyTheDesignMetricSetWithHelpText) {
    const MetricsModel model("1.2.3");
    std::vector<std::string> names;
    for (const auto& f : model.families()) {
        names.push_back(f.name);
        EXPECT_FALSE(f.help.empty()) << f.name;
        EXPECT_EQ(f.type == prometheus::MetricType::Counter, f.name.ends_with("_total")) << f.name;
    }
    const std::vector<std::string> expected = {
        "tcptune_build_info",
        "tcptune_tcp_sockets",
        "tcptune_poll_duration_seconds",
        "tcptune_poll_errors_total",
        "tcptune_rule_active",
        "tcptune_rule_triggers_total",
        "tcptune_sysctl_value",
        "tcptune_sysctl_changes_total",
        "tcptune_sysctl_overridden",
        "tcptune_tcp_listen_overflows_total",
        "tcptune_tcp_listen_drops_total",
        "tcptune_tcp_syncookies_sent_total",
        "tcptune_tcp_syncookies_failed_total",
        "tcptune_tcp_timewait_overflows_total",
        "tcptune_census_engine",
        "tcptune_census_reconciliations_total",
        "tcptune_census_drift_sockets",
        "tcptune_census_lost_events_total",
        "tcptune_listener_syn_queue",
        "tcptune_listener_accept_queue",
        "tcptune_listener_backlog",
        "tcptune_ephemeral_ports_usable",
        "tcptune_destination_sockets",
        "tcptune_destination_port_usage_ratio",
        "tcptune_dead_peer_sockets",
        "tcptune_tcp_event_rate",
        "tcptune_tcp_retransmit_ratio",
        "tcptune_rule_subject",
        "tcptune_rule_did_not_help",
    };
    EXPECT_EQ(names, expected);
}

TEST(MetricsModel, EveryStateIsExportedEvenWhenZeroInTheKernelsOrder) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(1234, 7, milliseconds(3)));
    EXPECT_EQ(series(exposition(model), "tcptune_tcp_sockets"),
              (std::vector<std::string>{
                  R"(tcptune_tcp_sockets{state="established"} 7)",
                  R"(tcptune_tcp_sockets{state="syn_sent"} 0)",
                  R"(tcptune_tcp_sockets{state="syn_recv"} 0)",
                  R"(tcptune_tcp_sockets{state="fin_wait1"} 0)",
                  R"(tcptune_tcp_sockets{state="fin_wait2"} 0)",
                  R"(tcptune_tcp_sockets{state="time_wait"} 1234)",
                  R"(tcptune_tcp_sockets{state="close"} 0)",
                  R"(tcptune_tcp_sockets{state="close_wait"} 0)",
                  R"(tcptune_tcp_sockets{state="last_ack"} 0)",
                  R"(tcptune_tcp_sockets{state="listen"} 0)",
                  R"(tcptune_tcp_sockets{state="closing"} 0)",
              }));
}

TEST(MetricsModel, LatestPollWins) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(10, 0, milliseconds(1)));
    model.observe_poll(snapshot_with(3, 0, milliseconds(1)));
    EXPECT_TRUE(has_line(exposition(model), R"(tcptune_tcp_sockets{state="time_wait"} 3)"));
}

TEST(MetricsModel, NetstatCountersMirrorTheKernelValues) {
    MetricsModel model("1");
    CensusSnapshot s;
    s.netstat.listen_overflows = 11;
    s.netstat.listen_drops = 12;
    s.netstat.syncookies_sent = 13;
    s.netstat.syncookies_failed = 14;
    s.netstat.timewait_overflows = 15;
    model.observe_poll(s);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(text, "tcptune_tcp_listen_overflows_total 11")) << text;
    EXPECT_TRUE(has_line(text, "tcptune_tcp_listen_drops_total 12")) << text;
    EXPECT_TRUE(has_line(text, "tcptune_tcp_syncookies_sent_total 13")) << text;
    EXPECT_TRUE(has_line(text, "tcptune_tcp_syncookies_failed_total 14")) << text;
    EXPECT_TRUE(has_line(text, "tcptune_tcp_timewait_overflows_total 15")) << text;
}

TEST(MetricsModel, PollDurationHistogramCountsEachPollInItsLeBucket) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(0, 0, microseconds(50)));          // below the first bound
    model.observe_poll(snapshot_with(0, 0, milliseconds(1)));           // exactly on a bound
    model.observe_poll(snapshot_with(0, 0, milliseconds(300)));         // mid-range
    model.observe_poll(snapshot_with(0, 0, std::chrono::seconds(20)));  // past the last bound
    EXPECT_EQ(series(exposition(model), "tcptune_poll_duration_seconds"),
              (std::vector<std::string>{
                  "tcptune_poll_duration_seconds_count 4",
                  "tcptune_poll_duration_seconds_sum 20.30105",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.0001"} 1)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.00025"} 1)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.0005"} 1)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.001"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.0025"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.005"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.01"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.025"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.05"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.1"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.25"} 2)",
                  R"(tcptune_poll_duration_seconds_bucket{le="0.5"} 3)",
                  R"(tcptune_poll_duration_seconds_bucket{le="1"} 3)",
                  R"(tcptune_poll_duration_seconds_bucket{le="2.5"} 3)",
                  R"(tcptune_poll_duration_seconds_bucket{le="5"} 3)",
                  R"(tcptune_poll_duration_seconds_bucket{le="10"} 3)",
                  R"(tcptune_poll_duration_seconds_bucket{le="+Inf"} 4)",
              }));
}

TEST(MetricsModel, PollDurationBucketsSpan100MicrosecondsTo10Seconds) {
    const auto& b = poll_duration_buckets();
    ASSERT_FALSE(b.empty());
    EXPECT_DOUBLE_EQ(b.front(), 0.0001);
    EXPECT_DOUBLE_EQ(b.back(), 10.0);
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
    EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end());
}

TEST(MetricsModel, SysctlValueSamplesSplitPairsAndSkipText) {
    const auto one = sysctl_value_samples("net.ipv4.tcp_fin_timeout", "30");
    ASSERT_EQ(one.size(), 1u);
    ASSERT_EQ(one[0].label.size(), 1u);
    EXPECT_EQ(one[0].label[0].name, "key");
    EXPECT_EQ(one[0].label[0].value, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(one[0].gauge.value, 30.0);
    const auto pair = sysctl_value_samples("net.ipv4.ip_local_port_range", "32768\t60999");
    ASSERT_EQ(pair.size(), 2u);
    EXPECT_EQ(pair[0].label[1].name, "bound");
    EXPECT_EQ(pair[0].label[1].value, "low");
    EXPECT_EQ(pair[0].gauge.value, 32768.0);
    EXPECT_EQ(pair[1].label[1].value, "high");
    EXPECT_EQ(pair[1].gauge.value, 60999.0);
    EXPECT_TRUE(sysctl_value_samples("k", "").empty());
    EXPECT_TRUE(sysctl_value_samples("k", "cubic").empty());
    EXPECT_TRUE(sysctl_value_samples("k", "1 2 3").empty());
}

ControllerStatus status_with_rules_and_sysctls() {
    ControllerStatus status;
    status.poll_errors = 4;
    RuleStatus firing;
    firing.name = "time-wait-pressure";
    firing.active = true;
    firing.trigger_count = 2;
    RuleStatus quiet;
    quiet.name = "close-wait-leak";
    status.rules = {firing, quiet};
    SysctlView fin;
    fin.key = "net.ipv4.tcp_fin_timeout";
    fin.current = "30";
    fin.owner = SysctlOwner::kTcptune;
    SysctlView reuse;
    reuse.key = "net.ipv4.tcp_tw_reuse";
    reuse.current = "0";
    reuse.owner = SysctlOwner::kAdministrator;
    SysctlView ports;
    ports.key = "net.ipv4.ip_local_port_range";
    ports.current = "1024 65000";
    status.sysctls = {fin, reuse, ports};
    return status;
}

TEST(MetricsModel, RulesAndPollErrorsComeFromTheStatus) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    const std::string text = exposition(model);
    EXPECT_EQ(series(text, "tcptune_rule_active"),
              (std::vector<std::string>{R"(tcptune_rule_active{rule="time-wait-pressure"} 1)",
                                        R"(tcptune_rule_active{rule="close-wait-leak"} 0)"}));
    EXPECT_EQ(
        series(text, "tcptune_rule_triggers_total"),
        (std::vector<std::string>{R"(tcptune_rule_triggers_total{rule="time-wait-pressure"} 2)",
                                  R"(tcptune_rule_triggers_total{rule="close-wait-leak"} 0)"}));
    EXPECT_TRUE(has_line(text, "tcptune_poll_errors_total 4")) << text;
}

TEST(MetricsModel, ASwitchedProfileDropsTheOldRules) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    ControllerStatus other;
    RuleStatus r;
    r.name = "syn-flood";
    other.rules = {r};
    model.set_status(other);
    EXPECT_EQ(series(exposition(model), "tcptune_rule_active"),
              std::vector<std::string>{R"(tcptune_rule_active{rule="syn-flood"} 0)"});
}

TEST(MetricsModel, SysctlValuesAndOverridesFollowTheStatus) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    const std::string text = exposition(model);
    EXPECT_EQ(series(text, "tcptune_sysctl_value"),
              (std::vector<std::string>{
                  R"(tcptune_sysctl_value{key="net.ipv4.tcp_fin_timeout"} 30)",
                  R"(tcptune_sysctl_value{key="net.ipv4.tcp_tw_reuse"} 0)",
                  R"(tcptune_sysctl_value{key="net.ipv4.ip_local_port_range",bound="low"} 1024)",
                  R"(tcptune_sysctl_value{key="net.ipv4.ip_local_port_range",bound="high"} 65000)",
              }));
    EXPECT_EQ(series(text, "tcptune_sysctl_overridden"),
              (std::vector<std::string>{
                  R"(tcptune_sysctl_overridden{key="net.ipv4.tcp_fin_timeout"} 0)",
                  R"(tcptune_sysctl_overridden{key="net.ipv4.tcp_tw_reuse"} 1)",
                  R"(tcptune_sysctl_overridden{key="net.ipv4.ip_local_port_range"} 0)",
              }));
}

TEST(MetricsModel, OtherRegistryValuesFillInWithoutDuplicatingStatusKeys) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    model.set_other_sysctl_values({{"net.ipv4.tcp_max_tw_buckets", "262144"},
                                   {"net.ipv4.tcp_fin_timeout", "60"}});  // status says 30
    const std::string text = exposition(model);
    const auto values = series(text, "tcptune_sysctl_value");
    EXPECT_EQ(values.back(), R"(tcptune_sysctl_value{key="net.ipv4.tcp_max_tw_buckets"} 262144)");
    EXPECT_EQ(std::count(values.begin(), values.end(),
                         R"(tcptune_sysctl_value{key="net.ipv4.tcp_fin_timeout"} 30)"),
              1);
    EXPECT_EQ(values.size(), 5u);
    // Known-but-unmanaged keys are not "overridden" candidates.
    EXPECT_EQ(text.find(R"(tcptune_sysctl_overridden{key="net.ipv4.tcp_max_tw_buckets"})"),
              std::string::npos);
}

TEST(MetricsModel, ChangesAreCountedByKeyAndResultFromZero) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    ChangeRecord applied;
    applied.key = "net.ipv4.tcp_fin_timeout";
    applied.result = ChangeResult::kApplied;
    model.count_change(applied);
    model.count_change(applied);
    ChangeRecord failed = applied;
    failed.result = ChangeResult::kFailed;
    model.count_change(failed);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(
        text,
        R"(tcptune_sysctl_changes_total{key="net.ipv4.tcp_fin_timeout",result="applied"} 2)"));
    EXPECT_TRUE(has_line(
        text, R"(tcptune_sysctl_changes_total{key="net.ipv4.tcp_fin_timeout",result="failed"} 1)"));
    // Pre-seeded so the first failure is an increase, not a new series.
    EXPECT_TRUE(has_line(
        text, R"(tcptune_sysctl_changes_total{key="net.ipv4.tcp_tw_reuse",result="failed"} 0)"));
    EXPECT_EQ(series(text, "tcptune_sysctl_changes_total").size(), 3 * kChangeResultNames.size());
}

TEST(MetricsModel, ChangeKeysOutsideTheRegistryShareOneLabelValue) {
    MetricsModel model("1");
    ChangeRecord odd;
    odd.key = "net.ipv4.made_up_1";
    odd.result = ChangeResult::kRefused;
    model.count_change(odd);
    odd.key = "net.ipv4.made_up_2";
    model.count_change(odd);
    EXPECT_EQ(series(exposition(model), "tcptune_sysctl_changes_total"),
              std::vector<std::string>{
                  R"(tcptune_sysctl_changes_total{key="other",result="refused"} 2)"});
}

TEST(MetricsModel, EveryChangeResultHasADistinctLabelValue) {
    std::set<std::string> names;
    for (const auto& [result, word] : kChangeResultNames) {
        const std::string name(to_string(result));
        EXPECT_FALSE(name.empty());
        EXPECT_EQ(parse_change_result(name), result);
        names.insert(name);
    }
    EXPECT_EQ(names.size(), kChangeResultNames.size());
    EXPECT_TRUE(names.count("applied") == 1 && names.count("failed") == 1);
}

ListenerQueues listener_at(std::uint16_t port, std::uint32_t syn, std::uint32_t backlog) {
    return test::listener_queues("127.0.0.5", port, syn, 0, backlog);
}

TEST(MetricsModel, PressureSeriesAreBoundedByTopK) {
    MetricsModel model("1.2.3");
    model.set_top_k(2);
    CensusSnapshot s;
    ListenerSignals l;
    l.filling = {listener_at(8080, 512, 511), listener_at(8081, 10, 128),
                 listener_at(8082, 1, 128)};
    s.pressure.listeners = l;
    DestinationSignals d;
    d.usable = 500;
    DestinationPorts hot;
    hot.local = test::ipv4("127.0.0.1");
    hot.remote = test::ipv4("127.0.0.8", 5432);
    hot.sockets = 450;
    hot.occupancy = 0.9;
    d.top = {hot};
    s.pressure.destinations = d;
    CounterRates rates;
    rates.per_second[static_cast<std::size_t>(RateCounter::kReqqFullDrop)] = 12.5;
    rates.retrans_ratio = 0.02;
    s.pressure.rates = rates;
    model.observe_poll(s);
    const std::string text = exposition(model);
    EXPECT_EQ(series(text, "tcptune_listener_syn_queue").size(), 2U) << "top_k = 2 of 3 listeners";
    EXPECT_TRUE(has_line(text, "tcptune_listener_syn_queue{listener=\"127.0.0.5:8080\"} 512"))
        << text;
    EXPECT_TRUE(has_line(text, "tcptune_listener_backlog{listener=\"127.0.0.5:8080\"} 511"));
    EXPECT_TRUE(has_line(text, "tcptune_ephemeral_ports_usable 500"));
    EXPECT_TRUE(has_line(text,
                         "tcptune_destination_port_usage_ratio{local=\"127.0.0.1\","
                         "destination=\"127.0.0.8:5432\"} 0.9"))
        << text;
    EXPECT_TRUE(has_line(text, "tcptune_tcp_event_rate{counter=\"reqq_full_drop\"} 12.5"));
    EXPECT_EQ(series(text, "tcptune_tcp_event_rate").size(), 1U)
        << "counters without a rate are left out, not shown as 0";
    EXPECT_TRUE(has_line(text, "tcptune_tcp_retransmit_ratio 0.02"));

    model.set_top_k(0);
    EXPECT_TRUE(series(exposition(model), "tcptune_listener_syn_queue").empty());
}

TEST(MetricsModel, RuleSubjectAndDidNotHelp) {
    MetricsModel model("1.2.3");
    ControllerStatus status;
    RuleStatus fired;
    fired.name = "syn-queue-full";
    fired.active = true;
    fired.subject = "127.0.0.5:8080";
    RuleStatus undone;
    undone.name = "syn-drops-without-cookies";
    undone.active = true;
    undone.verdict = "did not help";
    status.rules = {fired, undone};
    model.set_status(status);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(text,
                         "tcptune_rule_subject{rule=\"syn-queue-full\","
                         "subject=\"127.0.0.5:8080\"} 1"))
        << text;
    EXPECT_EQ(series(text, "tcptune_rule_subject").size(), 1U);
    EXPECT_TRUE(has_line(text, "tcptune_rule_did_not_help{rule=\"syn-drops-without-cookies\"} 1"));
    EXPECT_TRUE(has_line(text, "tcptune_rule_did_not_help{rule=\"syn-queue-full\"} 0"));
}

}  // namespace
}  // namespace tcptune

namespace tcptune {
namespace {

NamespaceCounts namespace_with(const std::string& name, std::uint64_t time_wait) {
    NamespaceCounts n;
    n.ns.name = name;
    n.counts[TcpState::kTimeWait] = time_wait;
    return n;
}

TEST(MetricsModelNamespaces, WatchAllLabelsPerNamespaceSeriesAndBoundsTheOthers) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(5, 1, milliseconds(1)));
    model.set_other_namespaces({namespace_with("small", 1), namespace_with("big", 90),
                                namespace_with("mid", 20), namespace_with("tiny", 2)},
                               2);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(text, R"(tcptune_tcp_sockets{netns="host",state="time_wait"} 5)")) << text;
    // The two busiest in full, the rest summed.
    EXPECT_TRUE(has_line(text, R"(tcptune_tcp_sockets{netns="big",state="time_wait"} 90)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_tcp_sockets{netns="mid",state="time_wait"} 20)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_tcp_sockets{netns="_other",state="time_wait"} 3)"));
    EXPECT_EQ(text.find(R"(netns="small")"), std::string::npos);
    EXPECT_EQ(series(text, "tcptune_tcp_sockets").size(), 4 * kTcpStateCount);
    // Per-namespace counters get the label; the process-wide series do not.
    EXPECT_TRUE(has_line(text, R"(tcptune_tcp_listen_overflows_total{netns="host"} 0)")) << text;
    EXPECT_TRUE(has_line(text, R"(tcptune_poll_errors_total 0)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_build_info{version="1"} 1)"));

    // A namespace that is gone loses its series with the next set.
    model.set_other_namespaces({namespace_with("mid", 20)}, 2);
    const std::string after = exposition(model);
    EXPECT_EQ(after.find(R"(netns="big")"), std::string::npos);
    EXPECT_EQ(after.find(R"(netns="_other")"), std::string::npos);
    EXPECT_TRUE(has_line(after, R"(tcptune_tcp_sockets{netns="mid",state="time_wait"} 20)"));
}

TEST(MetricsModel, ManagedNamespacesAreLabelledAndForgotten) {
    MetricsModel model("1.2.3");
    model.set_other_namespaces({}, 10);
    ControllerStatus status;
    RuleStatus rule;
    rule.name = "tw";
    rule.active = true;
    rule.trigger_count = 2;
    status.rules = {rule};
    status.sysctls = {
        SysctlView{"net.ipv4.tcp_fin_timeout", "33", "60", "33", SysctlOwner::kTcptune}};
    model.set_namespace_status("edge", status);
    ChangeRecord applied;
    applied.key = "net.ipv4.tcp_fin_timeout";
    applied.result = ChangeResult::kApplied;
    model.count_namespace_change("edge", applied);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(text, R"(tcptune_rule_active{netns="edge",rule="tw"} 1)")) << text;
    EXPECT_TRUE(has_line(text, R"(tcptune_rule_triggers_total{netns="edge",rule="tw"} 2)"));
    EXPECT_TRUE(
        has_line(text, R"(tcptune_sysctl_value{netns="edge",key="net.ipv4.tcp_fin_timeout"} 33)"));
    EXPECT_TRUE(has_line(
        text,
        R"(tcptune_sysctl_changes_total{netns="edge",key="net.ipv4.tcp_fin_timeout",result="applied"} 1)"));
    EXPECT_TRUE(has_line(
        text,
        R"(tcptune_sysctl_changes_total{netns="edge",key="net.ipv4.tcp_fin_timeout",result="failed"} 0)"));
    EXPECT_TRUE(has_line(
        text, R"(tcptune_sysctl_overridden{netns="edge",key="net.ipv4.tcp_fin_timeout"} 0)"));

    model.forget_namespace("edge");
    EXPECT_EQ(exposition(model).find("netns=\"edge\""), std::string::npos);
}

TEST(MetricsModelNamespaces, SockstatAndCensusDurationPerNamespaceSummedIntoOther) {
    MetricsModel model("1");
    CensusSnapshot own = snapshot_with(5, 1, milliseconds(4));
    own.sockstat.tcp_inuse = 7;
    own.sockstat.tcp6_inuse = 1;
    own.sockstat.tcp_tw = 5;
    own.sockstat.tcp_orphan = 9;  // host-wide: never a netns series
    model.observe_poll(own);
    auto with_sockstat = [](const std::string& name, std::uint64_t tw, std::uint64_t inuse) {
        NamespaceCounts n = namespace_with(name, tw);
        n.sockstat.tcp_tw = tw;
        n.sockstat.tcp_inuse = inuse;
        n.sockstat.tcp6_inuse = 2;
        n.duration = milliseconds(250);
        return n;
    };
    model.set_other_namespaces(
        {with_sockstat("a", 30, 3), with_sockstat("b", 20, 4), with_sockstat("c", 10, 5)}, 1);
    const std::string text = exposition(model);
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_inuse{netns="host"} 7)")) << text;
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp6_inuse{netns="host"} 1)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_tw{netns="host"} 5)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_namespace_census_duration_seconds{netns="host"} 0.004)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_inuse{netns="a"} 3)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_tw{netns="a"} 30)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_namespace_census_duration_seconds{netns="a"} 0.25)"));
    // b and c summed.
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_inuse{netns="_other"} 9)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp6_inuse{netns="_other"} 4)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_sockstat_tcp_tw{netns="_other"} 30)"));
    EXPECT_TRUE(has_line(text, R"(tcptune_namespace_census_duration_seconds{netns="_other"} 0.5)"));
    EXPECT_EQ(series(text, "tcptune_sockstat_tcp_inuse").size(), 3U);
    EXPECT_EQ(text.find("orphan"), std::string::npos);
}

TEST(MetricsModelNamespaces, WatchHostHasNoNamespaceFamilies) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(5, 1, milliseconds(1)));
    const std::string text = exposition(model);
    EXPECT_EQ(text.find("tcptune_sockstat_"), std::string::npos);
    EXPECT_EQ(text.find("tcptune_namespace_census_duration_seconds"), std::string::npos);
}

}  // namespace
}  // namespace tcptune
