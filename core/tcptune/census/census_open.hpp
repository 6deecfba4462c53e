#pragma once

// Picks the census engine (census_engine.hpp): bpf where it loads, netlink
// otherwise, as the daemon's --census-engine asks.

#include <chrono>
#include <memory>
#include <string>

#include "tcptune/census/bpf/bpf_census_engine.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/census_engine.hpp"

namespace tcptune {

struct CensusEngineOptions {
    CensusEngineChoice choice = CensusEngineChoice::kAuto;
    std::chrono::milliseconds reconcile_interval = kDefaultReconcileInterval;
    NetlinkCensusOptions netlink;
    BpfEngineOptions bpf;
};

struct OpenedCensus {
    std::unique_ptr<CensusSource> source;
    CensusEngineKind engine = CensusEngineKind::kNetlink;
    // auto fell back to netlink: why bpf did not load (also in every snapshot's
    // report). "" otherwise.
    std::string fallback_reason;
};

// kBpf: the bpf engine or an error saying why it cannot load. kNetlink: the
// netlink engine. kAuto: bpf, else netlink with the reason.
Result<OpenedCensus> open_census(const CensusEngineOptions& options);

}  // namespace tcptune
