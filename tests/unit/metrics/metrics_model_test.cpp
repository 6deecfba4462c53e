#include "tcptune/metrics/metrics_model.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "support/pressure_fixtures.hpp"

namespace tcptune {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const MetricFamilyData& find_family(const std::vector<MetricFamilyData>& families,
                                    const std::string& name) {
    const auto it = std::find_if(families.begin(), families.end(),
                                 [&](const MetricFamilyData& f) { return f.name == name; });
    if (it == families.end()) {
        throw std::runtime_error("no family " + name);
    }
    return *it;
}

// Value of the one sample whose labels are exactly `labels`; throws when absent.
double value_of(const MetricFamilyData& family, const std::vector<MetricLabel>& labels) {
    for (const auto& sample : family.samples) {
        if (sample.labels == labels) {
            return sample.value;
        }
    }
    throw std::runtime_error("no sample in " + family.name);
}

CensusSnapshot snapshot_with(std::uint64_t time_wait, std::uint64_t established,
                             std::chrono::nanoseconds duration) {
    CensusSnapshot s;
    s.counts[TcpState::kTimeWait] = time_wait;
    s.counts[TcpState::kEstablished] = established;
    s.duration = duration;
    return s;
}

TEST(MetricsModel, ExposesExactlyTheDesignMetricSetWithHelpText) {
    const MetricsModel model("1.2.3");
    const auto families = model.families();
    std::vector<std::string> names;
    for (const auto& f : families) {
        names.push_back(f.name);
        EXPECT_FALSE(f.help.empty()) << f.name;
        if (f.kind == MetricKind::kCounter) {
            EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
        } else {
            EXPECT_FALSE(f.name.ends_with("_total")) << f.name;
        }
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
    EXPECT_EQ(find_family(families, "tcptune_poll_duration_seconds").kind, MetricKind::kHistogram);
}

TEST(MetricsModel, BuildInfoCarriesTheVersion) {
    const MetricsModel model("0.9.1");
    const auto families = model.families();
    EXPECT_EQ(value_of(find_family(families, "tcptune_build_info"), {{"version", "0.9.1"}}), 1.0);
}

TEST(MetricsModel, NoSocketCountsBeforeTheFirstPoll) {
    const MetricsModel model("1");
    const auto families = model.families();
    EXPECT_TRUE(find_family(families, "tcptune_tcp_sockets").samples.empty());
    EXPECT_TRUE(find_family(families, "tcptune_tcp_listen_overflows_total").samples.empty());
    EXPECT_EQ(find_family(families, "tcptune_poll_duration_seconds").histogram->count, 0u);
}

TEST(MetricsModel, EveryStateIsExportedEvenWhenZero) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(1234, 7, milliseconds(3)));
    const auto families = model.families();
    const auto& sockets = find_family(families, "tcptune_tcp_sockets");
    ASSERT_EQ(sockets.samples.size(), kTcpStateCount);
    std::set<std::string> states;
    for (const auto& sample : sockets.samples) {
        ASSERT_EQ(sample.labels.size(), 1u);
        EXPECT_EQ(sample.labels[0].name, "state");
        states.insert(sample.labels[0].value);
    }
    EXPECT_EQ(states.size(), kTcpStateCount);
    EXPECT_EQ(value_of(sockets, {{"state", "time_wait"}}), 1234.0);
    EXPECT_EQ(value_of(sockets, {{"state", "established"}}), 7.0);
    EXPECT_EQ(value_of(sockets, {{"state", "close_wait"}}), 0.0);
    EXPECT_EQ(value_of(sockets, {{"state", "syn_recv"}}), 0.0);
}

TEST(MetricsModel, LatestPollWins) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(10, 0, milliseconds(1)));
    model.observe_poll(snapshot_with(3, 0, milliseconds(1)));
    const auto families = model.families();
    const auto& sockets = find_family(families, "tcptune_tcp_sockets");
    EXPECT_EQ(value_of(sockets, {{"state", "time_wait"}}), 3.0);
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
    const auto families = model.families();
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_listen_overflows_total"), {}), 11.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_listen_drops_total"), {}), 12.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_syncookies_sent_total"), {}), 13.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_syncookies_failed_total"), {}), 14.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_timewait_overflows_total"), {}), 15.0);
}

