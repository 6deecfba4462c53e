#include "tcptune/diagnosis/diagnosis.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

Endpoint v4(const char* address, std::uint16_t port = 0, std::uint8_t prefix = 32) {
    Endpoint e;
    e.family = AF_INET;
    e.prefix_len = prefix;
    e.port = port;
    EXPECT_EQ(::inet_pton(AF_INET, address, e.address.data()), 1);
    return e;
}

Endpoint port_only(std::uint16_t port) {
    Endpoint e;
    e.port = port;
    return e;
}

TopTable table(std::initializer_list<std::pair<Endpoint, std::uint64_t>> rows, std::uint64_t total,
               bool exact = true) {
    TopTable t;
    t.exact = exact;
    t.capacity = 1024;
    for (const auto& [key, count] : rows) {
        t.entries.push_back(
            TopEntry{key, count, 0, static_cast<double>(count) / static_cast<double>(total)});
    }
    t.distinct = t.entries.size();
    return t;
}

// The breakdown of `total` sockets in `state`; each test adds the tables it needs.
StateBreakdown breakdown(TcpState state, std::uint64_t total) {
    StateBreakdown b;
    b.state = state;
    b.total = total;
    return b;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(Hint, TimeWaitTowardsOneServiceSuggestsPooling) {
    StateBreakdown b = breakdown(TcpState::kTimeWait, 100);
    b.peer_services = table({{v4("10.0.0.5", 5432), 80}, {v4("10.0.0.6", 80), 20}}, 100);
    b.peers = table({{v4("10.0.0.5"), 80}}, 100);
    const std::string h = hint(b);
    EXPECT_TRUE(contains(h, "TIME_WAIT: 80% towards 10.0.0.5:5432")) << h;
    EXPECT_TRUE(contains(h, "connection pooling")) << h;
}

TEST(Hint, TimeWaitOnOneLocalPortBlamesTheServerClosingFirst) {
    StateBreakdown b = breakdown(TcpState::kTimeWait, 10);
    b.local_ports = table({{port_only(80), 9}}, 10);
    b.peer_services = table({{v4("10.0.0.1", 50000), 1}}, 10);
    const std::string h = hint(b);
    EXPECT_TRUE(contains(h, "90% on local port 80")) << h;
    EXPECT_TRUE(contains(h, "closes connections first")) << h;
    EXPECT_TRUE(contains(h, "tcp_fin_timeout does not shorten it")) << h;
}

TEST(Hint, NothingDominantAndNoSocketsSayNothing) {
    StateBreakdown b = breakdown(TcpState::kTimeWait, 10);
    b.peer_services = table({{v4("10.0.0.1", 1), 3}, {v4("10.0.0.2", 1), 3}}, 10);
    EXPECT_EQ(hint(b), "");
    StateBreakdown empty;
    empty.state = TcpState::kCloseWait;
    EXPECT_EQ(hint(empty), "");
}

TEST(Hint, ApproximateSharesAreMarked) {
    StateBreakdown b = breakdown(TcpState::kTimeWait, 100);
    b.peer_services = table({{v4("10.0.0.5", 5432), 60}}, 100, /*exact=*/false);
    EXPECT_TRUE(contains(hint(b), "~60% towards")) << hint(b);
}

TEST(Hint, CloseWaitAlwaysSaysNoSysctlFixesItAndNamesTheProcess) {
    StateBreakdown b = breakdown(TcpState::kCloseWait, 4);
    b.local_ports = table({{port_only(7070), 2}}, 4);
    std::string h = hint(b);
    EXPECT_TRUE(contains(h,
                         "CLOSE_WAIT: the application is not closing its sockets; no sysctl "
                         "fixes this"))
        << h;
    EXPECT_TRUE(contains(h, "--by process")) << h;

    b.local_ports = table({{port_only(7070), 3}}, 4);
    h = hint(b);
    EXPECT_TRUE(contains(h, "75% on local port 7070")) << h;

    ProcessBreakdown p;
    p.owners.push_back(ProcessOwner{1234, "leaky", 7070, 3, 0.75});
    b.processes = p;
    h = hint(b);
    EXPECT_TRUE(contains(h, "75% held by pid 1234 (leaky) on local port 7070")) << h;
}

TEST(Hint, SynRecvFromManyPeersOnOnePortLooksLikeAFlood) {
    StateBreakdown b = breakdown(TcpState::kSynRecv, 1000);
    b.local_ports = table({{port_only(443), 990}}, 1000);
    b.peers = table({{v4("203.0.113.9"), 5}}, 1000, /*exact=*/false);
    EXPECT_TRUE(contains(hint(b), "SYN flood")) << hint(b);

    b.peers = table({{v4("203.0.113.9"), 700}}, 1000);
    EXPECT_TRUE(contains(hint(b), "70% from 203.0.113.9")) << hint(b);

    b.peers = table({{v4("203.0.113.9"), 10}}, 1000);
    b.peer_prefixes = table({{v4("203.0.113.0", 0, 24), 900}}, 1000);
    EXPECT_TRUE(contains(hint(b), "90% from 203.0.113.0/24")) << hint(b);
}

TEST(Hint, ListenQueuesNearlyFullOrFull) {
    ListenerQueues q{.local = v4("127.0.0.2", 8080), .queued = 10, .backlog = 128};
    EXPECT_EQ(hint(q), "");
    q.queued = 110;
    EXPECT_TRUE(contains(hint(q), "127.0.0.2:8080 accept queue 110/128 is nearly full")) << hint(q);
    q.queued = 129;
    EXPECT_TRUE(contains(hint(q), "is full")) << hint(q);
    EXPECT_TRUE(contains(hint(q), "somaxconn")) << hint(q);
}

TEST(Hint, AFullSynQueueSaysWhatBoundsIt) {
    const ListenerQueues q{.local = v4("127.0.0.5", 8080), .backlog = 511, .syn_queue = 512};
    const std::string h = hint(q);
    EXPECT_TRUE(contains(h, "127.0.0.5:8080 SYN queue 512/511 is full")) << h;
    EXPECT_TRUE(contains(h, "min(listen() backlog, net.core.somaxconn)")) << h;
    EXPECT_TRUE(contains(h, "net.ipv4.tcp_max_syn_backlog does not apply")) << h;
    EXPECT_FALSE(contains(h, "accept queue")) << h;
}

TEST(Hint, PortsTowardsOneDestinationAndBindBeforeConnect) {
    DestinationSignals d;
    d.usable = 500;
    d.sockets_in_range = 470;
    d.ports_in_use = 470;
    DestinationPorts hot;
    hot.local = v4("127.0.0.1");
    hot.remote = v4("127.0.0.8", 5432);
    hot.sockets = 470;
    hot.occupancy = 0.94;
    d.top = {hot};
    EXPECT_TRUE(contains(hint(d),
                         "470 of 500 usable ephemeral ports (94%) are held towards "
                         "127.0.0.8:5432 from 127.0.0.1"))
        << hint(d);
    EXPECT_TRUE(contains(hint(d), "EADDRNOTAVAIL"));

    d.top.front().sockets = 48;
    d.top.front().occupancy = 0.096;
    d.ports_in_use = 480;
    d.sockets_in_range = 480;
    EXPECT_TRUE(contains(hint(d), "IP_BIND_ADDRESS_NO_PORT")) << hint(d);
}

TEST(Hints, CollectsStatesQueuesAndOverflowRateInOrder) {
    Breakdown b;
    StateBreakdown tw;
    tw.state = TcpState::kTimeWait;
    tw.total = 10;
    tw.peer_services = table({{v4("10.0.0.5", 5432), 10}}, 10);
    StateBreakdown quiet;
    quiet.state = TcpState::kSynRecv;
    b.states = {tw, quiet};
    b.listen.filling = {ListenerQueues{.local = v4("127.0.0.2", 80), .queued = 9, .backlog = 8}};
    b.listen.listen_overflows_per_second = 2.5;
    const auto all = hints(b);
    ASSERT_EQ(all.size(), 3U);
    EXPECT_TRUE(contains(all[0], "TIME_WAIT: 100% towards 10.0.0.5:5432"));
    EXPECT_TRUE(contains(all[1], "LISTEN: 127.0.0.2:80"));
    EXPECT_TRUE(contains(all[2], "ListenOverflows rising at 2.5/s"));
    EXPECT_EQ(hint(b), all[0] + "\n" + all[1] + "\n" + all[2]);

    b.listen.listen_overflows_per_second = 0.0;
    EXPECT_EQ(hints(b).size(), 2U);
}

TEST(TopRows, FlattenEachViewWithSharesAndApproximation) {
    StateBreakdown b = breakdown(TcpState::kTimeWait, 40);
    b.local_ports = table({{port_only(40001), 1}}, 40);
    b.peers = table({{v4("127.0.0.2"), 30}, {v4("127.0.0.3"), 10}}, 40);
    b.peer_services = table({{v4("127.0.0.2", 8080), 30}}, 40, /*exact=*/false);
    b.peer_services.entries[0].error = 3;

    auto peers = top_rows(b, TopView::kPeer);
    ASSERT_TRUE(peers);
    ASSERT_EQ(peers->size(), 2U);
    EXPECT_EQ((*peers)[0].key, "127.0.0.2");
    EXPECT_EQ((*peers)[0].count, 30U);
    EXPECT_EQ((*peers)[0].detail, "75.0% of 40");
    auto endpoints = top_rows(b, TopView::kEndpoint);
    ASSERT_TRUE(endpoints);
    EXPECT_EQ((*endpoints)[0].key, "127.0.0.2:8080");
    EXPECT_EQ((*endpoints)[0].detail, "~75.0% of 40 (count may be over by 3)");
    auto ports = top_rows(b, TopView::kPort);
    ASSERT_TRUE(ports);
    EXPECT_EQ((*ports)[0].key, "40001");

    EXPECT_FALSE(top_rows(b, TopView::kPrefix)) << "not taken with by_prefix";
    EXPECT_FALSE(top_rows(b, TopView::kProcess)) << "not taken with by_process";

    ProcessBreakdown p;
    p.owners.push_back(ProcessOwner{99, "srv", 7070, 12, 0.3});
    b.processes = p;
    auto procs = top_rows(b, TopView::kProcess);
    ASSERT_TRUE(procs);
    EXPECT_EQ((*procs)[0].key, "99/srv");
    EXPECT_EQ((*procs)[0].count, 12U);
    EXPECT_EQ((*procs)[0].detail, "local port 7070, 30.0% of 40");
}

TEST(TopViewOptions, AskForWhatTheViewNeeds) {
    const auto o = top_view_options(TcpState::kCloseWait, TopView::kProcess, 5);
    ASSERT_EQ(o.states.size(), 1U);
    EXPECT_EQ(o.states[0], TcpState::kCloseWait);
    EXPECT_EQ(o.top_n, 5U);
    EXPECT_TRUE(o.by_process);
    EXPECT_FALSE(o.by_prefix);
    const auto p = top_view_options(TcpState::kSynRecv, TopView::kPrefix, 0);
    EXPECT_TRUE(p.by_prefix);
    EXPECT_EQ(p.top_n, BreakdownOptions{}.top_n);
}

TEST(TopView, NamesRoundTripAndAnUnknownNameListsTheViews) {
    for (const auto& [view, name] : kTopViewNames) {
        EXPECT_EQ(parse_top_view(to_string(view)), view) << to_string(view);
    }
    const auto unknown = parse_top_view("colour");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(
        unknown.error().message,
        "unknown view 'colour' (port, peer, endpoint, prefix, process, listener or destination)");
    EXPECT_FALSE(parse_top_view("Port")) << "names are lower case, as documented";
}

}  // namespace
}  // namespace tcptune
