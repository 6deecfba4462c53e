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
#include "tcptune/enum_names.hpp"

namespace tcptune {

// A single concentration at or above this share of a state is worth a sentence.
inline constexpr double kHintDominantShare = 0.5;

// The hint for one state; empty when the state has no sockets or nothing stands out
// (except CLOSE_WAIT, which always gets its sentence: no sysctl fixes it).
std::string hint(const StateBreakdown& state);

// Hints for a listener whose SYN or accept queue is full or at least 80% full
// (one line each); empty otherwise.
std::string hint(const ListenerQueues& queue);

// A destination holding half or more of the usable ephemeral ports, or ports held
// by bind() before connect(); empty otherwise.
std::string hint(const DestinationSignals& destinations);

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

// The views of a breakdown, named as `tcptune top --by` and D-Bus GetTop take
// them. Per state: local ports, remote addresses, remote address:port, remote /24
// or /64 prefixes (needs by_prefix), owning processes (needs by_process). Whole
// breakdown: listeners with a non-empty SYN or accept queue (fullest first),
// destinations by ephemeral-port occupancy (needs destinations).
enum class TopView { kPort, kPeer, kEndpoint, kPrefix, kProcess, kListener, kDestination };
inline constexpr EnumNames<TopView, 7> kTopViewNames = {{
    {TopView::kPort, "port"},
    {TopView::kPeer, "peer"},
    {TopView::kEndpoint, "endpoint"},
    {TopView::kPrefix, "prefix"},
    {TopView::kProcess, "process"},
    {TopView::kListener, "listener"},
    {TopView::kDestination, "destination"},
}};
static_assert(lists_every_value(kTopViewNames));

// The most rows a top view returns (D-Bus GetTop `limit`, `tcptune top -n`):
// more is not a view an operator reads, and the tables keep at most this many.
inline constexpr std::size_t kMaxTopLimit = 1000;
// The most counters per table `tcptune top --capacity` allocates (each state
// has four tables of this many entries, allocated up front).
inline constexpr std::size_t kMaxTopCapacity = 65536;

std::string_view to_string(TopView view);
// The inverse of to_string; anything else is ErrorCode::kNotFound naming the views.
Result<TopView> parse_top_view(std::string_view name);

// The rows of one per-state view. A view the breakdown was not taken for (prefix
// without by_prefix, process without by_process) or a whole-breakdown view is
// ErrorCode::kNotFound.
Result<std::vector<TopRow>> top_rows(const StateBreakdown& state, TopView view);

// Every view of one breakdown, at most `limit` rows (0: 10): the per-state views
// above for `state`, plus "listener" (key "127.0.0.5:8080", count = both queues,
// detail "SYN queue 512/511 (full), accept queue 0/511") and "destination" (key
// "127.0.0.1 -> 10.0.0.8:5432", count = sockets, detail "450 of 500 usable ports
// (90.0%)").
Result<std::vector<TopRow>> top_rows(const Breakdown& breakdown, TcpState state, TopView view,
                                     std::size_t limit);

// Options for take_breakdown() so that top_rows(state, view) is available, with
// `limit` rows (0 means the default of 10).
BreakdownOptions top_view_options(TcpState state, TopView view, std::size_t limit);

// The fixed sentence for CLOSE_WAIT (docs/diagnosis.md).
inline constexpr const char* kCloseWaitFact =
    "the application is not closing its sockets; no sysctl fixes this";

}  // namespace tcptune
