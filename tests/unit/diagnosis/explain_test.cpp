#include "tcptune/diagnosis/explain.hpp"

#include <gtest/gtest.h>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

TEST(Explain, EveryStateAndEverySysctlHasAnExplanation) {
    for (TcpState s : kAllTcpStates) {
        auto e = explain(state_name(s));
        ASSERT_TRUE(e.has_value()) << state_name(s);
        EXPECT_EQ(e->kind, Explanation::Kind::kState);
        EXPECT_FALSE(e->meaning.empty()) << state_name(s);
        EXPECT_FALSE(e->moved_by.empty()) << state_name(s);
    }
    for (const SysctlSpec& spec : all_sysctls()) {
        auto e = explain(spec.key);
        ASSERT_TRUE(e.has_value()) << spec.key;
        EXPECT_EQ(e->kind, Explanation::Kind::kSysctl);
        EXPECT_FALSE(e->moved_by.empty()) << spec.key << " has no hand-written text";
        for (const std::string& related : e->related) {
            EXPECT_TRUE(explain(related).has_value()) << spec.key << " -> " << related;
        }
    }
}

// The words, unwrapped (format_explanation wraps lines at 78 columns).
std::string all_text(const Explanation& e) {
    std::string out = e.title + " " + e.meaning + " " + e.moved_by + " " + e.valid_values;
    for (const std::string& m : e.myths) {
        out += " " + m;
    }
    return out;
}

TEST(Explain, TheClassicMythsAreThere) {
    const std::string tw = all_text(*explain("time_wait"));
    EXPECT_TRUE(contains(tw, "60 s")) << tw;
    EXPECT_TRUE(contains(tw, "tcp_fin_timeout"));
    EXPECT_TRUE(contains(tw, "4.12"));
    EXPECT_TRUE(contains(tw, "outgoing"));
    const std::string cw = all_text(*explain("CLOSE-WAIT"));
    EXPECT_TRUE(contains(cw, "no sysctl")) << cw;
    EXPECT_TRUE(contains(cw, "--by process"));
    const std::string ka = all_text(*explain("tcp_keepalive_time"));
    EXPECT_TRUE(contains(ka, "2 h 11 min 15 s")) << ka;
    const std::string printed = format_explanation(*explain("tcp_keepalive_time"));
    EXPECT_TRUE(contains(printed, "Values tcptune may set: an integer in 30..7200")) << printed;
    EXPECT_TRUE(contains(printed, "Common myths:\n  - Myth:")) << printed;
}

TEST(Explain, RemovedSysctlSaysWhy) {
    auto e = explain("tcp_tw_recycle");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->topic, "net.ipv4.tcp_tw_recycle");
    EXPECT_TRUE(contains(e->removed, "4.12"));
    EXPECT_TRUE(contains(e->removed, "NAT"));
    EXPECT_EQ(explanation_to_json(*e)["removed"], e->removed);
}

TEST(Explain, IndexesAndUnknownTopics) {
    auto sysctls = explain("sysctls");
    ASSERT_TRUE(sysctls.has_value());
    EXPECT_TRUE(contains(sysctls->meaning, "net.ipv4.tcp_synack_retries: an integer in 2..10"));
    EXPECT_TRUE(explain("states").has_value());
    EXPECT_FALSE(explain("nonsense").has_value());
    EXPECT_FALSE(explain("").has_value());
    const auto topics = explain_topics();
    EXPECT_EQ(topics.size(), 2 + kTcpStateCount + all_sysctls().size());
}

}  // namespace
}  // namespace tcptune
