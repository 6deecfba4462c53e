#include "tcptune/pressure/pressure_collector.hpp"

#include <gtest/gtest.h>

#include "support/diag_dump.hpp"
#include "tcptune/census/netlink_diag_parser.hpp"

namespace tcptune {
namespace {

using test::DiagSock;
using test::repeat_sock;

constexpr std::uint8_t kListen = 10;
// The kernel reports request sockets as SYN_RECV (inet_req_diag_fill).
constexpr std::uint8_t kNewSynRecv = 3;
constexpr std::uint8_t kEstablished = 1;
constexpr std::uint8_t kTimeWait = 6;

PressureSignals run(const std::vector<DiagSock>& socks, PressureCollectorOptions options) {
    PressureCollector collector(std::move(options));
    DumpTally tally;
    const auto bytes = test::diag_dump_of(socks);
    auto progress = parse_inet_diag_datagram(bytes, test::kDumpSeq, tally, collector);
    EXPECT_TRUE(progress) << progress.error().message;
    PressureSignals out;
    collector.finish(out);
    return out;
}

PressureCollectorOptions listeners_only() {
    PressureCollectorOptions o;
    o.request.listeners = true;
    return o;
}

DiagSock listener(std::string local, std::uint16_t port, std::uint32_t queued,
                  std::uint32_t backlog) {
    const bool v6 = local.find(':') != std::string::npos;
    return DiagSock{.kernel_state = kListen,
                    .local = std::move(local),
                    .local_port = port,
                    .remote = v6 ? "::" : "0.0.0.0",
                    .remote_port = 0,
                    .rqueue = queued,
                    .wqueue = backlog,
                    .inode = 77};
}

// SYN_RECV request sockets of a listener: the kernel reports the listener's
// local address and port for each, and spoofed sources as remotes.
std::vector<DiagSock> requests(const std::string& local, std::uint16_t port, std::size_t n) {
    std::vector<DiagSock> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(DiagSock{.kernel_state = kNewSynRecv,
                               .local = local,
                               .local_port = port,
                               .remote = "127.0.0.9",
                               .remote_port = static_cast<std::uint16_t>(1000 + i),
                               .timer = 1,
                               .retrans = 2});
    }
    return out;
}

TEST(PressureCollector, SynFloodFillsTheListenersOwnSynQueue) {
    // The flood: listen(511), cookies on, 512 request sockets.
    std::vector<DiagSock> socks = {listener("127.0.0.5", 8080, 0, 511),
                                   listener("127.0.0.6", 9090, 0, 4096)};
    test::append_socks(socks, requests("127.0.0.5", 8080, 512));
    const auto out = run(socks, listeners_only());
    ASSERT_TRUE(out.listeners);
    const ListenerSignals& l = *out.listeners;
    EXPECT_EQ(l.listeners, 2U);
    EXPECT_EQ(l.with_queue, 1U);
    EXPECT_EQ(l.syn_full, 1U);
    EXPECT_EQ(l.accept_full, 0U);
    ASSERT_EQ(l.filling.size(), 1U);
    const ListenerQueues& q = l.filling.front();
    EXPECT_EQ(format_endpoint(q.local), "127.0.0.5:8080");
    EXPECT_EQ(q.syn_queue, 512U);
    EXPECT_EQ(q.backlog, 511U);
    EXPECT_EQ(q.queued, 0U);
    EXPECT_TRUE(q.syn_queue_full());
    EXPECT_FALSE(q.full());
    EXPECT_GT(q.syn_fill(), 1.0);
    EXPECT_EQ(l.ports, (std::vector<std::uint16_t>{8080, 9090}));
    EXPECT_FALSE(out.destinations);
    EXPECT_FALSE(out.dead_peers);
}

TEST(PressureCollector, RequestsOfAWildcardOrDualStackListenerAreItsOwn) {
    std::vector<DiagSock> socks = {listener("0.0.0.0", 8080, 0, 128), listener("::", 8443, 0, 64)};
    test::append_socks(socks, requests("127.0.0.5", 8080, 10));
    test::append_socks(socks, requests("10.1.2.3", 8080, 5));
    // An IPv4 SYN to a dual-stack [::] listener is an IPv4 request socket.
    test::append_socks(socks, requests("127.0.0.7", 8443, 64));
    // A request whose listener is gone is counted, not lost.
    test::append_socks(socks, requests("127.0.0.5", 7000, 3));
    const auto out = run(socks, listeners_only());
    ASSERT_TRUE(out.listeners);
    const ListenerQueues* any4 = out.listeners->find(out.listeners->filling.back().local);
    ASSERT_NE(any4, nullptr);
    ASSERT_EQ(out.listeners->filling.size(), 2U);
    // [::]:8443 is full (64/64) so it sorts first.
    EXPECT_EQ(format_endpoint(out.listeners->filling[0].local), "[::]:8443");
    EXPECT_EQ(out.listeners->filling[0].syn_queue, 64U);
    EXPECT_TRUE(out.listeners->filling[0].syn_queue_full());
    EXPECT_EQ(format_endpoint(out.listeners->filling[1].local), "0.0.0.0:8080");
    EXPECT_EQ(out.listeners->filling[1].syn_queue, 15U);
    EXPECT_EQ(out.listeners->syn_recv_unattributed, 3U);
}

TEST(PressureCollector, FullAcceptQueueOfAServerThatNeverAccepts) {
    // What `ss -ltn` showed for listen(8) and 40 connects: Recv-Q 9, Send-Q 8.
    const auto out = run({listener("127.0.0.7", 7070, 9, 8), listener("127.0.0.8", 80, 0, 4096)},
                         listeners_only());
    ASSERT_TRUE(out.listeners);
    ASSERT_EQ(out.listeners->filling.size(), 1U);
    const ListenerQueues& q = out.listeners->filling.front();
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.queued, 9U);
    EXPECT_EQ(q.backlog, 8U);
    EXPECT_EQ(out.listeners->accept_full, 1U);
    EXPECT_EQ(out.listeners->syn_full, 0U);
}

