#pragma once

// The per-namespace census over the bpf census engine (census/census_bpf.hpp): one
// loaded program counts every namespace's state changes; each namespace gets a
// BpfCensusSource seeded by one sock_diag dump inside it (and refereed every
// reconcile interval), after which a round costs a map lookup and the sockstat and
// netstat reads per namespace instead of two walks of the shared established hash.
// The worker thread still enters each namespace (setns costs microseconds): the
// source's referee socket and /proc/thread-self/net must belong to it. Sources of
// namespaces that are gone are dropped, and the engine forgets their counters.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "tcptune/census/census_engine.hpp"
#include "tcptune/netns/netns_census.hpp"

namespace tcptune {

class BpfCensusEngine;

// The engine `choice` asks for: bpf loads the program (an error if it cannot), netlink
// is make_setns_census_engine(), auto tries bpf and falls back to netlink, saying why
// in `fallback_reason`.
struct OpenedNamespaceCensus {
    std::unique_ptr<NamespaceCensusEngine> engine;
    std::string fallback_reason;
};
Result<OpenedNamespaceCensus> open_namespace_census(CensusEngineChoice choice,
                                                    std::chrono::milliseconds reconcile_interval);

}  // namespace tcptune
