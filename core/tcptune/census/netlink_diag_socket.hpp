#pragma once

// The sock_diag transport: one long-lived NETLINK_SOCK_DIAG socket (opened through
// libnl, used as a transport only — never libnl's idiag cache, which is quadratic)
// and a receive loop that counts while receiving into one reusable buffer.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tcptune/census/netlink_diag_parser.hpp"
#include "tcptune/result.hpp"

struct nl_sock;  // libnl, kept out of this header

namespace tcptune {

// TCP states requested in every dump: kernel states 1..12, i.e. all eleven public
// states plus TCP_NEW_SYN_RECV (12, request sockets). Never bit 13 (TCP_BOUND_INACTIVE,
// Linux 6.8+): asking for it makes the kernel walk the whole bind table as well.
inline constexpr std::uint32_t kTcpDumpStateMask = ((1U << 13) - 1U) & ~1U;
static_assert((kTcpDumpStateMask & (1U << 13)) == 0);
static_assert((kTcpDumpStateMask & (1U << 12)) != 0);

// Datagrams from a netlink dump are at most 32 KiB (the kernel caps them); twice that
// leaves room without ever truncating.
inline constexpr std::size_t kDefaultDiagBufferBytes = 64 * 1024;
// Socket receive buffer: large, so a slow reader never makes the kernel drop replies.
inline constexpr int kDefaultDiagSocketRcvbuf = 4 * 1024 * 1024;

class InetDiagSocket {
  public:
    static Result<InetDiagSocket> open(std::size_t buffer_bytes = kDefaultDiagBufferBytes,
                                       int socket_rcvbuf = kDefaultDiagSocketRcvbuf);

    InetDiagSocket(InetDiagSocket&& other) noexcept;
    InetDiagSocket& operator=(InetDiagSocket&& other) noexcept;
    InetDiagSocket(const InetDiagSocket&) = delete;
    InetDiagSocket& operator=(const InetDiagSocket&) = delete;
    ~InetDiagSocket();

    // Sends a dump request for TCP sockets of `family` (AF_INET or AF_INET6) with no
    // extensions and the states of `state_mask` (bit n: kernel state n; default all).
    // Returns the request's sequence number.
    Result<std::uint32_t> request_tcp_dump(int family,
                                           std::uint32_t state_mask = kTcpDumpStateMask);

    // Receives one datagram into the reusable buffer; the span is valid until the next
    // call. A datagram larger than the buffer is an error, never silently cut.
    Result<std::span<const std::byte>> receive();

    // Dumps one family to the end, counting while receiving.
    template <typename Visitor>
    Result<DumpTally> dump_tcp(int family, Visitor&& visit,
                               std::uint32_t state_mask = kTcpDumpStateMask);

    // Counts IPv4 + IPv6 TCP sockets. A dump interrupted by a table change
    // (NLM_F_DUMP_INTR) is retried up to `max_attempts` times in total; before a retry
    // the visitor's reset() is called if it has one.
    template <typename Visitor>
    Result<StateCounts> count_tcp(Visitor&& visit, int max_attempts = 3,
                                  std::uint32_t state_mask = kTcpDumpStateMask);

    Result<StateCounts> count_tcp(int max_attempts = 3) {
        return count_tcp(NoSocketVisitor{}, max_attempts);
    }

  private:
    InetDiagSocket(nl_sock* sock, std::size_t buffer_bytes, int socket_rcvbuf);
    // After a failed dump, replies may still be queued; a fresh socket is simpler and
    // safer than draining (the kernel refuses a new dump while one is running).
    Result<void> reopen();
    void close();

    nl_sock* sock_ = nullptr;
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t buffer_bytes_ = 0;
    int socket_rcvbuf_ = 0;
    bool needs_reopen_ = false;
};

template <typename Visitor>
Result<DumpTally> InetDiagSocket::dump_tcp(int family, Visitor&& visit, std::uint32_t state_mask) {
    std::uint32_t seq = 0;
    TRY_ASSIGN(seq, request_tcp_dump(family, state_mask));
    DumpTally tally;
    needs_reopen_ = true;  // cleared only when the dump is read to its end
    for (;;) {
        std::span<const std::byte> datagram;
        TRY_ASSIGN(datagram, receive());
        DumpProgress progress = DumpProgress::kMore;
        TRY_ASSIGN(progress, parse_inet_diag_datagram(datagram, seq, tally, visit));
        if (progress == DumpProgress::kDone) {
            needs_reopen_ = false;
            return tally;
        }
    }
}

template <typename Visitor>
Result<StateCounts> InetDiagSocket::count_tcp(Visitor&& visit, int max_attempts,
                                              std::uint32_t state_mask) {
    for (int attempt = 1;; ++attempt) {
        StateCounts total;
        bool interrupted = false;
        for (int family : {AF_INET, AF_INET6}) {
            DumpTally tally;
            TRY_ASSIGN(tally, dump_tcp(family, visit, state_mask));
            for (std::size_t i = 0; i < kTcpStateCount; ++i) {
                total.by_state[i] += tally.counts.by_state[i];
            }
            interrupted = interrupted || tally.interrupted;
        }
        if (!interrupted) {
            return total;
        }
        if (attempt >= max_attempts) {
            return make_error(ErrorCode::kNetlink,
                              "netlink: socket dump interrupted (NLM_F_DUMP_INTR) " +
                                  std::to_string(attempt) + " times in a row; giving up");
        }
        if constexpr (requires { visit.reset(); }) {
            visit.reset();
        }
    }
}

}  // namespace tcptune
