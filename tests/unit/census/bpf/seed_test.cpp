// The bpf engine's arithmetic: per-CPU sums and the seeding window's accounting
// (nothing counted twice, nothing lost), on hand-made dumps and windows.
#include "tcptune/census/bpf/seed.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

constexpr std::uint8_t kEst = 1;
constexpr std::uint8_t kSynSent = 2;
constexpr std::uint8_t kFinWait1 = 4;
constexpr std::uint8_t kFinWait2 = 5;
constexpr std::uint8_t kTimeWait = 6;
constexpr std::uint8_t kClose = 7;
constexpr std::uint8_t kCloseWait = 8;
constexpr std::uint8_t kListen = 10;

inet_diag_msg message(std::uint64_t cookie, std::uint8_t state, std::uint8_t timer = 0) {
    inet_diag_msg msg{};
    msg.idiag_state = state;
    msg.idiag_timer = timer;
    msg.id.idiag_cookie[0] = static_cast<std::uint32_t>(cookie);
    msg.id.idiag_cookie[1] = static_cast<std::uint32_t>(cookie >> 32);
    return msg;
}

// Attributes as the kernel sends them: INET_DIAG_MARK (root), then for full
// sockets INET_DIAG_SHUTDOWN.
std::vector<std::byte> attributes(bool full_socket) {
    std::vector<std::byte> out;
    auto put = [&](std::uint16_t type, std::size_t payload) {
        const auto len = static_cast<std::uint16_t>(4 + payload);
        std::byte header[4];
        std::memcpy(header, &len, 2);
        std::memcpy(header + 2, &type, 2);
        out.insert(out.end(), header, header + 4);
        out.resize(out.size() + ((payload + 3) & ~std::size_t{3}));
    };
    put(INET_DIAG_MARK, 4);
    if (full_socket) {
        put(INET_DIAG_SHUTDOWN, 1);
    }
    return out;
}

void see(DumpCollector& dump, std::uint64_t cookie, std::uint8_t state, std::uint8_t timer = 0,
         bool full_socket = true) {
    const auto attrs = attributes(full_socket && timer != 3);
    dump(message(cookie, state, timer), *state_from_kernel(state), attrs);
}

TEST(BpfSeedTest, SumsPerCpuDeltasWithWrapAround) {
    // CPU 0 only ever adds, CPU 1 only ever subtracts: the sum is still exact.
    std::vector<std::int64_t> per_cpu(2 * kKernelStateSlots, 0);
    per_cpu[kEst] = 1'000'000;
    per_cpu[kKernelStateSlots + kEst] = -999'990;
    per_cpu[kListen] = 3;
    const auto sum = sum_per_cpu(per_cpu, 2);
    EXPECT_EQ(sum[kEst], 10);
    EXPECT_EQ(sum[kListen], 3);
    EXPECT_EQ(sum[kCloseWait], 0);

    std::vector<std::int64_t> wrapping = {INT64_MAX, INT64_MIN + 5};  // one slot, two CPUs
    wrapping.resize(2 * kKernelStateSlots);
    std::swap(wrapping[1], wrapping[kKernelStateSlots]);
    EXPECT_EQ(sum_per_cpu(wrapping, 2)[0], 4);
}

TEST(BpfSeedTest, CountedStatesAreTheFullSocketsADumpLists) {
    for (unsigned s : {1U, 2U, 3U, 4U, 5U, 8U, 9U, 10U, 11U}) {
        EXPECT_TRUE(bpf_counts_kernel_state(s)) << s;
    }
    for (unsigned s : {0U, 6U, 7U, 12U, 13U}) {
        EXPECT_FALSE(bpf_counts_kernel_state(s)) << s;
    }
    for (unsigned s = 0; s < 16; ++s) {
        EXPECT_EQ(bpf_counts_kernel_state(s), ((kBpfSeedStateMask >> s) & 1U) != 0) << s;
    }
}

TEST(BpfSeedTest, CollectorKeepsFullSocketsOnceEach) {
    DumpCollector dump;
    see(dump, 10, kEst);
    see(dump, 11, kEst);
    see(dump, 11, kEst);  // a resumed dump listed it twice
    see(dump, 12, kListen);
    see(dump, 13, kTimeWait, 3);  // timewait socket
    see(dump, 14, kFinWait2, 3);  // orphaned FIN_WAIT2 timewait socket
    see(dump, 15, kFinWait2);     // a full FIN_WAIT2 socket
    see(dump, 16, kClose);
    see(dump, 17, 3, 1, /*full_socket=*/false);  // a request socket, listed as SYN_RECV
    see(dump, 18, 3, 1);                         // a full child in SYN_RECV
    dump.finish();
    EXPECT_EQ(dump.sockets(), 5U);
    EXPECT_EQ(dump.counts()[3], 1);
    const auto counts = dump.counts();
    EXPECT_EQ(counts[kEst], 2);
    EXPECT_EQ(counts[kListen], 1);
    EXPECT_EQ(counts[kFinWait2], 1);
    EXPECT_EQ(counts[kTimeWait], 0);
    EXPECT_EQ(dump.state_of(12), kListen);
    EXPECT_FALSE(dump.state_of(13).has_value());
    EXPECT_FALSE(dump.state_of(99).has_value());

    dump.reset();  // a retried dump starts over
    dump.finish();
    EXPECT_EQ(dump.sockets(), 0U);
}

