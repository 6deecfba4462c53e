#include "tcptune/profile/profile_loader.hpp"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/files.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;

TEST(ProfileLoader, ParsesTheIssueExample) {
    // tests/data/profiles/valid/web-example.yaml is the example the project started from.
    const std::string yaml = test::read_text(std::filesystem::path(TCPTUNE_TEST_DATA_DIR) /
                                             "profiles" / "valid" / "web-example.yaml");
    auto p = parse_profile(yaml, "web-example.yaml");
    ASSERT_TRUE(p.has_value()) << to_error(p.error()).message;
    EXPECT_EQ(p->name, "web-example");
    EXPECT_EQ(p->extends, "default");
    EXPECT_EQ(p->interval, 5s);
    ASSERT_EQ(p->sysctls.size(), 1U);
    EXPECT_EQ(p->sysctls[0].where.line, 6);
    ASSERT_EQ(p->rules.size(), 1U);
    const Rule& r = p->rules[0];
    EXPECT_EQ(r.when.metric.kind, Metric::Kind::kState);
    EXPECT_EQ(r.when.metric.state, TcpState::kTimeWait);
    EXPECT_EQ(r.when.above.value, 20000);
    EXPECT_EQ(r.when.polls, 3);
    EXPECT_EQ(r.clear.below.value, 10000);
    EXPECT_EQ(r.clear.polls, 6);
    EXPECT_EQ(r.cooldown, 5min);
    EXPECT_TRUE(r.revert);
    EXPECT_EQ(r.apply[0].value, "1");
    EXPECT_EQ(r.where.line, 8);
}

TEST(ProfileLoader, ClearDefaultsToBelowAboveForTheSamePolls) {
    auto p = parse_profile(
        "name: p\ndescription: d\nrules:\n  - name: r\n    when: { state: syn_recv, above: 50, "
        "for: 4 }\n    why: w\n",
        "p.yaml");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->rules[0].clear.below.value, 50);
    EXPECT_EQ(p->rules[0].clear.polls, 4);
    EXPECT_EQ(p->rules[0].cooldown, 0ms);
    EXPECT_FALSE(p->interval.has_value());
}

TEST(ProfileLoader, CollectsEveryErrorWithLineAndColumn) {
    auto p = parse_profile(R"(name: p
description: d
interval: 5
sysctls:
  net.ipv4.tcp_tw_recycle: 1
  net.ipv4.tcp_synack_retries: 50
rules:
  - name: r
    when: { state: time_weight, above: -1 }
    why: w
  - name: r
    when: { state: time_wait, above: 10 }
    why: w
)",
                           "p.yaml");
    ASSERT_FALSE(p.has_value());
    const auto& d = p.error();
    ASSERT_EQ(d.size(), 6U) << to_error(d).message;
    EXPECT_EQ(d[0].to_string().substr(0, 12), "p.yaml:3:11:");  // interval value
    EXPECT_NE(d[0].message.find("missing unit"), std::string::npos);
    EXPECT_EQ(d[1].where.line, 5);  // removed key, at the key
    EXPECT_EQ(d[1].where.column, 3);
    EXPECT_EQ(d[2].where.line, 6);  // out of bounds, at the value
    EXPECT_EQ(d[2].where.column, 32);
    EXPECT_NE(d[2].message.find("an integer in 2..10"), std::string::npos);
    EXPECT_EQ(d[3].where.line, 9);
    EXPECT_EQ(d[3].where.column, 20);  // "time_weight"
    EXPECT_EQ(d[4].where.line, 9);
    EXPECT_NE(d[4].message.find("negative"), std::string::npos);
    EXPECT_EQ(d[5].where.line, 11);
    EXPECT_NE(d[5].message.find("duplicate rule name 'r' (first defined at line 8)"),
              std::string::npos);
}

TEST(ProfileLoader, AcceptsStateSpellingsAndPairLists) {
    auto p = parse_profile(R"(name: p
description: d
sysctls:
  net.ipv4.ip_local_port_range: [ 20000, 60000 ]
rules:
  - name: r
    when: { state: TIME-WAIT, above: 1.5 }
    why: w
)",
                           "p.yaml");
    ASSERT_TRUE(p.has_value()) << to_error(p.error()).message;
    EXPECT_EQ(p->sysctls[0].value, "20000 60000");
    EXPECT_EQ(p->rules[0].when.metric.state, TcpState::kTimeWait);
    EXPECT_DOUBLE_EQ(p->rules[0].when.above.value, 1.5);
}

