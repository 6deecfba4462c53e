// tcptune-capture-dump: records the raw sock_diag replies (IPv4 and IPv6 TCP dumps,
// exactly as tcptune requests them) of the current network namespace into
// PREFIX.inet.bin and PREFIX.inet6.bin, and prints each dump's sequence number.
// Used by tests/data/netlink/capture.sh to make the parser's captured test data.
//
// Example: tcptune-capture-dump tests/data/netlink/populated
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tcptune/census/netlink_diag_socket.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: tcptune-capture-dump PREFIX\n");
        return 2;
    }
    const std::string prefix = argv[1];
    auto socket = tcptune::InetDiagSocket::open();
    if (!socket) {
        std::fprintf(stderr, "tcptune-capture-dump: %s\n", socket.error().message.c_str());
        return 1;
    }
    for (auto [family, name] : {std::pair{AF_INET, "inet"}, std::pair{AF_INET6, "inet6"}}) {
        auto seq = socket->request_tcp_dump(family);
        if (!seq) {
            std::fprintf(stderr, "tcptune-capture-dump: %s\n", seq.error().message.c_str());
            return 1;
        }
        std::ofstream out(prefix + "." + name + ".bin", std::ios::binary);
        tcptune::DumpTally tally;
        for (;;) {
            auto datagram = socket->receive();
            if (!datagram) {
                std::fprintf(stderr, "tcptune-capture-dump: %s\n",
                             datagram.error().message.c_str());
                return 1;
            }
            out.write(reinterpret_cast<const char*>(datagram->data()),
                      static_cast<std::streamsize>(datagram->size()));
            auto progress = tcptune::parse_inet_diag_datagram(*datagram, *seq, tally,
                                                              tcptune::NoSocketVisitor{});
            if (!progress) {
                std::fprintf(stderr, "tcptune-capture-dump: %s\n",
                             progress.error().message.c_str());
                return 1;
            }
            if (*progress == tcptune::DumpProgress::kDone) {
                break;
            }
        }
        std::printf("seq_%s %u\n", name, *seq);
    }
    return 0;
}
