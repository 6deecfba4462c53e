#include "tcptune/diagnosis/explain.hpp"

#include <map>
#include <ostream>

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

// A phrase a topic's explanation must contain (in its words, unwrapped).
struct TopicSays {
    const char* topic;
    const char* phrase;
};

void PrintTo(const TopicSays& t, std::ostream* os) {
    *os << t.topic << " says \"" << t.phrase << "\"";
}

class ExplainSays : public ::testing::TestWithParam<TopicSays> {};

TEST_P(ExplainSays, ThePhrase) {
    const std::string text = all_text(*explain(GetParam().topic));
    EXPECT_TRUE(contains(text, GetParam().phrase)) << text;
}

constexpr TopicSays kClassicMyths[] = {
    {"time_wait", "60 s"},
    {"time_wait", "tcp_fin_timeout"},
    {"time_wait", "4.12"},
    {"time_wait", "outgoing"},
    {"CLOSE-WAIT", "no sysctl"},
    {"CLOSE-WAIT", "--by process"},
    {"tcp_keepalive_time", "2 h 11 min 15 s"},
};
INSTANTIATE_TEST_SUITE_P(TheClassicMythsAreThere, ExplainSays, ::testing::ValuesIn(kClassicMyths));

TEST(Explain, TheClassicMythsArePrinted) {
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
    EXPECT_EQ(topics.size(), 2 + kTcpStateCount + all_sysctls().size() + 3);
    for (const std::string& t : topics) {
        EXPECT_TRUE(explain(t).has_value()) << t;
    }
}

constexpr TopicSays kTheKernelsSynQueueModel[] = {
    {"syn_recv", "min(listen() backlog, net.core.somaxconn)"},
    {"syn_recv", "tcp_max_syn_backlog is read only with tcp_syncookies=0"},
    {"tcp_max_syn_backlog", "Read only with tcp_syncookies=0"},
    {"listen", "ListenOverflows rises (it counts both)"},
    {"listen", "also counts SYNs dropped because the accept queue was full"},
    {"time_wait", "since Linux 4.18"},
    {"tcp_keepalive_time", "probes do reach CLOSE_WAIT sockets"},
    {"tcp_retries2", "about 12.6 s"},
};
INSTANTIATE_TEST_SUITE_P(TheSynQueueModelIsTheKernels, ExplainSays,
                         ::testing::ValuesIn(kTheKernelsSynQueueModel));

TEST(Explain, NewTopicsAndScope) {
    EXPECT_EQ(explain("so_linger")->kind, Explanation::Kind::kTopic);
    EXPECT_TRUE(contains(all_text(*explain("so_linger")), "RST"));
    EXPECT_TRUE(contains(all_text(*explain("tcp_user_timeout")), "heartbeat"));
    EXPECT_EQ(explain("net.ipv4.tcp_retries1")->topic, "tcp_retries1");
    EXPECT_TRUE(contains(all_text(*explain("ip_local_reserved_ports")), "listen"));
    EXPECT_EQ(explain("tcp_max_orphans")->scope, "global");
    EXPECT_EQ(explain("tcp_tw_reuse")->scope, "netns");
    EXPECT_TRUE(contains(format_explanation(*explain("tcp_max_orphans")), "Scope: global"));
}

TEST(Explain, FollowsTheRunningKernel) {
    std::map<std::string, std::string> values = {{"net.ipv4.tcp_syn_retries", "6"},
                                                 {"net.ipv4.tcp_syn_linear_timeouts", "4"},
                                                 {"net.ipv4.tcp_tw_reuse", "2"},
                                                 {"net.ipv4.tcp_tw_reuse_delay", "1000"},
                                                 {"net.ipv4.tcp_syncookies", "1"}};
    auto live = [&values](std::string_view key) -> std::optional<std::string> {
        auto it = values.find(std::string(key));
        return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    auto syn = explain("tcp_syn_retries", live);
    ASSERT_FALSE(syn->this_kernel.empty());
    EXPECT_TRUE(contains(syn->this_kernel.front(), "fails after about 131 s"))
        << syn->this_kernel.front();
    // A kernel without tcp_syn_linear_timeouts: the plain exponential 127 s.
    values.erase("net.ipv4.tcp_syn_linear_timeouts");
    syn = explain("tcp_syn_retries", live);
    EXPECT_TRUE(contains(syn->this_kernel.front(), "fails after about 127 s"));
    auto reuse = explain("tcp_tw_reuse", live);
    EXPECT_TRUE(contains(reuse->this_kernel[1], "tcp_tw_reuse_delay = 1000 ms"))
        << reuse->this_kernel[1];
    values.erase("net.ipv4.tcp_tw_reuse_delay");
    reuse = explain("tcp_tw_reuse", live);
    EXPECT_TRUE(contains(reuse->this_kernel[1], "no tcp_tw_reuse_delay"));
    auto backlog = explain("tcp_max_syn_backlog", live);
    EXPECT_TRUE(contains(backlog->this_kernel.front(), "tcp_max_syn_backlog is not read"));
    values["net.ipv4.tcp_syncookies"] = "0";
    backlog = explain("tcp_max_syn_backlog", live);
    EXPECT_TRUE(contains(backlog->this_kernel.front(), "tcp_max_syn_backlog applies"));
    EXPECT_TRUE(explain("tcp_syn_retries")->this_kernel.empty()) << "no reader, no guesses";
}

}  // namespace
}  // namespace tcptune
