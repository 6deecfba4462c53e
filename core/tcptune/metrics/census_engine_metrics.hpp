#pragma once

// The metric families of the census engine (docs/metrics.md): which engine
// counts, and for the bpf engine its reconciliations, the drift the last one
// found and the events it could not count. Label values are bounded: two
// engines, the states the bpf program counts.

#include <optional>
#include <vector>

#include <prometheus/metric_family.h>

#include "tcptune/census/census_engine.hpp"

namespace tcptune {

// Families with no samples when `report` is unset (no poll yet).
std::vector<prometheus::MetricFamily> census_engine_families(
    const std::optional<CensusEngineReport>& report);

}  // namespace tcptune
