#pragma once

// "Why" hints: pure functions from a Breakdown to sentences an operator can act on,
// e.g. "TIME_WAIT: 80% towards 10.0.0.5:5432 — connection pooling would help".
// Used by `tcptune top`, the daemon's status and change records, and D-Bus GetTop.

#include <array>
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

// The views of a state's breakdown, named as `tcptune top --by` and D-Bus GetTop
// take them: local ports, remote addresses, remote address:port, remote /24 or /64
// prefixes (needs by_prefix), owning processes (needs by_process).
enum class TopView { kPort, kPeer, kEndpoint, kPrefix, kProcess };
inline constexpr std::array<TopView, 5> kAllTopViews = {
    TopView::kPort, TopView::kPeer, TopView::kEndpoint, TopView::kPrefix, TopView::kProcess};

// "port", "peer", "endpoint", "prefix", "process".
std::string_view to_string(TopView view);
// The inverse of to_string; anything else is ErrorCode::kNotFound naming the views.
Result<TopView> parse_top_view(std::string_view name);

// The rows of one view. A view the breakdown was not taken for (prefix without
// by_prefix, process without by_process) is ErrorCode::kNotFound.
Result<std::vector<TopRow>> top_rows(const StateBreakdown& state, TopView view);

// Options for take_breakdown() so that top_rows(state, view) is available, with
// `limit` rows (0 means the default of 10).
BreakdownOptions top_view_options(TcpState state, TopView view, std::size_t limit);

// The fixed sentence for CLOSE_WAIT (docs/diagnosis.md).
inline constexpr const char* kCloseWaitFact =
    "the application is not closing its sockets; no sysctl fixes this";

}  // namespace tcptune