TEST(ProfileLoader, GarbageNeverThrows) {
    for (const char* text :
         {"", "[", "{a: [}", "name: [1, 2]", "---\n...\n", "*anchor", "!!binary x",
          "name: p\ndescription: d\nrules: [ [ [ ] ] ]", "\t\x01\xff"}) {
        auto p = parse_profile(text, "garbage.yaml");
        EXPECT_FALSE(p.has_value()) << text;
        if (!p) {
            EXPECT_FALSE(p.error().empty());
        }
    }
}

}  // namespace
}  // namespace tcptune

namespace tcptune {
namespace {

TEST(ProfileLoader, RejectsInvalidUtf8WithItsPosition) {
    // Profile text flows into JSON and D-Bus strings, which must be UTF-8.
    auto bad = parse_profile("name: p\ndescription: caf\xc3 x\n", "p.yaml");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error()[0].to_string().substr(0, 13), "p.yaml:2:17: ");
    EXPECT_NE(bad.error()[0].message.find("UTF-8"), std::string::npos);
    for (const char* text : {"name: p\ndescription: \xed\xa0\x80\n",         // a surrogate
                             "name: p\ndescription: \xc0\xaf\n",             // overlong '/'
                             "name: p\ndescription: \xf4\x90\x80\x80\n"}) {  // > U+10FFFF
        EXPECT_FALSE(parse_profile(text, "p.yaml").has_value()) << text;
    }
    auto good = parse_profile("name: p\ndescription: caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\n",
                              "p.yaml");
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(good->description, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
}

// Found by the fuzzer: yaml-cpp turned a NUL inside a scalar into bytes that are not
// UTF-8, and `profile show --json` then failed on the loaded description.
TEST(ProfileLoader, RejectsControlCharactersWithTheirPosition) {
    std::string with_nul = "name: p\ndescription: ";
    with_nul += '\0';
    with_nul += "N\t)\n";
    auto bad = parse_profile(with_nul, "p.yaml");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error()[0].to_string().substr(0, 13), "p.yaml:2:14: ");
    EXPECT_NE(bad.error()[0].message.find("control character 0x00"), std::string::npos)
        << bad.error()[0].message;
    for (const char* text : {"name: p\ndescription: a\x01b\n", "name: p\ndescription: a\x7f\n"}) {
        EXPECT_FALSE(parse_profile(text, "p.yaml").has_value()) << text;
    }
    // Tab, line feed and carriage return are YAML's own whitespace.
    EXPECT_TRUE(parse_profile("name: p\r\ndescription: a\tb\r\n", "p.yaml").has_value());
}

TEST(ProfileLoader, RejectsNestingThatWouldExhaustTheStack) {
    const std::string deep_flow = "name: p\ndescription: d\nrules: " + std::string(100000, '[');
    auto flow = parse_profile(deep_flow, "p.yaml");
    ASSERT_FALSE(flow.has_value());
    EXPECT_NE(flow.error()[0].message.find("nested deeper than 32 levels"), std::string::npos);
    EXPECT_EQ(flow.error()[0].where.line, 3);

    std::string dashes = "name: p\ndescription: d\nrules:\n";
    for (int i = 0; i < 50000; ++i) {
        dashes += "- ";
    }
    EXPECT_FALSE(parse_profile(dashes + "x\n", "p.yaml").has_value());

    std::string indented = "name: p\ndescription: d\nrules:\n";
    for (int i = 0; i < 200; ++i) {
        indented += std::string(static_cast<std::size_t>(i), ' ') + "k" + std::to_string(i) + ":\n";
    }
    EXPECT_FALSE(parse_profile(indented, "p.yaml").has_value());
    // Brackets inside quotes and comments are text, not nesting.
    auto quoted = parse_profile("name: p  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\ndescription: \"" +
                                    std::string(100, '[') + "\"\n",
                                "p.yaml");
    EXPECT_TRUE(quoted.has_value());
}

}  // namespace
}  // namespace tcptune
