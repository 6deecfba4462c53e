#include "tcptune/profile/profile_writer.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "tcptune/profile/profile_loader.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

const fs::path kShipped = fs::path(TCPTUNE_SOURCE_DIR) / "profiles";

// Printing a resolved profile and parsing the text back gives the same profile:
// what `tcptune profile show` prints is a profile the operator can copy and edit.
TEST(ProfileWriter, ResolvedShippedProfilesRoundTrip) {
    for (const char* name :
         {"default", "web-frontend", "reverse-proxy", "database", "syn-flood-guard"}) {
        auto resolved = resolve_profile(name, {kShipped});
        ASSERT_TRUE(resolved.has_value()) << name;
        const std::string yaml = profile_to_yaml(*resolved);
        auto reparsed = parse_profile(yaml, "printed.yaml");
        ASSERT_TRUE(reparsed.has_value()) << yaml << "\n" << to_error(reparsed.error()).message;
        EXPECT_EQ(reparsed->name, resolved->name);
        EXPECT_EQ(reparsed->description, resolved->description);
        EXPECT_EQ(reparsed->interval, resolved->interval);
        ASSERT_EQ(reparsed->rules.size(), resolved->rules.size()) << name;
        for (std::size_t i = 0; i < resolved->rules.size(); ++i) {
            const Rule& a = resolved->rules[i];
            const Rule& b = reparsed->rules[i];
            EXPECT_EQ(a.name, b.name);
            EXPECT_EQ(a.when, b.when) << name << " " << a.name;
            EXPECT_EQ(a.clear, b.clear) << name << " " << a.name;
            EXPECT_EQ(a.cooldown, b.cooldown);
            EXPECT_EQ(a.revert, b.revert);
            EXPECT_EQ(a.why, b.why);
            ASSERT_EQ(a.apply.size(), b.apply.size());
            for (std::size_t k = 0; k < a.apply.size(); ++k) {
                EXPECT_EQ(a.apply[k].key, b.apply[k].key);
                EXPECT_EQ(a.apply[k].value, b.apply[k].value);
            }
        }
        ASSERT_EQ(reparsed->sysctls.size(), resolved->sysctls.size());
        EXPECT_NE(yaml.find("# resolved profile: " + std::string(name)), std::string::npos);
    }
}

// `profile show --origins`: every sysctl and rule says file:line, and the text
// still loads as a profile (the origins are YAML comments).
TEST(ProfileWriter, OriginsNameTheFileAndLineOfEverySettingAndRule) {
    auto resolved = resolve_profile("web-frontend", {kShipped});
    ASSERT_TRUE(resolved.has_value());
    const std::string yaml = profile_to_yaml(*resolved, {.origins = true});
    for (const SysctlSetting& s : resolved->sysctls) {
        const std::string line =
            s.key + ": " + s.value + "  # " + s.where.file + ":" + std::to_string(s.where.line);
        EXPECT_NE(yaml.find(line), std::string::npos) << line << "\n" << yaml;
    }
    for (const Rule& r : resolved->rules) {
        const std::string line = "name: " + r.name + "  # profile " + r.defined_in + ", " +
                                 r.where.file + ":" + std::to_string(r.where.line);
        EXPECT_NE(yaml.find(line), std::string::npos) << line << "\n" << yaml;
    }
    for (const std::string& source : resolved->sources) {
        EXPECT_NE(yaml.find(source), std::string::npos) << source;
    }
    auto reparsed = parse_profile(yaml, "printed.yaml");
    ASSERT_TRUE(reparsed.has_value()) << yaml << "\n" << to_error(reparsed.error()).message;
    EXPECT_EQ(reparsed->rules.size(), resolved->rules.size());
    EXPECT_EQ(profile_to_yaml(*resolved).find("  # "), std::string::npos)
        << "origins only when asked";

    const nlohmann::json j = profile_to_json(*resolved, {.origins = true});
    for (const SysctlSetting& s : resolved->sysctls) {
        EXPECT_EQ(j["origins"]["sysctls"][s.key],
                  s.where.file + ":" + std::to_string(s.where.line));
    }
    ASSERT_FALSE(resolved->rules.empty());
    const Rule& first = resolved->rules.front();
    EXPECT_EQ(j["origins"]["rules"][first.name],
              first.where.file + ":" + std::to_string(first.where.line));
    EXPECT_FALSE(profile_to_json(*resolved).contains("origins"));
}

TEST(ProfileWriter, JsonCarriesLineageAndRules) {
    auto resolved = resolve_profile("syn-flood-guard", {kShipped});
    ASSERT_TRUE(resolved.has_value());
    const nlohmann::json j = profile_to_json(*resolved);
    EXPECT_EQ(j["name"], "syn-flood-guard");
    EXPECT_EQ(j["lineage"][1], "default");
    EXPECT_EQ(j["interval_seconds"], 1.0);
    EXPECT_EQ(j["verify_within"], 3);
    bool found = false;
    for (const auto& r : j["rules"]) {
        if (r["name"] == "syn-drops-without-cookies") {
            found = true;
            EXPECT_EQ(r["when"]["rate"], "reqq_full_drop");
            EXPECT_EQ(r["when"]["percent"], false);
            EXPECT_EQ(r["apply"]["net.ipv4.tcp_syncookies"], "1");
            EXPECT_EQ(r["verify"]["rate"], "reqq_full_drop");
            EXPECT_EQ(r["verify"]["within"], 3);
        }
        if (r["name"] == "syn-queue-full") {
            EXPECT_EQ(r["when"]["listener"], "syn_queue");
            EXPECT_EQ(r["defined_in"], "default");
        }
    }
    EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tcptune
