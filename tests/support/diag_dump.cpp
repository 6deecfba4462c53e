#include "support/diag_dump.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace tcptune::test {

inet_diag_msg make_diag_msg(const DiagSock& s) {
    inet_diag_msg msg{};
    const bool v6 = s.local.find(':') != std::string::npos;
    msg.idiag_family = v6 ? AF_INET6 : AF_INET;
    msg.idiag_state = s.kernel_state;
    msg.idiag_timer = s.timer;
    msg.idiag_retrans = s.retrans;
    msg.id.idiag_sport = htons(s.local_port);
    msg.id.idiag_dport = htons(s.remote_port);
    EXPECT_EQ(::inet_pton(msg.idiag_family, s.local.c_str(), msg.id.idiag_src), 1) << s.local;
    EXPECT_EQ(::inet_pton(msg.idiag_family, s.remote.c_str(), msg.id.idiag_dst), 1) << s.remote;
    msg.idiag_rqueue = s.rqueue;
    msg.idiag_wqueue = s.wqueue;
    msg.idiag_inode = s.inode;
    return msg;
}

std::vector<std::byte> diag_dump_of(const std::vector<DiagSock>& socks) {
    std::vector<std::byte> bytes;
    auto append = [&bytes](std::uint16_t type, const void* payload, std::size_t len) {
        nlmsghdr hdr{};
        hdr.nlmsg_len = static_cast<std::uint32_t>(sizeof(hdr) + len);
        hdr.nlmsg_type = type;
        hdr.nlmsg_flags = NLM_F_MULTI;
        hdr.nlmsg_seq = kDumpSeq;
        const auto* h = reinterpret_cast<const std::byte*>(&hdr);
        bytes.insert(bytes.end(), h, h + sizeof(hdr));
        const auto* p = static_cast<const std::byte*>(payload);
        bytes.insert(bytes.end(), p, p + len);
        while (bytes.size() % 4 != 0) {
            bytes.push_back(std::byte{0});
        }
    };
    for (const auto& s : socks) {
        const inet_diag_msg msg = make_diag_msg(s);
        append(SOCK_DIAG_BY_FAMILY, &msg, sizeof(msg));
    }
    const std::int32_t ok = 0;
    append(NLMSG_DONE, &ok, sizeof(ok));
    return bytes;
}

std::vector<DiagSock> repeat_sock(DiagSock s, std::size_t n, std::uint16_t first_port) {
    std::vector<DiagSock> out;
    for (std::size_t i = 0; i < n; ++i) {
        s.local_port = static_cast<std::uint16_t>(first_port + i);
        out.push_back(s);
    }
    return out;
}

void append_socks(std::vector<DiagSock>& to, const std::vector<DiagSock>& more) {
    to.insert(to.end(), more.begin(), more.end());
}

}  // namespace tcptune::test
