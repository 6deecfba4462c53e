#include "support/pressure_fixtures.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace tcptune::test {

Endpoint ipv4(const std::string& address, std::uint16_t port) {
    Endpoint e;
    e.family = AF_INET;
    e.prefix_len = 32;
    e.port = port;
    EXPECT_EQ(::inet_pton(AF_INET, address.c_str(), e.address.data()), 1) << address;
    return e;
}

ListenerQueues listener_queues(const std::string& address, std::uint16_t port,
                               std::uint32_t syn_queue, std::uint32_t queued,
                               std::uint32_t backlog) {
    ListenerQueues q;
    q.local = ipv4(address, port);
    q.syn_queue = syn_queue;
    q.queued = queued;
    q.backlog = backlog;
    return q;
}

}  // namespace tcptune::test
