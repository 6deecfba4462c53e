#include "tcptune/census/tcp_state.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace tcptune {

namespace {
constexpr std::array<std::string_view, kTcpStateCount> kNames = {
    "established", "syn_sent",   "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
    "close",       "close_wait", "last_ack", "listen",    "closing",
};
}  // namespace

std::string_view state_name(TcpState s) {
    return kNames[state_index(s)];
}

std::optional<TcpState> parse_state(std::string_view name) {
    std::string normalized(name);
    std::transform(normalized.begin(), normalized.end(), normalized.begin(), [](char c) {
        return c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    for (TcpState s : kAllTcpStates) {
        if (kNames[state_index(s)] == normalized) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<TcpState> state_from_kernel(std::uint8_t kernel_state) {
    if (kernel_state == kKernelNewSynRecv) {
        return TcpState::kSynRecv;
    }
    if (kernel_state >= 1 && kernel_state <= kTcpStateCount) {
        return static_cast<TcpState>(kernel_state);
    }
    return std::nullopt;
}

}  // namespace tcptune
