#include "tcptune/census/tcp_state.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

TEST(TcpState, NamesRoundTripForEveryState) {
    for (TcpState s : kAllTcpStates) {
        auto parsed = parse_state(state_name(s));
        ASSERT_TRUE(parsed.has_value()) << state_name(s);
        EXPECT_EQ(*parsed, s);
    }
}

TEST(TcpState, ParseAcceptsSsSpelling) {
    EXPECT_EQ(parse_state("TIME-WAIT"), TcpState::kTimeWait);
    EXPECT_EQ(parse_state("Close-Wait"), TcpState::kCloseWait);
    EXPECT_EQ(parse_state("timewait"), std::nullopt);
    EXPECT_EQ(parse_state(""), std::nullopt);
}

TEST(TcpState, KernelNewSynRecvCountsAsSynRecv) {
    EXPECT_EQ(state_from_kernel(12), TcpState::kSynRecv);
    EXPECT_EQ(state_from_kernel(3), TcpState::kSynRecv);
    EXPECT_EQ(state_from_kernel(6), TcpState::kTimeWait);
    EXPECT_EQ(state_from_kernel(0), std::nullopt);
    EXPECT_EQ(state_from_kernel(13), std::nullopt);
}

}  // namespace
}  // namespace tcptune
