#pragma once

// "Why" hints: pure functions from a Breakdown to sentences an operator can act on,
// e.g. "TIME_WAIT: 80% towards 10.0.0.5:5432 — connection pooling would help".
// Used by `tcptune top`, the daemon's status and change records, and D-Bus GetTop.

#include <string>
#include <vector>

#include "tcptune/breakdown.hpp"

namespace tcptune {

// A single concentration at or above this share of a state is worth a sentence.
inline constexpr double kHintDominantShare = 0.5;

// The hint for one state; empty when the state has no sockets or nothing stands out
// (except CLOSE_WAIT, which always gets its sentence: no sysctl fixes it).
std::string hint(const StateBreakdown& state);

// Hints for a listen queue that is full or at least 80% full; empty otherwise.
std::string hint(const ListenQueue& queue);

// Every non-empty hint of a breakdown: states in order, then full listen queues, then
// a ListenOverflows rate above zero.
std::vector<std::string> hints(const Breakdown& breakdown);

// hints() joined with newlines (empty when there is nothing to say).
std::string hint(const Breakdown& breakdown);

// The fixed sentence for CLOSE_WAIT (design.md §1).
inline constexpr const char* kCloseWaitFact =
    "the application is not closing its sockets; no sysctl fixes this";

}  // namespace tcptune