TEST(PressureCollector, ReuseportListenersOnOneAddressShareAnEntry) {
    std::vector<DiagSock> socks = {listener("127.0.0.5", 8080, 3, 100),
                                   listener("127.0.0.5", 8080, 5, 100)};
    test::append_socks(socks, requests("127.0.0.5", 8080, 20));
    const auto out = run(socks, listeners_only());
    ASSERT_EQ(out.listeners->filling.size(), 1U);
    const ListenerQueues& q = out.listeners->filling.front();
    EXPECT_EQ(q.sockets, 2U);
    EXPECT_EQ(q.queued, 8U);
    EXPECT_EQ(q.backlog, 200U);
    EXPECT_EQ(q.syn_queue, 20U);
}

PressureCollectorOptions destinations(std::uint16_t low, std::uint16_t high) {
    PressureCollectorOptions o;
    o.request.destinations = true;
    o.ports.low = low;
    o.ports.high = high;
    return o;
}

TEST(PressureCollector, PortOccupancyTowardsOneDestination) {
    std::vector<DiagSock> socks;
    // 450 TIME_WAIT + 20 ESTABLISHED towards 127.0.0.8:5432 from ephemeral ports.
    test::append_socks(
        socks, repeat_sock({.kernel_state = kTimeWait, .remote = "127.0.0.8", .remote_port = 5432},
                           450, 40000));
    test::append_socks(
        socks,
        repeat_sock({.kernel_state = kEstablished, .remote = "127.0.0.8", .remote_port = 5432}, 20,
                    40450));
    // Server side of other connections: local port 8080, outside the range.
    test::append_socks(socks, repeat_sock({.kernel_state = kEstablished,
                                           .local = "127.0.0.8",
                                           .remote = "127.0.0.1",
                                           .remote_port = 40001},
                                          5, 8080));
    const auto out = run(socks, destinations(40000, 40499));
    ASSERT_TRUE(out.destinations);
    const DestinationSignals& d = *out.destinations;
    EXPECT_EQ(d.usable, 500U);
    EXPECT_EQ(d.sockets_in_range, 470U);
    EXPECT_EQ(d.ports_in_use, 470U);
    ASSERT_FALSE(d.top.empty());
    EXPECT_EQ(format_endpoint(d.top.front().remote), "127.0.0.8:5432");
    EXPECT_EQ(format_address(d.top.front().local), "127.0.0.1");
    EXPECT_EQ(d.top.front().sockets, 470U);
    EXPECT_DOUBLE_EQ(d.top.front().occupancy, 0.94);
    EXPECT_TRUE(d.exact);
    EXPECT_FALSE(d.looks_like_bind_before_connect());
}

TEST(PressureCollector, SpreadOverTenDestinationsKeepsEachFarFromTheLimit) {
    // The look-alike: 1200 TIME_WAIT (more than the 500-port range) spread over 10
    // destinations, local ports shared between them as connect() does.
    std::vector<DiagSock> socks;
    for (std::uint16_t dest = 0; dest < 10; ++dest) {
        test::append_socks(socks,
                           repeat_sock({.kernel_state = kTimeWait,
                                        .remote = "127.0.0.10",
                                        .remote_port = static_cast<std::uint16_t>(6000 + dest)},
                                       120, static_cast<std::uint16_t>(40000 + dest * 38)));
    }
    const auto out = run(socks, destinations(40000, 40499));
    const DestinationSignals& d = *out.destinations;
    EXPECT_EQ(d.sockets_in_range, 1200U);
    EXPECT_EQ(d.top.size(), 10U);
    EXPECT_DOUBLE_EQ(d.top.front().occupancy, 0.24);
    EXPECT_FALSE(d.looks_like_bind_before_connect()) << "ports are shared, not bound";
}