TEST(MetricsModel, PollDurationHistogramCountsEachPoll) {
    MetricsModel model("1");
    model.observe_poll(snapshot_with(0, 0, microseconds(50)));          // below the first bound
    model.observe_poll(snapshot_with(0, 0, milliseconds(1)));           // exactly on a bound
    model.observe_poll(snapshot_with(0, 0, milliseconds(300)));         // mid-range
    model.observe_poll(snapshot_with(0, 0, std::chrono::seconds(20)));  // past the last bound
    const auto h = *find_family(model.families(), "tcptune_poll_duration_seconds").histogram;
    ASSERT_EQ(h.upper_bounds, poll_duration_buckets());
    ASSERT_EQ(h.cumulative_counts.size(), h.upper_bounds.size());
    auto cumulative_at = [&](double bound) {
        const auto it = std::find(h.upper_bounds.begin(), h.upper_bounds.end(), bound);
        return h.cumulative_counts[static_cast<std::size_t>(it - h.upper_bounds.begin())];
    };
    EXPECT_EQ(cumulative_at(0.0001), 1u);
    EXPECT_EQ(cumulative_at(0.0005), 1u);
    EXPECT_EQ(cumulative_at(0.001), 2u);
    EXPECT_EQ(cumulative_at(0.25), 2u);
    EXPECT_EQ(cumulative_at(0.5), 3u);
    EXPECT_EQ(cumulative_at(10.0), 3u);
    EXPECT_EQ(h.count, 4u);
    EXPECT_NEAR(h.sum, 0.00005 + 0.001 + 0.3 + 20.0, 1e-9);
}

TEST(MetricsModel, PollDurationBucketsSpan100MicrosecondsTo10Seconds) {
    const auto& b = poll_duration_buckets();
    ASSERT_FALSE(b.empty());
    EXPECT_DOUBLE_EQ(b.front(), 0.0001);
    EXPECT_DOUBLE_EQ(b.back(), 10.0);
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
    EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end());
}

TEST(MetricsModel, HistogramWithUnsortedBoundsStillBucketsCorrectly) {
    Histogram h({1.0, 0.1});
    h.observe(0.5);
    const auto data = h.data();
    EXPECT_EQ(data.upper_bounds, (std::vector<double>{0.1, 1.0}));
    EXPECT_EQ(data.cumulative_counts, (std::vector<std::uint64_t>{0, 1}));
}

TEST(MetricsModel, SysctlValueSamplesSplitPairsAndSkipText) {
    EXPECT_EQ(sysctl_value_samples("net.ipv4.tcp_fin_timeout", "30"),
              (std::vector<MetricSample>{{{{"key", "net.ipv4.tcp_fin_timeout"}}, 30.0}}));
    EXPECT_EQ(sysctl_value_samples("net.ipv4.ip_local_port_range", "32768\t60999"),
              (std::vector<MetricSample>{
                  {{{"key", "net.ipv4.ip_local_port_range"}, {"bound", "low"}}, 32768.0},
                  {{{"key", "net.ipv4.ip_local_port_range"}, {"bound", "high"}}, 60999.0},
              }));
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
    const auto families = model.families();
    const auto& active = find_family(families, "tcptune_rule_active");
    EXPECT_EQ(value_of(active, {{"rule", "time-wait-pressure"}}), 1.0);
    EXPECT_EQ(value_of(active, {{"rule", "close-wait-leak"}}), 0.0);
    const auto& triggers = find_family(families, "tcptune_rule_triggers_total");
    EXPECT_EQ(value_of(triggers, {{"rule", "time-wait-pressure"}}), 2.0);
    EXPECT_EQ(value_of(triggers, {{"rule", "close-wait-leak"}}), 0.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_poll_errors_total"), {}), 4.0);
}

TEST(MetricsModel, ASwitchedProfileDropsTheOldRules) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    ControllerStatus other;
    RuleStatus r;
    r.name = "syn-flood";
    other.rules = {r};
    model.set_status(other);
    const auto families = model.families();
    const auto& active = find_family(families, "tcptune_rule_active");
    ASSERT_EQ(active.samples.size(), 1u);
    EXPECT_EQ(active.samples[0].labels[0].value, "syn-flood");
}

TEST(MetricsModel, SysctlValuesAndOverridesFollowTheStatus) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    const auto families = model.families();
    const auto& values = find_family(families, "tcptune_sysctl_value");
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.tcp_fin_timeout"}}), 30.0);
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.tcp_tw_reuse"}}), 0.0);
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.ip_local_port_range"}, {"bound", "low"}}),
              1024.0);
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.ip_local_port_range"}, {"bound", "high"}}),
              65000.0);
    const auto& overridden = find_family(families, "tcptune_sysctl_overridden");
    EXPECT_EQ(value_of(overridden, {{"key", "net.ipv4.tcp_tw_reuse"}}), 1.0);
    EXPECT_EQ(value_of(overridden, {{"key", "net.ipv4.tcp_fin_timeout"}}), 0.0);
    EXPECT_EQ(value_of(overridden, {{"key", "net.ipv4.ip_local_port_range"}}), 0.0);
}

