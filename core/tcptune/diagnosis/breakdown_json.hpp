#pragma once

// The JSON shape of a Breakdown: what `tcptune top --json` prints and what the
// daemon can hand out over D-Bus. Documented in docs/diagnosis.md.

#include <nlohmann/json.hpp>

#include "tcptune/diagnosis/breakdown.hpp"

namespace tcptune {

nlohmann::json breakdown_to_json(const Breakdown& breakdown);
nlohmann::json state_breakdown_to_json(const StateBreakdown& state);

}  // namespace tcptune