TEST(PressureCollector, PortsBoundBeforeConnectExhaustTheRangeWithoutOneHotDestination) {
    // bind(addr, 0) then connect(): every socket holds its own port (measured:
    // EADDRINUSE at socket 499 of a 500-port range over 10 destinations).
    std::vector<DiagSock> socks;
    for (std::uint16_t i = 0; i < 480; ++i) {
        socks.push_back({.kernel_state = kEstablished,
                         .local_port = static_cast<std::uint16_t>(40000 + i),
                         .remote = "127.0.0.10",
                         .remote_port = static_cast<std::uint16_t>(6000 + i % 10)});
    }
    const auto out = run(socks, destinations(40000, 40499));
    EXPECT_TRUE(out.destinations->looks_like_bind_before_connect());
}

TEST(PressureCollector, ReservedAndListeningPortsAreNotEphemeral) {
    auto options = destinations(40000, 40499);
    options.ports.reserved.insert_range(40400, 40499);  // 100 reserved
    std::vector<DiagSock> socks = {listener("0.0.0.0", 40010, 0, 128)};
    // Accepted connections on the listening port 40010 (inside the range).
    test::append_socks(
        socks,
        repeat_sock({.kernel_state = kEstablished, .remote = "10.0.0.1", .remote_port = 1234}, 1,
                    40010));
    test::append_socks(
        socks,
        repeat_sock({.kernel_state = kEstablished, .remote = "10.0.0.1", .remote_port = 1235}, 1,
                    40010));
    // A socket on a reserved port (explicitly bound): not an ephemeral one.
    socks.push_back({.kernel_state = kEstablished, .local_port = 40450, .remote = "10.0.0.2"});
    socks.push_back({.kernel_state = kEstablished, .local_port = 40100, .remote = "10.0.0.2"});
    const auto out = run(socks, options);
    EXPECT_EQ(out.destinations->usable, 400U);
    EXPECT_EQ(out.destinations->sockets_in_range, 1U);
}

TEST(PressureCollector, DeadPeerEvidenceFromTimers) {
    PressureCollectorOptions o;
    o.request.dead_peers = true;
    const std::vector<DiagSock> socks = {
        // keepalive probes unanswered (ss: timer:(keepalive,752ms,8))
        {.kernel_state = kEstablished, .remote = "127.0.0.11", .timer = 2, .retrans = 8},
        // retransmitting data (ss: timer:(on,5.8s,5))
        {.kernel_state = kEstablished, .remote = "127.0.0.11", .timer = 1, .retrans = 5},
        // zero-window probes
        {.kernel_state = kEstablished, .remote = "127.0.0.12", .timer = 4, .retrans = 2},
        // healthy: keepalive armed, nothing unanswered; a first RTO not yet fired
        {.kernel_state = kEstablished, .remote = "127.0.0.13", .timer = 2, .retrans = 0},
        {.kernel_state = kEstablished, .remote = "127.0.0.13", .timer = 1, .retrans = 0},
        // SYN-ACK retransmits of request sockets are SYN queue pressure
        {.kernel_state = kNewSynRecv, .remote = "127.0.0.9", .timer = 1, .retrans = 3},
    };
    const auto out = run(socks, o);
    ASSERT_TRUE(out.dead_peers);
    EXPECT_EQ(out.dead_peers->keepalive_unanswered, 1U);
    EXPECT_EQ(out.dead_peers->retransmitting, 1U);
    EXPECT_EQ(out.dead_peers->zero_window, 1U);
    EXPECT_EQ(out.dead_peers->total(), 3U);
    ASSERT_FALSE(out.dead_peers->top_peers.empty());
    EXPECT_EQ(format_address(out.dead_peers->top_peers.front().peer), "127.0.0.11");
    EXPECT_EQ(out.dead_peers->top_peers.front().sockets, 2U);
}

TEST(PressureCollector, ResetForgetsAnInterruptedDump) {
    PressureCollectorOptions o = listeners_only();
    PressureCollector collector(o);
    DumpTally tally;
    std::vector<DiagSock> first = {listener("127.0.0.5", 8080, 0, 16)};
    test::append_socks(first, requests("127.0.0.5", 8080, 16));
    ASSERT_TRUE(
        parse_inet_diag_datagram(test::diag_dump_of(first), test::kDumpSeq, tally, collector));
    collector.reset();
    DumpTally second;
    ASSERT_TRUE(parse_inet_diag_datagram(test::diag_dump_of({listener("127.0.0.5", 8080, 0, 16)}),
                                         test::kDumpSeq, second, collector));
    PressureSignals out;
    collector.finish(out);
    EXPECT_EQ(out.listeners->listeners, 1U);
    EXPECT_TRUE(out.listeners->filling.empty());
}

}  // namespace
}  // namespace tcptune
