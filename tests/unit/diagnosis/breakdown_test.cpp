#include "tcptune/diagnosis/breakdown.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fake_proc.hpp"
#include "support/diag_dump.hpp"
#include "tcptune/census/netlink_diag_parser.hpp"
#include "tcptune/diagnosis/breakdown_json.hpp"

namespace tcptune {
namespace {

using test::append_socks;
using test::diag_dump_of;
using test::FakeProc;
using test::kDumpSeq;
using Sock = test::DiagSock;

// Runs the collector over a dump exactly as the live path does (the parser calls it).
Breakdown run(const std::vector<Sock>& socks, const BreakdownOptions& options,
              NetstatCounters netstat = {}) {
    BreakdownCollector collector(options);
    DumpTally tally;
    const auto bytes = diag_dump_of(socks);
    auto progress = parse_inet_diag_datagram(bytes, kDumpSeq, tally, collector);
    EXPECT_TRUE(progress) << progress.error().message;
    auto b = collector.finish(tally.counts, netstat);
    EXPECT_TRUE(b) << b.error().message;
    return b ? *b : Breakdown{};
}

std::vector<Sock> repeat(Sock s, std::size_t n, std::uint16_t first_port = 40000) {
    return test::repeat_sock(std::move(s), n, first_port);
}

void append(std::vector<Sock>& to, const std::vector<Sock>& more) {
    append_socks(to, more);
}

// A listening socket on local:port bound to the wildcard peer; for a listener the kernel
// reports the accept queue in rqueue and the listen() backlog in wqueue.
Sock listener(const std::string& local, std::uint16_t port, std::uint32_t queued,
              std::uint32_t backlog) {
    return {.kernel_state = 10,
            .local = local,
            .local_port = port,
            .remote = local.find(':') == std::string::npos ? "0.0.0.0" : "::",
            .remote_port = 0,
            .rqueue = queued,
            .wqueue = backlog};
}

// A CLOSE_WAIT socket of the server on 127.0.0.4 towards a client on 127.0.0.1.
Sock close_wait(std::uint16_t local_port, std::uint16_t remote_port, std::uint32_t inode) {
    return {.kernel_state = 8,
            .local = "127.0.0.4",
            .local_port = local_port,
            .remote = "127.0.0.1",
            .remote_port = remote_port,
            .inode = inode};
}

TEST(BreakdownCollector, TimeWaitPeersAndServicesWithExactCountsAndShares) {
    std::vector<Sock> socks;
    append(socks, repeat({.remote = "127.0.0.2", .remote_port = 8080}, 30));
    append(socks, repeat({.remote = "127.0.0.3", .remote_port = 9090}, 10, 41000));
    // Other states must not leak into the TIME_WAIT breakdown.
    append(socks, repeat({.kernel_state = 1, .remote = "10.9.9.9", .remote_port = 1}, 5));
    BreakdownOptions options;
    options.states = {TcpState::kTimeWait};
    const Breakdown b = run(socks, options);

    EXPECT_EQ(b.counts[TcpState::kTimeWait], 40U);
    EXPECT_EQ(b.counts[TcpState::kEstablished], 5U);
    ASSERT_EQ(b.states.size(), 1U);
    const StateBreakdown& tw = b.states[0];
    EXPECT_EQ(tw.state, TcpState::kTimeWait);
    EXPECT_EQ(tw.total, 40U);
    ASSERT_EQ(tw.peer_services.entries.size(), 2U);
    EXPECT_TRUE(tw.peer_services.exact);
    EXPECT_EQ(format_endpoint(tw.peer_services.entries[0].key), "127.0.0.2:8080");
    EXPECT_EQ(tw.peer_services.entries[0].count, 30U);
    EXPECT_DOUBLE_EQ(tw.peer_services.entries[0].share, 0.75);
    EXPECT_EQ(format_endpoint(tw.peer_services.entries[1].key), "127.0.0.3:9090");
    EXPECT_EQ(tw.peer_services.entries[1].count, 10U);
    ASSERT_EQ(tw.peers.entries.size(), 2U);
    EXPECT_EQ(format_endpoint(tw.peers.entries[0].key), "127.0.0.2");
    EXPECT_EQ(tw.peers.entries[0].count, 30U);
    // Each TIME_WAIT here has its own local (ephemeral) port.
    EXPECT_EQ(tw.local_ports.distinct, 40U);
    EXPECT_EQ(tw.local_ports.entries.size(), 10U);  // cut to top_n
    EXPECT_FALSE(tw.processes.has_value());
    EXPECT_EQ(tw.peer_prefixes.capacity, 0U) << "prefixes only with by_prefix";
}

TEST(BreakdownCollector, LocalPortsOfAServerAndPrefixesOnRequest) {
    std::vector<Sock> socks;
    for (int i = 0; i < 6; ++i) {
        socks.push_back({.kernel_state = 3,
                         .local = "10.0.0.1",
                         .local_port = 443,
                         .remote = "203.0.113." + std::to_string(i + 1),
                         .remote_port = 5000});
    }
    socks.push_back({.kernel_state = 12,
                     .local = "10.0.0.1",
                     .local_port = 443,
                     .remote = "198.51.100.7",
                     .remote_port = 5001});  // NEW_SYN_RECV
    socks.push_back({.kernel_state = 3,
                     .local = "2001:db8::1",
                     .local_port = 80,
                     .remote = "2001:db8:1:2::5",
                     .remote_port = 6000});
    socks.push_back({.kernel_state = 3,
                     .local = "2001:db8::1",
                     .local_port = 80,
                     .remote = "2001:db8:1:2::6",
                     .remote_port = 6000});
    BreakdownOptions options;
    options.states = {TcpState::kSynRecv};
    options.by_prefix = true;
    const Breakdown b = run(socks, options);
    const StateBreakdown* syn = b.find(TcpState::kSynRecv);
    ASSERT_NE(syn, nullptr);
    EXPECT_EQ(syn->total, 9U);
    ASSERT_GE(syn->local_ports.entries.size(), 2U);
    EXPECT_EQ(syn->local_ports.entries[0].key.port, 443);
    EXPECT_EQ(syn->local_ports.entries[0].count, 7U);
    EXPECT_EQ(format_endpoint(syn->local_ports.entries[0].key), "443");
    EXPECT_EQ(syn->local_ports.entries[1].key.port, 80);
    ASSERT_EQ(syn->peer_prefixes.entries.size(), 3U);
    EXPECT_EQ(format_endpoint(syn->peer_prefixes.entries[0].key), "203.0.113.0/24");
    EXPECT_EQ(syn->peer_prefixes.entries[0].count, 6U);
    EXPECT_EQ(format_endpoint(syn->peer_prefixes.entries[1].key), "2001:db8:1:2::/64");
    EXPECT_EQ(syn->peer_prefixes.entries[1].count, 2U);
    EXPECT_EQ(format_endpoint(syn->peer_prefixes.entries[2].key), "198.51.100.0/24");
}

TEST(BreakdownCollector, MappedIpv4PeersAreOnePeerWithPlainIpv4) {
    std::vector<Sock> socks;
    socks.push_back(
        {.local = "::ffff:127.0.0.1", .remote = "::ffff:10.0.0.5", .remote_port = 5432});
    socks.push_back({.local = "127.0.0.1", .remote = "10.0.0.5", .remote_port = 5432});
    socks.push_back({.local = "::1", .remote = "::1", .remote_port = 5432});
    BreakdownOptions options;
    options.states = {TcpState::kTimeWait};
    const Breakdown b = run(socks, options);
    const auto& services = b.states[0].peer_services.entries;
    ASSERT_EQ(services.size(), 2U);
    EXPECT_EQ(format_endpoint(services[0].key), "10.0.0.5:5432");
    EXPECT_EQ(services[0].count, 2U);
    EXPECT_EQ(format_endpoint(services[1].key), "[::1]:5432");
}

TEST(BreakdownCollector, SmallCapacityReportsApproximateCountsButKeepsTheHeavyPeer) {
    std::vector<Sock> socks;
    append(socks, repeat({.remote = "10.0.0.5", .remote_port = 5432}, 500));
    for (int i = 0; i < 200; ++i) {
        socks.push_back(
            {.remote = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250),
             .remote_port = 80});
    }
    BreakdownOptions options;
    options.states = {TcpState::kTimeWait};
    options.capacity = 16;
    const Breakdown b = run(socks, options);
    const auto& peers = b.states[0].peers;
    EXPECT_FALSE(peers.exact);
    EXPECT_EQ(peers.capacity, 16U);
    ASSERT_FALSE(peers.entries.empty());
    EXPECT_EQ(format_endpoint(peers.entries[0].key), "10.0.0.5");
    EXPECT_GE(peers.entries[0].count, 500U);
    EXPECT_LE(peers.entries[0].count - peers.entries[0].error, 500U);
    EXPECT_EQ(b.states[0].total, 700U);
}

TEST(BreakdownCollector, ListenersWithFillingAcceptQueuesFullestFirst) {
    std::vector<Sock> socks;
    socks.push_back(listener("127.0.0.2", 8080, 0, 128));
    socks.push_back(listener("127.0.0.2", 8081, 5, 8));
    socks.push_back(listener("::", 443, 129, 128));
    socks.push_back(listener("127.0.0.2", 8082, 1, 100));
    BreakdownOptions options;
    options.states = {};
    options.top_n = 2;
    NetstatCounters netstat;
    netstat.listen_overflows = 17;
    netstat.listen_drops = 19;
    const Breakdown b = run(socks, options, netstat);
    EXPECT_EQ(b.listen.listeners, 4U);
    EXPECT_EQ(b.listen.listeners_queued, 3U);
    EXPECT_EQ(b.listen.listeners_full, 1U);
    ASSERT_EQ(b.listen.filling.size(), 3U);  // every listener with a queue (views show top_n)
    EXPECT_EQ(format_endpoint(b.listen.filling[0].local), "[::]:443");
    EXPECT_TRUE(b.listen.filling[0].full());
    EXPECT_EQ(b.listen.filling[0].queued, 129U);
    EXPECT_EQ(b.listen.filling[0].backlog, 128U);
    EXPECT_EQ(format_endpoint(b.listen.filling[1].local), "127.0.0.2:8081");
    EXPECT_FALSE(b.listen.filling[1].full());
    EXPECT_EQ(b.listen.listen_overflows, 17U);
    EXPECT_EQ(b.listen.listen_drops, 19U);
    EXPECT_FALSE(b.listen.listen_overflows_per_second.has_value());
}

TEST(BreakdownCollector, ResetForgetsARetriedDump) {
    BreakdownOptions options;
    options.states = {TcpState::kTimeWait};
    BreakdownCollector collector(options);
    const auto first = diag_dump_of(repeat({.remote = "10.0.0.9"}, 3));
    DumpTally tally;
    ASSERT_TRUE(parse_inet_diag_datagram(first, kDumpSeq, tally, collector));
    collector.reset();
    DumpTally second_tally;
    const auto second = diag_dump_of(repeat({.remote = "10.0.0.1"}, 2));
    ASSERT_TRUE(parse_inet_diag_datagram(second, kDumpSeq, second_tally, collector));
    auto b = collector.finish(second_tally.counts, {});
    ASSERT_TRUE(b);
    ASSERT_EQ(b->states[0].peers.entries.size(), 1U);
    EXPECT_EQ(format_endpoint(b->states[0].peers.entries[0].key), "10.0.0.1");
    EXPECT_EQ(b->states[0].peers.entries[0].count, 2U);
}

TEST(BreakdownCollector, ByProcessNamesOwnersAndCountsSocketsWithoutOwner) {
    FakeProc proc;
    proc.process(4242, "leaky-app",
                 {"socket:[1001]", "socket:[1002]", "socket:[1003]", "pipe:[5]", "/dev/null",
                  "socket:[9999]"});
    proc.process(77, "other", {"socket:[1004]"});
    std::filesystem::create_directories(proc.root() / "self");  // not a pid: ignored
    std::vector<Sock> socks;
    for (std::uint32_t inode : {1001U, 1002U, 1003U}) {
        socks.push_back(close_wait(7070, 50000, inode));
    }
    socks.push_back(close_wait(7071, 50001, 1004));
    socks.push_back(close_wait(7070, 50002, 0));
    socks.push_back(close_wait(7070, 50003, 5555));
    BreakdownOptions options;
    options.states = {TcpState::kCloseWait};
    options.by_process = true;
    options.proc_root = proc.root();
    const Breakdown b = run(socks, options);
    const StateBreakdown* cw = b.find(TcpState::kCloseWait);
    ASSERT_NE(cw, nullptr);
    ASSERT_TRUE(cw->processes.has_value());
    const ProcessBreakdown& p = *cw->processes;
    ASSERT_EQ(p.owners.size(), 2U);
    EXPECT_EQ(p.owners[0].pid, 4242);
    EXPECT_EQ(p.owners[0].comm, "leaky-app");
    EXPECT_EQ(p.owners[0].local_port, 7070);
    EXPECT_EQ(p.owners[0].count, 3U);
    EXPECT_DOUBLE_EQ(p.owners[0].share, 0.5);
    EXPECT_EQ(p.owners[1].pid, 77);
    EXPECT_EQ(p.owners[1].local_port, 7071);
    EXPECT_EQ(p.sockets_examined, 5U);
    EXPECT_EQ(p.without_owner, 1U);
    EXPECT_EQ(p.unmatched, 1U);  // inode 5555 is in no fd table
    EXPECT_FALSE(p.capped);
    EXPECT_EQ(p.processes_scanned, 2U);
}

TEST(BreakdownCollector, ByProcessInodeCollectionIsCappedAndSaysSo) {
    FakeProc proc;
    proc.process(10, "app", {"socket:[1]", "socket:[2]", "socket:[3]"});
    std::vector<Sock> socks;
    for (std::uint32_t inode = 1; inode <= 3; ++inode) {
        socks.push_back({.kernel_state = 1, .local_port = 80, .inode = inode});
    }
    BreakdownOptions options;
    options.states = {TcpState::kEstablished};
    options.by_process = true;
    options.max_process_inodes = 2;
    options.proc_root = proc.root();
    const Breakdown b = run(socks, options);
    const auto& p = *b.states[0].processes;
    EXPECT_TRUE(p.capped);
    EXPECT_EQ(p.sockets_examined, 2U);
    ASSERT_EQ(p.owners.size(), 1U);
    EXPECT_EQ(p.owners[0].count, 2U);
}

TEST(BreakdownCollector, ByProcessFailsWhenProcCannotBeListed) {
    BreakdownOptions options;
    options.states = {TcpState::kCloseWait};
    options.by_process = true;
    options.proc_root = "/nonexistent/proc";
    BreakdownCollector collector(options);
    auto b = collector.finish(StateCounts{}, {});
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("/nonexistent/proc"), std::string::npos);
}

