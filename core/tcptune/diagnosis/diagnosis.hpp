#pragma once

// "Why" hints: pure functions from a Breakdown to sentences an operator can act on,
// e.g. "TIME_WAIT: 80% towards 10.0.0.5:5432 — connection pooling would help".
// Used by `tcptune top`, the daemon's status and change records, and D-Bus GetTop.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/diagnosis/breakdown.hpp"

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

// Flat rows for a view that cannot carry the whole Breakdown (D-Bus GetTop's a(sts),
// status lines): key, count and a detail with the share, approximation and owner.
struct TopRow {
    std::string key;  // "8080", "10.0.0.5", "10.0.0.5:5432", "10.0.0.0/24", "1234/nginx"
    std::uint64_t count = 0;
    std::string detail;  // "75.0% of 40", "~60.0% of 100 (count may be over by 3)",
                         // "local port 7070, 100.0% of 12"
};

// by: "port" (local ports), "peer" (remote addresses), "endpoint" (remote
// address:port), "prefix" (remote /24 or /64; needs by_prefix), "process" (needs
// by_process). An unknown or unavailable view is ErrorCode::kNotFound.
Result<std::vector<TopRow>> top_rows(const StateBreakdown& state, std::string_view by);

// The most rows a top view returns (D-Bus GetTop `limit`, `tcptune top -n`):
// more is not a view an operator reads, and the tables keep at most this many.
inline constexpr std::size_t kMaxTopLimit = 1000;
// The most counters per table `tcptune top --capacity` allocates (each state
// has four tables of this many entries, allocated up front).
inline constexpr std::size_t kMaxTopCapacity = 65536;

// Options for take_breakdown() so that top_rows(state, by) is available, with
// `limit` rows (0 means the default of 10). An unknown `by` is ErrorCode::kNotFound.
Result<BreakdownOptions> top_view_options(TcpState state, std::string_view by, std::size_t limit);

// The fixed sentence for CLOSE_WAIT (docs/diagnosis.md).
inline constexpr const char* kCloseWaitFact =
    "the application is not closing its sockets; no sysctl fixes this";

}  // namespace tcptune