TEST(MetricsModel, OtherRegistryValuesFillInWithoutDuplicatingStatusKeys) {
    MetricsModel model("1");
    model.set_status(status_with_rules_and_sysctls());
    model.set_other_sysctl_values({{"net.ipv4.tcp_max_tw_buckets", "262144"},
                                   {"net.ipv4.tcp_fin_timeout", "60"}});  // status says 30
    const auto families = model.families();
    const auto& values = find_family(families, "tcptune_sysctl_value");
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.tcp_max_tw_buckets"}}), 262144.0);
    EXPECT_EQ(value_of(values, {{"key", "net.ipv4.tcp_fin_timeout"}}), 30.0);
    EXPECT_EQ(std::count_if(values.samples.begin(), values.samples.end(),
                            [](const MetricSample& s) {
                                return s.labels[0].value == "net.ipv4.tcp_fin_timeout";
                            }),
              1);
    // Known-but-unmanaged keys are not "overridden" candidates.
    const auto& overridden = find_family(families, "tcptune_sysctl_overridden");
    EXPECT_THROW(value_of(overridden, {{"key", "net.ipv4.tcp_max_tw_buckets"}}),
                 std::runtime_error);
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
    const auto families = model.families();
    const auto& changes = find_family(families, "tcptune_sysctl_changes_total");
    EXPECT_EQ(value_of(changes, {{"key", "net.ipv4.tcp_fin_timeout"}, {"result", "applied"}}), 2.0);
    EXPECT_EQ(value_of(changes, {{"key", "net.ipv4.tcp_fin_timeout"}, {"result", "failed"}}), 1.0);
    // Pre-seeded so the first failure is an increase, not a new series.
    EXPECT_EQ(value_of(changes, {{"key", "net.ipv4.tcp_tw_reuse"}, {"result", "failed"}}), 0.0);
    EXPECT_EQ(changes.samples.size(), 3 * all_change_results().size());
}

TEST(MetricsModel, ChangeKeysOutsideTheRegistryShareOneLabelValue) {
    MetricsModel model("1");
    ChangeRecord odd;
    odd.key = "net.ipv4.made_up_1";
    odd.result = ChangeResult::kRefused;
    model.count_change(odd);
    odd.key = "net.ipv4.made_up_2";
    model.count_change(odd);
    const auto families = model.families();
    const auto& changes = find_family(families, "tcptune_sysctl_changes_total");
    ASSERT_EQ(changes.samples.size(), 1u);
    EXPECT_EQ(value_of(changes, {{"key", "other"}, {"result", "refused"}}), 2.0);
}

TEST(MetricsModel, EveryChangeResultHasADistinctLabelValue) {
    std::set<std::string> names;
    for (const auto result : all_change_results()) {
        const std::string name(to_string(result));
        EXPECT_FALSE(name.empty());
        names.insert(name);
    }
    EXPECT_EQ(names.size(), all_change_results().size());
    EXPECT_TRUE(names.count("applied") == 1 && names.count("failed") == 1);
}

}  // namespace
}  // namespace tcptune

namespace tcptune {
namespace {

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
    const auto families = model.families();
    const auto& syn = find_family(families, "tcptune_listener_syn_queue");
    EXPECT_EQ(syn.samples.size(), 2U) << "top_k = 2 of 3 listeners";
    EXPECT_EQ(value_of(syn, {{"listener", "127.0.0.5:8080"}}), 512.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_listener_backlog"),
                       {{"listener", "127.0.0.5:8080"}}),
              511.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_ephemeral_ports_usable"), {}), 500.0);
    EXPECT_EQ(value_of(find_family(families, "tcptune_destination_port_usage_ratio"),
                       {{"local", "127.0.0.1"}, {"destination", "127.0.0.8:5432"}}),
              0.9);
    EXPECT_EQ(
        value_of(find_family(families, "tcptune_tcp_event_rate"), {{"counter", "reqq_full_drop"}}),
        12.5);
    EXPECT_EQ(find_family(families, "tcptune_tcp_event_rate").samples.size(), 1U)
        << "counters without a rate are left out, not shown as 0";
    EXPECT_EQ(value_of(find_family(families, "tcptune_tcp_retransmit_ratio"), {}), 0.02);

    model.set_top_k(0);
    EXPECT_TRUE(find_family(model.families(), "tcptune_listener_syn_queue").samples.empty());
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
    const auto families = model.families();
    EXPECT_EQ(value_of(find_family(families, "tcptune_rule_subject"),
                       {{"rule", "syn-queue-full"}, {"subject", "127.0.0.5:8080"}}),
              1.0);
    EXPECT_EQ(find_family(families, "tcptune_rule_subject").samples.size(), 1U);
    EXPECT_EQ(value_of(find_family(families, "tcptune_rule_did_not_help"),
                       {{"rule", "syn-drops-without-cookies"}}),
              1.0);
    EXPECT_EQ(
        value_of(find_family(families, "tcptune_rule_did_not_help"), {{"rule", "syn-queue-full"}}),
        0.0);
}

}  // namespace
}  // namespace tcptune
