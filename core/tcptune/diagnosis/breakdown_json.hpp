#pragma once

// The JSON shape of a Breakdown: what `tcptune top --json` prints and what the
// daemon can hand out over D-Bus. Documented in docs/diagnosis.md.

#include <nlohmann/json.hpp>

#include "tcptune/diagnosis/breakdown.hpp"

namespace tcptune {

nlohmann::json breakdown_to_json(const Breakdown& breakdown);
nlohmann::json state_breakdown_to_json(const StateBreakdown& state);
// One listener: local, port, queued, syn_queue, backlog, full, syn_queue_full, ...
nlohmann::json listener_to_json(const ListenerQueues& queue);
// Ephemeral-port occupancy: usable ports and the top destinations with their share.
nlohmann::json destinations_to_json(const DestinationSignals& destinations);

}  // namespace tcptune
