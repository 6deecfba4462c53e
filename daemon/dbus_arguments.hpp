#pragma once

// What the D-Bus methods open to every local user accept, as pure functions:
// the adaptor calls them before doing any work, and a libFuzzer target
// (tests/fuzz/dbus_arguments_fuzz.cpp) feeds them arbitrary strings. Every
// refusal is kParse (the adaptor answers InvalidArgs) and quotes at most a
// short prefix of what the caller sent, so a 30 MB argument cannot become a
// 30 MB error reply or log line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tcptune/census/tcp_state.hpp"
#include "tcptune/diagnosis/diagnosis.hpp"
#include "tcptune/result.hpp"

namespace tcptune::daemon {

// GetTop(state, by, limit): "" means time_wait / port / 10 rows.
struct TopArguments {
    TcpState state = TcpState::kTimeWait;
    TopView view = TopView::kPort;
    std::size_t rows = 10;    // 1 .. kMaxTopLimit
    bool by_process = false;  // root only (checked by the adaptor)
};
Result<TopArguments> parse_top_arguments(std::string_view state, std::string_view by,
                                         std::uint32_t limit);

// ShowProfile / SetProfile(name): a profile name from the search path, not a
// path (anyone may call ShowProfile; the daemon runs as root). Empty means the
// active profile for ShowProfile.
Result<void> check_profile_name(std::string_view name);

// GetNamespaceTop(netns, ...): one namespace by name (ip netns, pod:UID,
// docker:ID, host, pid:N), inode or pid. Not "all", and not a path: the daemon
// runs as root and would stat whatever file a caller names (the CLI's --netns
// PATH is resolved by the caller itself).
Result<void> check_netns_argument(std::string_view netns);

// A caller's string as messages quote it: at most 64 bytes, then "...".
std::string quoted_argument(std::string_view text);

}  // namespace tcptune::daemon
