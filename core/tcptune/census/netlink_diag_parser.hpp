#pragma once

// Pure parsing of sock_diag (inet_diag) dump replies: bytes in, state counts out.
//
// The parser is a template over a per-socket visitor so that diagnosis work (top
// ports, peers, processes) can see every inet_diag_msg while plain counting pays
// nothing for it: with NoSocketVisitor the message is never even copied out of the
// buffer. Nothing here allocates per socket.

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// Where a dump stands after one datagram has been parsed.
enum class DumpProgress {
    kMore,  // no NLMSG_DONE yet: receive the next datagram
    kDone,  // NLMSG_DONE seen: the dump is complete
};

// What one dump has accumulated so far.
struct DumpTally {
    StateCounts counts;
    std::uint64_t sockets = 0;
    // NLM_F_DUMP_INTR was set on some message: the kernel's table changed under the
    // dump, so the counts may be inconsistent and the dump must be retried.
    bool interrupted = false;
};

// The visitor for plain counting: does nothing, and tells the parser not to copy
// the message out of the buffer at all.
struct NoSocketVisitor {
    void operator()(const inet_diag_msg& /*msg*/, TcpState /*state*/) const noexcept {}
};

template <typename Visitor>
inline constexpr bool kVisitorSeesMessages =
    !std::is_same_v<std::remove_cvref_t<Visitor>, NoSocketVisitor>;

namespace netlink_detail {

inline constexpr std::size_t kAlignTo = 4;  // NLMSG_ALIGNTO
constexpr std::size_t align(std::size_t len) {
    return (len + kAlignTo - 1) & ~(kAlignTo - 1);
}
inline constexpr std::size_t kHeaderLen = align(sizeof(nlmsghdr));  // NLMSG_HDRLEN
inline constexpr std::size_t kStateOffset = offsetof(inet_diag_msg, idiag_state);

// Kernel state number -> index into StateCounts, or -1. TCP_NEW_SYN_RECV (12) is a
// request socket and counts as syn_recv, as `ss` shows it.
constexpr int state_index_from_kernel(std::uint8_t kernel_state) {
    if (kernel_state >= 1 && kernel_state <= kTcpStateCount) {
        return kernel_state - 1;
    }
    if (kernel_state == kKernelNewSynRecv) {
        return static_cast<int>(state_index(TcpState::kSynRecv));
    }
    return -1;
}

tl::unexpected<Error> malformed(const std::string& what, std::size_t offset);

}  // namespace netlink_detail

