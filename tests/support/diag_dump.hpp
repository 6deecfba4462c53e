#pragma once

// Builds sock_diag dump bytes from a list of sockets, for pure tests of the
// per-socket visitors (breakdown, pressure signals) without a kernel.

#include <linux/inet_diag.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tcptune::test {

inline constexpr std::uint32_t kDumpSeq = 7;

struct DiagSock {
    std::uint8_t kernel_state = 6;  // TIME_WAIT; 10 = LISTEN, 12 = NEW_SYN_RECV
    std::string local = "127.0.0.1";
    std::uint16_t local_port = 40000;
    std::string remote = "127.0.0.2";
    std::uint16_t remote_port = 8080;
    std::uint32_t rqueue = 0;
    std::uint32_t wqueue = 0;
    std::uint32_t inode = 0;
    std::uint8_t timer = 0;    // idiag_timer: 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 probe0
    std::uint8_t retrans = 0;  // idiag_retrans
};

inet_diag_msg make_diag_msg(const DiagSock& s);

// The sockets as SOCK_DIAG_BY_FAMILY messages with sequence kDumpSeq, then NLMSG_DONE.
std::vector<std::byte> diag_dump_of(const std::vector<DiagSock>& socks);

// n copies of s, each with its own local port from first_port on.
std::vector<DiagSock> repeat_sock(DiagSock s, std::size_t n, std::uint16_t first_port = 40000);

void append_socks(std::vector<DiagSock>& to, const std::vector<DiagSock>& more);

}  // namespace tcptune::test
