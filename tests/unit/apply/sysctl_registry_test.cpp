#include "tcptune/apply/sysctl_registry.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

TEST(SysctlRegistry, ContainsEveryKeyTheIssueNames) {
    for (const char* key :
         {"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_syncookies",
          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_synack_retries",
          "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_max_tw_buckets",
          "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_retries2",
          "net.ipv4.tcp_abort_on_overflow", "net.core.somaxconn", "net.ipv4.ip_local_port_range"}) {
        const SysctlSpec* spec = find_sysctl(key);
        ASSERT_NE(spec, nullptr) << key;
        EXPECT_FALSE(spec->removed()) << key;
        EXPECT_FALSE(spec->summary.empty()) << key;
        EXPECT_FALSE(spec->kernel_default.empty()) << key;
    }
}

TEST(SysctlRegistry, KeysAreUniqueAndIterable) {
    std::set<std::string> seen;
    for (const SysctlSpec& spec : all_sysctls()) {
        EXPECT_TRUE(seen.insert(std::string(spec.key)).second) << spec.key;
    }
    EXPECT_GE(seen.size(), 17U);
}

TEST(SysctlRegistry, NumericKernelDefaultsAreWithinTheirOwnBounds) {
    // A default that the registry would itself refuse means the bounds are wrong.
    for (const SysctlSpec& spec : all_sysctls()) {
        if (spec.removed() || !parse_sysctl_integers(spec.kernel_default)) {
            continue;
        }
        EXPECT_TRUE(validate_value_for(spec, spec.kernel_default).has_value()) << spec.key;
    }
}

TEST(SysctlRegistry, UnknownKeyIsRejectedWithAHint) {
    EXPECT_EQ(find_sysctl("net.ipv4.tcp_nonsense"), nullptr);
    auto r = validate_sysctl_value("tcp_tw_reuse", "1");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidProfile);
    EXPECT_NE(r.error().message.find("unknown sysctl"), std::string::npos);
    EXPECT_NE(r.error().message.find("did you mean net.ipv4.tcp_tw_reuse"), std::string::npos);

    auto typo = validate_sysctl_value("net.ipv4.tcp_fin_timout", "30");
    ASSERT_FALSE(typo.has_value());
    EXPECT_NE(typo.error().message.find("net.ipv4.tcp_fin_timeout"), std::string::npos);
}

TEST(SysctlRegistry, TwRecycleIsRefusedWithTheReason) {
    const SysctlSpec* spec = find_sysctl("net.ipv4.tcp_tw_recycle");
    ASSERT_NE(spec, nullptr);
    EXPECT_TRUE(spec->removed());
    auto r = validate_sysctl_value("net.ipv4.tcp_tw_recycle", "0");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("4.12"), std::string::npos);
    EXPECT_NE(r.error().message.find("NAT"), std::string::npos);
}

TEST(SysctlRegistry, EnumAcceptsOnlyAllowedValues) {
    EXPECT_EQ(validate_sysctl_value("net.ipv4.tcp_tw_reuse", "0").value(), "0");
    EXPECT_EQ(validate_sysctl_value("net.ipv4.tcp_tw_reuse", "2").value(), "2");
    auto r = validate_sysctl_value("net.ipv4.tcp_tw_reuse", "3");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("one of 0, 1 or 2"), std::string::npos);
    EXPECT_FALSE(validate_sysctl_value("net.ipv4.tcp_abort_on_overflow", "2").has_value());
}

TEST(SysctlRegistry, IntBoundsAreConservative) {
    struct Case {
        const char* key;
        const char* value;
        bool accepted;
    };
    const Case cases[] = {
        // Fewer than 2 SYN-ACK retransmissions fails clients on any lossy link.
        {"net.ipv4.tcp_synack_retries", "1", false},
        {"net.ipv4.tcp_synack_retries", "2", true},
        {"net.ipv4.tcp_synack_retries", "10", true},
        {"net.ipv4.tcp_synack_retries", "11", false},
        // RFC 1122's 100 s is tcp_retries2 = 8 (ip-sysctl.rst); 5 gives up after ~12.6 s.
        {"net.ipv4.tcp_retries2", "5", false},
        {"net.ipv4.tcp_retries2", "7", false},
        {"net.ipv4.tcp_retries2", "8", true},
        {"net.ipv4.tcp_keepalive_probes", "0", false},
        {"net.ipv4.tcp_keepalive_probes", "127", true},
        {"net.ipv4.tcp_keepalive_probes", "128", false},
    };
    for (const Case& c : cases) {
        const auto r = validate_sysctl_value(c.key, c.value);
        EXPECT_EQ(r.has_value(), c.accepted) << c.key << " = " << c.value;
        if (r && c.accepted) {
            EXPECT_EQ(*r, c.value);
        }
    }
    auto r = validate_sysctl_value("net.ipv4.tcp_fin_timeout", "-1");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("an integer in 5..120"), std::string::npos);
}

TEST(SysctlRegistry, RejectsNonNumbersAndWrongArity) {
    for (const char* bad : {"thirty", "", "30 40", "3.5", "99999999999999999999999"}) {
        EXPECT_FALSE(validate_sysctl_value("net.ipv4.tcp_fin_timeout", bad).has_value()) << bad;
    }
    EXPECT_FALSE(validate_sysctl_value("net.ipv4.ip_local_port_range", "10000").has_value());
}

TEST(SysctlRegistry, PortRangeNeedsLowBelowHighWithinBounds) {
    EXPECT_EQ(validate_sysctl_value("net.ipv4.ip_local_port_range", "1024\t65535\n").value(),
              "1024 65535");
    for (const char* bad : {"60000 30000", "80 60000", "1024 70000", "40000 40500"}) {
        EXPECT_FALSE(validate_sysctl_value("net.ipv4.ip_local_port_range", bad).has_value()) << bad;
    }
    auto r = validate_sysctl_value("net.ipv4.ip_local_port_range", "5000 4000");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("LOW must be below HIGH"), std::string::npos);
}

TEST(SysctlRegistry, NormalizeCollapsesWhitespace) {
    EXPECT_EQ(normalize_sysctl_value("32768\t60999\n"), "32768 60999");
    EXPECT_EQ(normalize_sysctl_value("  1  "), "1");
    EXPECT_EQ(normalize_sysctl_value(""), "");
    // Canonical form drops leading zeros so a plan compares equal to /proc/sys.
    EXPECT_EQ(validate_sysctl_value("net.core.somaxconn", " 0200 ").value(), "200");
}

TEST(SysctlRegistry, ProcPathAndIntegers) {
    EXPECT_EQ(sysctl_proc_path("net.ipv4.tcp_tw_reuse"), "/proc/sys/net/ipv4/tcp_tw_reuse");
    EXPECT_EQ(sysctl_proc_path("net.core.somaxconn"), "/proc/sys/net/core/somaxconn");
    auto pair = parse_sysctl_integers("32768\t60999");
    ASSERT_TRUE(pair.has_value());
    EXPECT_EQ(pair->size(), 2U);
    EXPECT_EQ((*pair)[1], 60999);
    EXPECT_FALSE(parse_sysctl_integers("1 x").has_value());
}

}  // namespace
}  // namespace tcptune