TEST(BreakdownJson, NamesPeersPortsProcessesAndListenQueues) {
    FakeProc proc;
    proc.process(31, "srv", {"socket:[77]"});
    std::vector<Sock> socks;
    append(socks, repeat({.remote = "127.0.0.2", .remote_port = 8080}, 3));
    socks.push_back({.kernel_state = 8, .local = "127.0.0.4", .local_port = 7070, .inode = 77});
    socks.push_back(listener("127.0.0.2", 9, 3, 2));
    BreakdownOptions options;
    options.states = {TcpState::kTimeWait, TcpState::kCloseWait};
    options.by_process = true;
    options.proc_root = proc.root();
    const auto j = breakdown_to_json(run(socks, options));
    EXPECT_EQ(j["states"]["time_wait"], 3);
    EXPECT_EQ(j["states"]["close_wait"], 1);
    ASSERT_EQ(j["breakdowns"].size(), 2U);
    const auto& tw = j["breakdowns"][0];
    EXPECT_EQ(tw["state"], "time_wait");
    EXPECT_EQ(tw["total"], 3);
    EXPECT_EQ(tw["peers"]["exact"], true);
    EXPECT_EQ(tw["peers"]["top"][0]["address"], "127.0.0.2");
    EXPECT_EQ(tw["peer_services"]["top"][0]["endpoint"], "127.0.0.2:8080");
    EXPECT_EQ(tw["peer_services"]["top"][0]["port"], 8080);
    EXPECT_EQ(tw["peer_services"]["top"][0]["count"], 3);
    EXPECT_DOUBLE_EQ(tw["peer_services"]["top"][0]["share"].get<double>(), 1.0);
    EXPECT_FALSE(tw["peers"]["top"][0].contains("error")) << "error only when approximate";
    EXPECT_FALSE(tw.contains("peer_prefixes"));
    const auto& cw = j["breakdowns"][1];
    EXPECT_EQ(cw["processes"]["top"][0]["pid"], 31);
    EXPECT_EQ(cw["processes"]["top"][0]["comm"], "srv");
    EXPECT_EQ(cw["processes"]["top"][0]["local_port"], 7070);
    EXPECT_EQ(cw["processes"]["top"][0]["count"], 1);
    EXPECT_NE(cw["hint"].get<std::string>().find("no sysctl fixes this"), std::string::npos);
    EXPECT_EQ(j["listen"]["filling"][0]["local"], "127.0.0.2:9");
    EXPECT_EQ(j["listen"]["filling"][0]["port"], 9);
    EXPECT_EQ(j["listen"]["filling"][0]["queued"], 3);
    EXPECT_EQ(j["listen"]["filling"][0]["syn_queue"], 0);
    EXPECT_EQ(j["listen"]["filling"][0]["backlog"], 2);
    EXPECT_EQ(j["listen"]["filling"][0]["full"], true);
    EXPECT_EQ(j["listen"]["filling"][0]["syn_queue_full"], false);
    EXPECT_FALSE(j.contains("destinations")) << "only when asked for";
    EXPECT_TRUE(j["listen"]["listen_overflows_per_second"].is_null());
    EXPECT_TRUE(j["hints"].is_array());
    EXPECT_TRUE(j["duration_seconds"].is_number());
}

}  // namespace
}  // namespace tcptune
