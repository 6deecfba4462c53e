#include "tcptune/metrics/census_engine_metrics.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

const prometheus::MetricFamily& find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
    for (const auto& f : families) {
        if (f.name == name) {
            return f;
        }
    }
    ADD_FAILURE() << "no family " << name;
    static const prometheus::MetricFamily none;
    return none;
}

TEST(CensusEngineMetricsTest, NoSamplesBeforeTheFirstPoll) {
    const auto families = census_engine_families(std::nullopt);
    ASSERT_EQ(families.size(), 4U);
    for (const auto& f : families) {
        EXPECT_TRUE(f.metric.empty()) << f.name;
        EXPECT_FALSE(f.help.empty()) << f.name;
    }
}

TEST(CensusEngineMetricsTest, TheEngineInUseIsOneAndDriftCoversCountedStates) {
    CensusEngineReport report;
    report.engine = CensusEngineKind::kBpf;
    report.reconciliations = 3;
    report.lost_events = 2;
    StateDrift drift{};
    drift[state_index(TcpState::kEstablished)] = -4;
    report.last_drift = drift;
    const auto families = census_engine_families(report);

    const auto& engine = find(families, "tcptune_census_engine");
    ASSERT_EQ(engine.metric.size(), 2U);
    EXPECT_EQ(engine.metric[0].label[0].value, "bpf");
    EXPECT_EQ(engine.metric[0].gauge.value, 1.0);
    EXPECT_EQ(engine.metric[1].label[0].value, "netlink");
    EXPECT_EQ(engine.metric[1].gauge.value, 0.0);
    EXPECT_EQ(find(families, "tcptune_census_reconciliations_total").metric[0].counter.value, 3);
    EXPECT_EQ(find(families, "tcptune_census_lost_events_total").metric[0].counter.value, 2);

    const auto& drift_family = find(families, "tcptune_census_drift_sockets");
    ASSERT_EQ(drift_family.metric.size(), 9U);  // not time_wait, not close
    for (const auto& m : drift_family.metric) {
        EXPECT_NE(m.label[0].value, "time_wait");
        EXPECT_NE(m.label[0].value, "close");
        EXPECT_EQ(m.gauge.value, m.label[0].value == "established" ? -4.0 : 0.0);
    }

    report.last_drift.reset();  // before a second reconciliation: no drift yet
    EXPECT_TRUE(
        find(census_engine_families(report), "tcptune_census_drift_sockets").metric.empty());
}

}  // namespace
}  // namespace tcptune
