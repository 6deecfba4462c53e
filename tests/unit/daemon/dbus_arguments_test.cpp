#include "dbus_arguments.hpp"

#include <string>

#include <gtest/gtest.h>

#include "tcptune/diagnosis/diagnosis.hpp"

namespace tcptune::daemon {
namespace {

TEST(DbusArguments, GetTopDefaultsAndBounds) {
    auto defaults = parse_top_arguments("", "", 0);
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->state, TcpState::kTimeWait);
    EXPECT_EQ(defaults->view, TopView::kPort);
    EXPECT_EQ(defaults->rows, 10U);
    auto most = parse_top_arguments("close_wait", "process", kMaxTopLimit);
    ASSERT_TRUE(most);
    EXPECT_TRUE(most->by_process);
    EXPECT_EQ(most->rows, kMaxTopLimit);
    // 4294967295 ended in std::bad_alloc once.
    for (std::uint32_t limit : {1001U, 4294967295U}) {
        auto refused = parse_top_arguments("time_wait", "port", limit);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, ErrorCode::kParse);
        EXPECT_NE(refused.error().message.find("out of range"), std::string::npos);
    }
}

TEST(DbusArguments, RefusalsQuoteOnlyAShortPrefixOfTheInput) {
    const std::string huge(1 << 20, 'x');
    auto state = parse_top_arguments(huge, "port", 10);
    ASSERT_FALSE(state);
    EXPECT_LT(state.error().message.size(), 128U);
    auto view = parse_top_arguments("time_wait", huge, 10);
    ASSERT_FALSE(view);
    EXPECT_LT(view.error().message.size(), 160U);
    EXPECT_FALSE(check_profile_name(huge));
    EXPECT_EQ(quoted_argument(huge).size(), 64U + 5U);
}

TEST(DbusArguments, ProfileNamesAreNamesNotPaths) {
    EXPECT_TRUE(check_profile_name("web-frontend"));
    EXPECT_TRUE(check_profile_name(""));
    for (const char* bad : {"/etc/shadow", "../x", "web.yaml", "a\nb"}) {
        EXPECT_FALSE(check_profile_name(bad)) << bad;
    }
}

}  // namespace
}  // namespace tcptune::daemon

namespace tcptune::daemon {
namespace {

TEST(DbusArguments, NamespaceTopTakesOneNamespaceByNameInodeOrPidNeverAPath) {
    EXPECT_TRUE(check_netns_argument("host"));
    EXPECT_TRUE(check_netns_argument("pod:0c1e7a52-3e0b-4cfa-9d0b-4b9c3e2f1a77"));
    EXPECT_TRUE(check_netns_argument("4026532178"));
    EXPECT_TRUE(check_netns_argument("1234"));
    for (const std::string& bad :
         {std::string(), std::string("all"), std::string("/etc/shadow"),
          std::string("../run/netns/x"), std::string("a\nb"), std::string(300, 'x')}) {
        const auto refused = check_netns_argument(bad);
        ASSERT_FALSE(refused) << bad;
        EXPECT_EQ(refused.error().code, ErrorCode::kParse);
        EXPECT_LT(refused.error().message.size(), 160U);
    }
}

}  // namespace
}  // namespace tcptune::daemon
