#include "tcptune/census/proc_net.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

constexpr const char* kSockstat =
    "sockets: used 11\n"
    "TCP: inuse 5 orphan 2 tw 300012 alloc 9 mem 216\n"
    "UDP: inuse 0 mem 0\n"
    "UDPLITE: inuse 0\n"
    "RAW: inuse 0\n"
    "FRAG: inuse 0 memory 0\n";

constexpr const char* kSockstat6 =
    "TCP6: inuse 7\n"
    "UDP6: inuse 0\n"
    "UDPLITE6: inuse 0\n";

// Shape of a real 6.x /proc/net/netstat, shortened, with the counters out of order.
constexpr const char* kNetstat =
    "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts ListenOverflows "
    "ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop TCPTimeWaitOverflow TCPHPHits\n"
    "TcpExt: 11 12 13 0 21 22 31 32 41 99\n"
    "IpExt: InNoRoutes InTruncatedPkts ListenOverflows\n"
    "IpExt: 0 0 777\n"
    "MPTcpExt: MPCapableSYNRX\n"
    "MPTcpExt: 0\n";

TEST(ProcNet, ParsesSockstatAndSockstat6) {
    auto s = parse_sockstat(kSockstat, kSockstat6);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->tcp_inuse, 5U);
    EXPECT_EQ(s->tcp_orphan, 2U);
    EXPECT_EQ(s->tcp_tw, 300012U);
    EXPECT_EQ(s->tcp_alloc, 9U);
    EXPECT_EQ(s->tcp_mem_pages, 216U);
    EXPECT_EQ(s->tcp6_inuse, 7U);
}

TEST(ProcNet, MissingSockstat6MeansNoIpv6) {
    auto s = parse_sockstat(kSockstat, "");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->tcp6_inuse, 0U);
}

TEST(ProcNet, SockstatWithoutTcpLineIsAnError) {
    auto s = parse_sockstat("sockets: used 1\nUDP: inuse 0 mem 0\n", kSockstat6);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kParse);
}

TEST(ProcNet, SockstatWithGarbageNumberIsAnError) {
    auto s = parse_sockstat("TCP: inuse 5 orphan x tw 0 alloc 1 mem 1\n", kSockstat6);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("orphan"), std::string::npos);
}

TEST(ProcNet, ParsesTcpExtCountersByName) {
    auto n = parse_netstat(kNetstat);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n->syncookies_sent, 11U);
    EXPECT_EQ(n->syncookies_recv, 12U);
    EXPECT_EQ(n->syncookies_failed, 13U);
    EXPECT_EQ(n->listen_overflows, 21U);  // not IpExt's field of the same name
    EXPECT_EQ(n->listen_drops, 22U);
    EXPECT_EQ(n->reqq_full_do_cookies, 31U);
    EXPECT_EQ(n->reqq_full_drop, 32U);
    EXPECT_EQ(n->timewait_overflows, 41U);
}

TEST(ProcNet, MissingTcpExtCounterIsNamed) {
    auto n = parse_netstat(
        "TcpExt: SyncookiesSent SyncookiesRecv\n"
        "TcpExt: 1 2\n");
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("ListenOverflows"), std::string::npos);
}

TEST(ProcNet, MismatchedTcpExtLinesAreAnError) {
    EXPECT_FALSE(parse_netstat("TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 1\n"));
    EXPECT_FALSE(parse_netstat("IpExt: InNoRoutes\nIpExt: 0\n"));
    EXPECT_FALSE(parse_netstat(""));
}

TEST(ProcNet, AbsentAndNonNumericCountersAreNamed) {
    auto missing = parse_snmp_tcp("Tcp: RtoAlgorithm OutSegs\nTcp: 1 5\n");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "snmp: Tcp lacks RetransSegs");
    auto bad = parse_snmp_tcp("Tcp: OutSegs RetransSegs\nTcp: many 5\n");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "snmp: Tcp OutSegs is not a number: 'many'");
    auto segments = parse_snmp_tcp("Tcp: MaxConn OutSegs RetransSegs\nTcp: -1 200 3\n");
    ASSERT_TRUE(segments) << segments.error().message;
    EXPECT_EQ(segments->out_segs, 200U);
    EXPECT_EQ(segments->retrans_segs, 3U);
}

class ProcNetFiles : public ::testing::Test {
  protected:
    void write(const char* name, const char* text) { std::ofstream(dir_ / name) << text; }
    test::TempDir temp_;
    const std::filesystem::path dir_ = temp_.path();
};

TEST_F(ProcNetFiles, ReadsFilesFromADirectory) {
    write("sockstat", kSockstat);
    write("sockstat6", kSockstat6);
    write("netstat", kNetstat);
    auto s = read_sockstat(dir_);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->tcp6_inuse, 7U);
    auto n = read_netstat(dir_);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n->listen_drops, 22U);
}

TEST_F(ProcNetFiles, MissingFilesAreClearErrors) {
    auto s = read_sockstat(dir_);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
    EXPECT_NE(s.error().message.find("sockstat"), std::string::npos);
    auto n = read_netstat(dir_);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, ErrorCode::kNotFound);
    EXPECT_NE(n.error().message.find((dir_ / "netstat").string()), std::string::npos);
}

TEST_F(ProcNetFiles, SockstatWithoutSockstat6IsFine) {
    write("sockstat", kSockstat);
    auto s = read_sockstat(dir_);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->tcp6_inuse, 0U);
}

TEST(ProcNet, SnmpTcpSegmentsForTheRetransmissionRatio) {
    // MaxConn is -1 on Linux: only the wanted columns are parsed as numbers.
    auto t = parse_snmp_tcp(
        "Ip: Forwarding DefaultTTL\nIp: 1 64\n"
        "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens InSegs OutSegs RetransSegs\n"
        "Tcp: 1 200 120000 -1 5 100 34180 1536\n");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->out_segs, 34180U);
    EXPECT_EQ(t->retrans_segs, 1536U);
    EXPECT_FALSE(parse_snmp_tcp("Tcp: RtoAlgorithm OutSegs\nTcp: 1 5\n"));
    EXPECT_FALSE(parse_snmp_tcp("Tcp: OutSegs RetransSegs\nTcp: 5\n"));
}

TEST(ProcNet, RateCountersAreOptionalInNetstat) {
    auto n = parse_netstat(kNetstat);
    ASSERT_TRUE(n);
    // The fixture predates them: absent, not zero.
    EXPECT_FALSE(n->abort_on_timeout.has_value());
    EXPECT_FALSE(n->syn_retrans.has_value());
}

TEST(ProcNet, TheRunningKernelsFilesParse) {
    // /proc/net is readable without root; this guards against format drift.
    auto s = read_sockstat();
    ASSERT_TRUE(s) << s.error().message;
    auto n = read_netstat();
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_TRUE(n->syn_retrans.has_value()) << "every supported kernel counts TCPSynRetrans";
    auto t = read_snmp_tcp();
    ASSERT_TRUE(t) << t.error().message;
}

}  // namespace
}  // namespace tcptune