// Parses one datagram (a run of whole netlink messages) of an inet_diag dump.
//
// Messages whose sequence number is not `expected_seq` are replies to an earlier,
// abandoned request and are skipped. Every socket message adds to tally.counts and
// is passed to `visit(const inet_diag_msg&, TcpState)`.
//
// Errors (values, never crashes): a short header, an nlmsg_len that is too small or
// runs past the buffer, a socket message shorter than inet_diag_msg, a state number
// the kernel does not define, NLMSG_ERROR (with the errno in the message),
// NLMSG_DONE carrying an error, NLMSG_OVERRUN and unexpected message types.
template <typename Visitor>
Result<DumpProgress> parse_inet_diag_datagram(std::span<const std::byte> data,
                                              std::uint32_t expected_seq, DumpTally& tally,
                                              Visitor&& visit) {
    using netlink_detail::kHeaderLen;
    using netlink_detail::malformed;
    std::size_t offset = 0;
    while (offset < data.size()) {
        const std::size_t remaining = data.size() - offset;
        if (remaining < sizeof(nlmsghdr)) {
            return malformed("short netlink header (" + std::to_string(remaining) + " bytes)",
                             offset);
        }
        nlmsghdr hdr{};
        std::memcpy(&hdr, data.data() + offset, sizeof(hdr));
        if (hdr.nlmsg_len < kHeaderLen || hdr.nlmsg_len > remaining) {
            return malformed("bad nlmsg_len " + std::to_string(hdr.nlmsg_len) + " (" +
                                 std::to_string(remaining) + " bytes left)",
                             offset);
        }
        const std::byte* payload = data.data() + offset + kHeaderLen;
        const std::size_t payload_len = hdr.nlmsg_len - kHeaderLen;
        const std::size_t here = offset;
        // The last message of a datagram may lack its alignment padding.
        offset = std::min(data.size(), offset + netlink_detail::align(hdr.nlmsg_len));

        if (hdr.nlmsg_seq != expected_seq) {
            continue;
        }
        if ((hdr.nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
            tally.interrupted = true;
        }
        switch (hdr.nlmsg_type) {
            case SOCK_DIAG_BY_FAMILY: {
                if (payload_len < sizeof(inet_diag_msg)) {
                    return malformed("truncated inet_diag_msg (" + std::to_string(payload_len) +
                                         " of " + std::to_string(sizeof(inet_diag_msg)) + " bytes)",
                                     here);
                }
                const auto kernel_state =
                    std::to_integer<std::uint8_t>(payload[netlink_detail::kStateOffset]);
                const int index = netlink_detail::state_index_from_kernel(kernel_state);
                if (index < 0) {
                    return malformed("unknown TCP state " + std::to_string(kernel_state), here);
                }
                ++tally.counts.by_state[static_cast<std::size_t>(index)];
                ++tally.sockets;
                if constexpr (kVisitorSeesMessages<Visitor>) {
                    inet_diag_msg msg{};
                    std::memcpy(&msg, payload, sizeof(msg));
                    const TcpState state = kAllTcpStates[static_cast<std::size_t>(index)];
                    // A visitor that also takes the attributes (rtattrs after the
                    // message) gets them: they tell a full socket from a request or
                    // timewait socket (INET_DIAG_SHUTDOWN is only on full sockets).
                    if constexpr (std::is_invocable_v<Visitor, const inet_diag_msg&, TcpState,
                                                      std::span<const std::byte>>) {
                        const std::size_t start = netlink_detail::align(sizeof(inet_diag_msg));
                        visit(msg, state,
                              payload_len > start
                                  ? std::span<const std::byte>(payload + start, payload_len - start)
                                  : std::span<const std::byte>());
                    } else {
                        visit(msg, state);
                    }
                }
                break;
            }
            case NLMSG_DONE: {
                // A dump that failed part-way ends with DONE carrying a negative errno.
                if (payload_len >= sizeof(std::int32_t)) {
                    std::int32_t status = 0;
                    std::memcpy(&status, payload, sizeof(status));
                    if (status < 0) {
                        return make_error(ErrorCode::kNetlink,
                                          "netlink: dump ended with error: " + errno_text(-status));
                    }
                }
                return DumpProgress::kDone;
            }
            case NLMSG_ERROR: {
                if (payload_len < sizeof(std::int32_t)) {
                    return malformed("truncated NLMSG_ERROR", here);
                }
                std::int32_t status = 0;
                std::memcpy(&status, payload, sizeof(status));
                if (status == 0) {
                    break;  // an acknowledgement, not an error
                }
                return make_error(ErrorCode::kNetlink,
                                  "netlink: kernel refused the dump: " + errno_text(-status));
            }
            case NLMSG_NOOP:
                break;
            case NLMSG_OVERRUN:
                return make_error(ErrorCode::kNetlink, "netlink: kernel reported data overrun");
            default:
                return malformed("unexpected message type " + std::to_string(hdr.nlmsg_type), here);
        }
    }
    return DumpProgress::kMore;
}

// Parses a whole recorded dump (datagrams concatenated) and requires it to end with
// NLMSG_DONE. For tests and captured data; the live path feeds datagrams one by one.
Result<DumpTally> parse_inet_diag_dump(std::span<const std::byte> data, std::uint32_t expected_seq);

}  // namespace tcptune