TEST(BpfSeedTest, FindsAttributesAndStopsAtMalformedOnes) {
    const auto full = attributes(true);
    EXPECT_TRUE(has_netlink_attribute(full, INET_DIAG_SHUTDOWN));
    EXPECT_TRUE(has_netlink_attribute(full, INET_DIAG_MARK));
    EXPECT_FALSE(has_netlink_attribute(attributes(false), INET_DIAG_SHUTDOWN));
    EXPECT_FALSE(has_netlink_attribute({}, INET_DIAG_SHUTDOWN));
    auto broken = full;
    const std::uint16_t too_long = 200;
    std::memcpy(broken.data(), &too_long, 2);  // runs past the end
    EXPECT_FALSE(has_netlink_attribute(broken, INET_DIAG_SHUTDOWN));
    const std::uint16_t too_short = 2;
    std::memcpy(broken.data(), &too_short, 2);
    EXPECT_FALSE(has_netlink_attribute(broken, INET_DIAG_SHUTDOWN));
}

TEST(BpfSeedTest, WindowSocketsReplaceWhatTheDumpSawOfThem) {
    DumpCollector dump;
    see(dump, 1, kEst);        // steady: no change during the window
    see(dump, 2, kEst);        // seen ESTABLISHED, then closed by the client
    see(dump, 3, kFinWait1);   // seen after its change to FIN_WAIT1
    see(dump, 4, kCloseWait);  // seen, then closed (cookie read at the change)
    dump.finish();
    const std::vector<WindowSocket> window = {
        {kEst, kFinWait1},     // cookie 2: the dump saw it before the change
        {kEst, kFinWait1},     // cookie 3: the dump saw it after the change
        {kCloseWait, kClose},  // cookie 4: gone
        {kClose, kSynSent},    // born during the window, cookie unknown: never dumped
        {kClose, kClose},      // born and gone during the window
    };
    const std::vector<std::uint64_t> cookies = {2, 3, 4};
    const auto exact = seeded_counts(dump, window, cookies);
    EXPECT_EQ(exact[kEst], 1);
    EXPECT_EQ(exact[kFinWait1], 2);
    EXPECT_EQ(exact[kCloseWait], 0);
    EXPECT_EQ(exact[kSynSent], 1);

    // At the freeze the window had not happened yet.
    const auto change = window_change(window);
    EXPECT_EQ(exact[kEst] - change[kEst], 3);
    EXPECT_EQ(exact[kFinWait1] - change[kFinWait1], 0);
    EXPECT_EQ(exact[kCloseWait] - change[kCloseWait], 1);
    EXPECT_EQ(exact[kSynSent] - change[kSynSent], 0);
}

TEST(BpfSeedTest, EngineCountsAddRequestAndTimewaitSockets) {
    KernelStateCounts full{};
    full[kEst] = 40;
    full[3] = 2;         // children in SYN_RECV
    full[kListen] = -1;  // a transient below zero clamps
    full[kClose] = 9;    // never reported
    const auto counts = engine_state_counts(full, 5, 7);
    EXPECT_EQ(counts[TcpState::kEstablished], 40U);
    EXPECT_EQ(counts[TcpState::kSynRecv], 7U);
    EXPECT_EQ(counts[TcpState::kListen], 0U);
    EXPECT_EQ(counts[TcpState::kTimeWait], 7U);
    EXPECT_EQ(counts[TcpState::kClose], 0U);
}

TEST(BpfSeedTest, DriftIsEngineMinusExactForCountedStates) {
    KernelStateCounts engine{};
    KernelStateCounts exact{};
    engine[kEst] = 12;
    exact[kEst] = 10;
    engine[kCloseWait] = 3;
    exact[kCloseWait] = 4;
    engine[kTimeWait] = 100;  // not a counted state: no drift reported
    const auto drift = drift_between(engine, exact);
    EXPECT_EQ(drift[state_index(TcpState::kEstablished)], 2);
    EXPECT_EQ(drift[state_index(TcpState::kCloseWait)], -1);
    EXPECT_EQ(drift[state_index(TcpState::kTimeWait)], 0);
}

TEST(BpfSeedTest, EngineViewOfADumpCountsEveryTimewaitSocketAsTimeWait) {
    EngineViewCounter view;
    view(message(1, kTimeWait, 3), TcpState::kTimeWait);
    view(message(2, kFinWait2, 3), TcpState::kFinWait2);  // ss: FIN-WAIT-2
    view(message(3, kFinWait2, 2), TcpState::kFinWait2);  // a full socket
    view(message(4, kClose), TcpState::kClose);
    view(message(5, 3, 1), TcpState::kSynRecv);  // a request socket
    EXPECT_EQ(view.counts[TcpState::kTimeWait], 2U);
    EXPECT_EQ(view.counts[TcpState::kFinWait2], 1U);
    EXPECT_EQ(view.counts[TcpState::kClose], 0U);
    EXPECT_EQ(view.counts[TcpState::kSynRecv], 1U);
    EXPECT_EQ(view.timewait_as_fin_wait2, 1U);
}

}  // namespace
}  // namespace tcptune
