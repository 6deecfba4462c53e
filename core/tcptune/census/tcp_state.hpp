#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tcptune {

// The eleven TCP states an operator sees, numbered as the kernel numbers them
// (include/net/tcp_states.h). The kernel's internal TCP_NEW_SYN_RECV (12) is a
// request socket and is folded into kSynRecv, as `ss` shows it.
enum class TcpState : std::uint8_t {
    kEstablished = 1,
    kSynSent = 2,
    kSynRecv = 3,
    kFinWait1 = 4,
    kFinWait2 = 5,
    kTimeWait = 6,
    kClose = 7,
    kCloseWait = 8,
    kLastAck = 9,
    kListen = 10,
    kClosing = 11,
};

inline constexpr std::size_t kTcpStateCount = 11;
inline constexpr std::uint8_t kKernelNewSynRecv = 12;

// All states in kernel order, for iteration.
inline constexpr std::array<TcpState, kTcpStateCount> kAllTcpStates = {
    TcpState::kEstablished, TcpState::kSynSent,  TcpState::kSynRecv, TcpState::kFinWait1,
    TcpState::kFinWait2,    TcpState::kTimeWait, TcpState::kClose,   TcpState::kCloseWait,
    TcpState::kLastAck,     TcpState::kListen,   TcpState::kClosing,
};

// Index 0..10 into per-state arrays.
constexpr std::size_t state_index(TcpState s) {
    return static_cast<std::size_t>(s) - 1;
}

// snake_case public name used in JSON, metrics labels and profiles ("time_wait").
std::string_view state_name(TcpState s);

// Parses a public name; also accepts upper case and dashes ("TIME-WAIT").
std::optional<TcpState> parse_state(std::string_view name);

// Maps a kernel state number (1..12) to a public state; nullopt for unknown numbers.
std::optional<TcpState> state_from_kernel(std::uint8_t kernel_state);

}  // namespace tcptune
