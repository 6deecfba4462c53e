#include "fakes/fake_census.hpp"

#include <gtest/gtest.h>

namespace tcptune::test {
namespace {

TEST(FakeCensusSource, ReturnsScriptedSnapshotsThenRepeatsTheLast) {
    FakeCensusSource fake{snapshot_with({{TcpState::kTimeWait, 10}}),
                          snapshot_with({{TcpState::kTimeWait, 20}})};
    EXPECT_EQ(fake.poll()->counts[TcpState::kTimeWait], 10U);
    EXPECT_EQ(fake.poll()->counts[TcpState::kTimeWait], 20U);
    EXPECT_EQ(fake.poll()->counts[TcpState::kTimeWait], 20U);
    EXPECT_EQ(fake.poll_count(), 3U);
}

TEST(FakeCensusSource, ScriptsErrors) {
    FakeCensusSource fake;
    fake.push_error(Error{ErrorCode::kNetlink, "boom"});
    fake.push(snapshot_with({{TcpState::kCloseWait, 3}}));
    auto first = fake.poll();
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().message, "boom");
    EXPECT_EQ(fake.poll()->counts[TcpState::kCloseWait], 3U);
}

TEST(FakeCensusSource, UnscriptedPollIsAnError) {
    FakeCensusSource fake;
    EXPECT_FALSE(fake.poll());
}

}  // namespace
}  // namespace tcptune::test
