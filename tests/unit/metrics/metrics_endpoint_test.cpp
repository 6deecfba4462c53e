#include "tcptune/metrics/metrics_endpoint.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

TEST(MetricsEndpoint, NoneDisablesTheExporter) {
    const auto parsed = parse_metrics_endpoint("none");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_FALSE(parsed->has_value());
}

TEST(MetricsEndpoint, DefaultIsLoopbackIpv4) {
    const auto parsed = parse_metrics_endpoint("127.0.0.1:9477");
    ASSERT_TRUE(parsed.has_value() && parsed->has_value());
    EXPECT_EQ((*parsed)->host, "127.0.0.1");
    EXPECT_EQ((*parsed)->port, 9477);
    EXPECT_FALSE((*parsed)->ipv6);
    EXPECT_EQ((*parsed)->to_string(), "127.0.0.1:9477");
}

TEST(MetricsEndpoint, BracketedIpv6RoundTrips) {
    const auto parsed = parse_metrics_endpoint("[::1]:9100");
    ASSERT_TRUE(parsed.has_value() && parsed->has_value());
    EXPECT_EQ((*parsed)->host, "::1");
    EXPECT_TRUE((*parsed)->ipv6);
    EXPECT_EQ((*parsed)->to_string(), "[::1]:9100");
}

TEST(MetricsEndpoint, Ipv6WildcardAndFullAddresses) {
    for (const auto& [text, host] :
         {std::pair{"[::]:9477", "::"}, std::pair{"[2001:db8::17]:80", "2001:db8::17"},
          std::pair{"[::ffff:127.0.0.1]:9477", "::ffff:127.0.0.1"}}) {
        const auto parsed = parse_metrics_endpoint(text);
        ASSERT_TRUE(parsed.has_value() && parsed->has_value()) << text;
        EXPECT_EQ((*parsed)->host, host);
        EXPECT_TRUE((*parsed)->ipv6);
        EXPECT_EQ((*parsed)->to_string(), text);
    }
}

TEST(MetricsEndpoint, PortZeroIsAllowedForAKernelChosenPort) {
    const auto parsed = parse_metrics_endpoint("0.0.0.0:0");
    ASSERT_TRUE(parsed.has_value() && parsed->has_value());
    EXPECT_EQ((*parsed)->port, 0);
}

TEST(MetricsEndpoint, RejectsWhatCivetwebWouldMisread) {
    for (const char* bad : {"", "9477", ":9477", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                            "127.0.0.1:94x7", "127.0.0.1:-1", "localhost:9477", "::1:9477",
                            "[127.0.0.1]:9477", "[::1:9477", "127.0.0.1:9477s"}) {
        const auto parsed = parse_metrics_endpoint(bad);
        ASSERT_FALSE(parsed.has_value()) << "accepted '" << bad << "'";
        EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
        EXPECT_NE(parsed.error().message.find("HOST:PORT"), std::string::npos)
            << parsed.error().message;
    }
}

TEST(MetricsEndpoint, ErrorSaysWhyHostNamesFail) {
    const auto parsed = parse_metrics_endpoint("localhost:9477");
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("not resolved"), std::string::npos)
        << parsed.error().message;
}

}  // namespace
}  // namespace tcptune
