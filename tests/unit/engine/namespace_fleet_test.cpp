// The pieces of per-namespace profiles that need no namespace: a controller of
// another namespace refuses host-wide keys at load, and the census it is fed hands
// out each count once.
#include "tcptune/engine/namespace_fleet.hpp"

#include <gtest/gtest.h>

#include "fakes/controller_fixture.hpp"

namespace tcptune::test {
namespace {

class NamespaceControllerTest : public ControllerFixture {};

TEST_F(NamespaceControllerTest, RefusesHostWideKeysForAnotherNamespace) {
    write_profile("orphans",
                  "name: orphans\ndescription: d\nsysctls:\n  net.ipv4.tcp_fin_timeout: 30\n"
                  "  net.ipv4.tcp_max_orphans: 8192\n");
    ControllerConfig c = config();
    c.profile = "orphans";
    c.netns = "edge";
    applier_ = make_applier();
    Controller controller(census_, store_, clock_, *applier_, c);
    auto started = controller.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, ErrorCode::kInvalidProfile);
    EXPECT_NE(started.error().message.find("orphans.yaml:5:3"), std::string::npos)
        << started.error().message;
    EXPECT_NE(started.error().message.find("net.ipv4.tcp_max_orphans is host-wide"),
              std::string::npos);
    EXPECT_NE(started.error().message.find("namespace edge"), std::string::npos);

    // The same profile is fine for tcptuned's own namespace (the initial one, on a host).
    c.netns.clear();
    proc_.set("net.ipv4.tcp_max_orphans", "65536");
    Controller own(census_, store_, clock_, *applier_, c);
    EXPECT_TRUE(own.start());
}

TEST(FedCensusSource, HandsOutEachCountOnce) {
    FedCensusSource source;
    auto none = source.poll();
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ErrorCode::kNotFound);

    NamespaceCounts counts;
    counts.counts[TcpState::kTimeWait] = 7;
    counts.sockstat.tcp_tw = 7;
    source.feed(counts);
    auto snapshot = source.poll();
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(snapshot->counts[TcpState::kTimeWait], 7U);
    EXPECT_EQ(snapshot->sockstat.tcp_tw, 7U);
    EXPECT_FALSE(source.poll()) << "a count was used twice";

    source.feed_failure(Error{ErrorCode::kIo, "not counted"});
    auto failed = source.poll();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message, "not counted");
}

}  // namespace
}  // namespace tcptune::test
