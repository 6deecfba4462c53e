#include "tcptune/config/namespace_config.hpp"

#include <gtest/gtest.h>

#include "tcptune/config/daemon_config.hpp"

namespace tcptune {
namespace {

constexpr const char* kConfig = R"(namespaces:
  watch: all
  default_profile: none
  select:
    - name: "edge-*"
      profile: web-frontend
    - cgroup: "*kubepods*"
      profile: reverse-proxy
)";

NetnsInfo ns(std::string name, std::string cgroup = "", std::string ip_netns = "") {
    NetnsInfo info;
    info.name = std::move(name);
    info.cgroup = std::move(cgroup);
    info.ip_netns_name = std::move(ip_netns);
    return info;
}

TEST(NamespaceConfig, ParsesTheIssueExample) {
    auto options = parse_daemon_config(kConfig, "t.yaml");
    ASSERT_TRUE(options) << options.error().message;
    const auto& n = options->namespaces;
    EXPECT_EQ(n.watch, NetnsWatch::kAll);
    EXPECT_EQ(n.default_profile, "none");
    ASSERT_EQ(n.select.size(), 2U);
    EXPECT_EQ(n.select[0].field, NamespaceSelector::Field::kName);
    EXPECT_EQ(n.select[0].glob, "edge-*");
    EXPECT_EQ(n.select[1].field, NamespaceSelector::Field::kCgroup);
    EXPECT_EQ(n.select[1].profile, "reverse-proxy");
}

TEST(NamespaceConfig, DefaultsToTheHostOnly) {
    auto options = parse_daemon_config("interval: 5\n", "t.yaml");
    ASSERT_TRUE(options);
    EXPECT_EQ(options->namespaces.watch, NetnsWatch::kHost);
    EXPECT_EQ(options->namespaces.default_profile, "none");
    EXPECT_TRUE(options->namespaces.select.empty());
    EXPECT_EQ(options->namespaces.metrics_top_k, 50U);
}

TEST(NamespaceConfig, MetricsTopKFromOneToAThousand) {
    auto one = parse_daemon_config("namespaces:\n  watch: all\n  metrics_top_k: 1\n", "t.yaml");
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->namespaces.metrics_top_k, 1U);
    auto most = parse_daemon_config("namespaces:\n  metrics_top_k: 1000\n", "t.yaml");
    ASSERT_TRUE(most) << most.error().message;
    EXPECT_EQ(most->namespaces.metrics_top_k, 1000U);
}

TEST(NamespaceConfig, FirstMatchWinsThenTheDefault) {
    auto options = parse_daemon_config(kConfig, "t.yaml");
    ASSERT_TRUE(options);
    const auto& n = options->namespaces;
    EXPECT_EQ(select_namespace_profile(n, ns("edge-1", "/kubepods.slice/x")), "web-frontend");
    EXPECT_EQ(select_namespace_profile(n, ns("pod:abc", "/kubepods.slice/x")), "reverse-proxy");
    EXPECT_EQ(select_namespace_profile(n, ns("host")), "none");
    // An ip netns name matches name: even when the namespace is shown by another name.
    EXPECT_EQ(select_namespace_profile(n, ns("host", "", "edge-7")), "web-frontend");
}

