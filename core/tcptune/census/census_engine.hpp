#pragma once

// Which census engine counts the sockets, and what it reports about itself.
//
//   netlink  one sock_diag dump per poll (census_netlink.hpp): exact, costs a walk
//            of the whole established hash every poll.
//   bpf      counts state changes as they happen (census_bpf.hpp, bpf/): a poll is a
//            map lookup; a sock_diag dump seeds it and referees it now and then.
//   auto     bpf where it loads, netlink otherwise (and says why).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcptune/census/tcp_state.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

enum class CensusEngineChoice { kAuto, kBpf, kNetlink };

// How often the bpf engine is checked against a full dump (and corrected).
inline constexpr std::chrono::milliseconds kDefaultReconcileInterval{5 * 60 * 1000};
enum class CensusEngineKind { kNetlink, kBpf };

std::string_view to_string(CensusEngineChoice choice);  // "auto" | "bpf" | "netlink"
std::string_view to_string(CensusEngineKind kind);      // "netlink" | "bpf"
Result<CensusEngineChoice> parse_census_engine(std::string_view text);

// Per public state, signed: engine count minus the referee's (a full dump).
using StateDrift = std::array<std::int64_t, kTcpStateCount>;

// What a snapshot says about the engine that made it.
struct CensusEngineReport {
    CensusEngineKind engine = CensusEngineKind::kNetlink;
    // Why bpf is not in use although it was wanted (auto); "" otherwise.
    std::string fallback_reason;
    // bpf only: reconciliations against a full dump so far (the seeding one
    // included), the drift the last one found (engine minus dump, states the
    // program counts; unset until a second reconciliation), state changes the
    // program could not count (kernel recursion guard, full maps), and what the
    // last reconciliation cost.
    std::uint64_t reconciliations = 0;
    std::optional<StateDrift> last_drift;
    std::uint64_t lost_events = 0;
    std::chrono::nanoseconds last_reconcile_duration{0};
};

}  // namespace tcptune