TEST(NamespaceConfig, TheHostIsSelectedByNameOnlyUnderWatchAll) {
    auto parse = [](const std::string& yaml) {
        auto options = parse_daemon_config(yaml, "t.yaml");
        EXPECT_TRUE(options) << options.error().message;
        return options ? options->namespaces : NamespaceSettings{};
    };
    // The first name: selector matching "host" wins, before a later catch-all.
    EXPECT_EQ(host_selector_profile(parse("namespaces:\n  watch: all\n  select:\n"
                                          "    - name: \"edge-*\"\n      profile: a\n"
                                          "    - name: host\n      profile: node\n"
                                          "    - name: \"*\"\n      profile: b\n")),
              "node");
    EXPECT_EQ(host_selector_profile(parse("namespaces:\n  watch: all\n  select:\n"
                                          "    - name: \"h*\"\n      profile: none\n")),
              "none");
    // cgroup: never selects the host (a DaemonSet pod's own cgroup is *kubepods*).
    EXPECT_EQ(host_selector_profile(parse(kConfig)), std::nullopt);
    // No match: nullopt (the daemon's profile), not default_profile.
    EXPECT_EQ(host_selector_profile(parse("namespaces:\n  watch: all\n  default_profile: x\n")),
              std::nullopt);
    // watch: host: select is about other namespaces only.
    EXPECT_EQ(host_selector_profile(parse("namespaces:\n  watch: host\n  select:\n"
                                          "    - name: host\n      profile: node\n")),
              std::nullopt);
}

TEST(NamespaceConfig, ReloadCannotSwitchWatchButAnythingElse) {
    NamespaceSettings host;
    NamespaceSettings all;
    all.watch = NetnsWatch::kAll;
    auto up = check_namespaces_reload(host, all);
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().message,
              "namespaces.watch changed from host to all: needs a restart (nothing was reloaded)");
    auto down = check_namespaces_reload(all, host);
    ASSERT_FALSE(down);
    EXPECT_NE(down.error().message.find("from all to host: needs a restart"), std::string::npos);
    NamespaceSettings changed = all;
    changed.default_profile = "observe";
    changed.select.push_back({NamespaceSelector::Field::kName, "edge-*", "none"});
    changed.metrics_top_k = 3;
    EXPECT_TRUE(check_namespaces_reload(all, changed));
    EXPECT_EQ(selector_profile(changed, ns("edge-1")), "none");
    EXPECT_EQ(selector_profile(changed, ns("core-1")), std::nullopt);
}

struct BadConfig {
    const char* yaml;
    const char* where_and_what;
};

class NamespaceConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(NamespaceConfigErrors, NameLineAndColumn) {
    auto parsed = parse_daemon_config(GetParam().yaml, "t.yaml");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
    EXPECT_NE(parsed.error().message.find(GetParam().where_and_what), std::string::npos)
        << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, NamespaceConfigErrors,
    ::testing::Values(
        BadConfig{"namespaces:\n  watch: some\n", "t.yaml:2:10: "},
        BadConfig{"namespaces:\n  watched: all\n",
                  "t.yaml:2:3: unknown setting \"namespaces.watched\""},
        BadConfig{"namespaces: all\n", "t.yaml:1:13: namespaces must be a mapping"},
        BadConfig{"namespaces:\n  select:\n    - name: a\n",
                  "t.yaml:3:7: a namespaces.select entry needs profile:"},
        BadConfig{"namespaces:\n  select:\n    - name: a\n      cgroup: b\n      profile: x\n",
                  "t.yaml:3:7: a namespaces.select entry needs exactly one of name: or cgroup:"},
        BadConfig{"namespaces:\n  select:\n    - pod: a\n      profile: x\n",
                  "t.yaml:3:7: unknown key \"pod\""},
        BadConfig{"namespaces:\n  select: edge\n", "t.yaml:2:11: namespaces.select must be a list"},
        BadConfig{"namespaces:\n  metrics_top_k: 0\n",
                  "t.yaml:2:18: namespaces.metrics_top_k must be a whole number 1..1000"},
        BadConfig{"namespaces:\n  metrics_top_k: 1001\n",
                  "t.yaml:2:18: namespaces.metrics_top_k must be a whole number 1..1000"},
        BadConfig{"namespaces:\n  metrics_top_k: -3\n", "t.yaml:2:18: namespaces.metrics_top_k"},
        BadConfig{"namespaces:\n  metrics_top_k: many\n", "t.yaml:2:18: namespaces.metrics_top_k"},
        BadConfig{"namespaces:\n  default_profile: \"\"\n",
                  "t.yaml:2:20: namespaces.default_profile must be"}));

}  // namespace
}  // namespace tcptune
