#include "tcptune/profile/profile_resolver.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"
#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

const fs::path kShipped = fs::path(TCPTUNE_SOURCE_DIR) / "profiles";
const fs::path kValid = fs::path(TCPTUNE_TEST_DATA_DIR) / "profiles" / "valid";

std::string joined(const ProfileDiagnostics& d) {
    return to_error(d).message;
}

// A scratch directory of profiles written by the test itself.
class TempProfiles : public ::testing::Test {
  protected:
    fs::path write(const std::string& file, const std::string& text) {
        fs::path p = dir_ / file;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p;
    }
    test::TempDir temp_;
    const fs::path dir_ = temp_.path();
};

TEST(ShippedProfiles, EveryFileInProfilesDirResolves) {
    int count = 0;
    for (const fs::path& file : test::yaml_files_in(kShipped)) {
        ++count;
        auto resolved = resolve_profile_file(file, {kShipped});
        ASSERT_TRUE(resolved.has_value()) << file << "\n" << joined(resolved.error());
        EXPECT_FALSE(resolved->description.empty()) << file;
        for (const Rule& rule : resolved->rules) {
            EXPECT_FALSE(rule.why.empty()) << file << " rule " << rule.name;
        }
    }
    EXPECT_GE(count, 5);
}

TEST(ShippedProfiles, IssueNamedProfilesExist) {
    for (const char* name :
         {"default", "web-frontend", "reverse-proxy", "database", "syn-flood-guard"}) {
        auto p = resolve_profile(name, {kShipped});
        ASSERT_TRUE(p.has_value()) << name;
        EXPECT_EQ(p->name, name);
    }
}

TEST(ShippedProfiles, ChildrenInheritDefaultRules) {
    auto p = resolve_profile("web-frontend", {kShipped});
    ASSERT_TRUE(p.has_value()) << joined(p.error());
    EXPECT_EQ(p->lineage, (std::vector<std::string>{"web-frontend", "default"}));
    EXPECT_NE(p->find_rule("close-wait-leak"), nullptr);  // from default
    EXPECT_EQ(p->find_rule("close-wait-leak")->defined_in, "default");
    // A child's rule of the same name replaces default's report-only one.
    ASSERT_NE(p->find_rule("ports-towards-one-destination"), nullptr);
    EXPECT_EQ(p->find_rule("ports-towards-one-destination")->defined_in, "web-frontend");
    EXPECT_FALSE(p->find_rule("ports-towards-one-destination")->apply.empty());
}

TEST(ValidExamples, EveryFileResolvesAgainstTheShippedProfiles) {
    int count = 0;
    for (const fs::path& file : test::yaml_files_in(kValid)) {
        ++count;
        auto resolved = resolve_profile_file(file, {kShipped});
        EXPECT_TRUE(resolved.has_value()) << file << "\n"
                                          << (resolved ? "" : joined(resolved.error()));
    }
    EXPECT_GE(count, 3);
}

TEST(FindProfile, FirstDirectoryWins) {
    const fs::path a = fs::temp_directory_path() / ("tcptune-find-a-" + std::to_string(getpid()));
    const fs::path b = fs::temp_directory_path() / ("tcptune-find-b-" + std::to_string(getpid()));
    fs::create_directories(a);
    fs::create_directories(b);
    std::ofstream(a / "x.yaml") << "name: x\ndescription: from a\n";
    std::ofstream(b / "x.yaml") << "name: x\ndescription: from b\n";
    std::ofstream(b / "y.yml") << "name: y\ndescription: only b\n";
    EXPECT_EQ(find_profile("x", {a, b}), a / "x.yaml");
    EXPECT_EQ(find_profile("x", {b, a}), b / "x.yaml");
    EXPECT_EQ(find_profile("y", {a, b}), b / "y.yml");
    EXPECT_EQ(find_profile("nope", {a, b}), std::nullopt);
    EXPECT_EQ(resolve_profile("x", {a, b})->description, "from a");
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST_F(TempProfiles, ChildOverridesParentKeyByKeyAndRuleByName) {
    write("base.yaml", R"(name: base
description: parent
interval: 10s
sysctls:
  net.ipv4.tcp_fin_timeout: 40
  net.ipv4.tcp_syncookies: 1
rules:
  - name: a
    when: { state: time_wait, above: 100 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    why: parent a
  - name: b
    when: { state: close_wait, above: 5 }
    why: parent b
)");
    write("child.yaml", R"(name: child
description: child
extends: base
sysctls:
  net.ipv4.tcp_fin_timeout: 20
rules:
  - name: a
    when: { state: time_wait, above: 500 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    why: child a
  - name: c
    when: { state: syn_recv, above: 5 }
    why: child c
)");
    auto p = resolve_profile("child", {dir_});
    ASSERT_TRUE(p.has_value()) << joined(p.error());
    EXPECT_EQ(p->interval, std::chrono::seconds(10));  // inherited
    ASSERT_EQ(p->sysctls.size(), 2U);
    EXPECT_EQ(p->sysctls[0].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(p->sysctls[0].value, "20");
    ASSERT_EQ(p->rules.size(), 3U);
    EXPECT_EQ(p->rules[0].name, "a");  // replaced in place
    EXPECT_EQ(p->rules[0].why, "child a");
    EXPECT_EQ(p->rules[0].defined_in, "child");
    EXPECT_EQ(p->rules[1].name, "b");
    EXPECT_EQ(p->rules[2].name, "c");
}

TEST_F(TempProfiles, MissingParentIsReportedAtTheExtendsLine) {
    write("orphan.yaml", "name: orphan\ndescription: x\nextends: nowhere\n");
    auto p = resolve_profile("orphan", {dir_});
    ASSERT_FALSE(p.has_value());
    ASSERT_EQ(p.error().size(), 1U);
    EXPECT_EQ(p.error()[0].where.line, 3);
    EXPECT_EQ(p.error()[0].where.column, 10);
    EXPECT_NE(p.error()[0].message.find("parent profile 'nowhere' not found"), std::string::npos);
}

TEST_F(TempProfiles, CyclesAreDetected) {
    write("one.yaml", "name: one\ndescription: x\nextends: two\n");
    write("two.yaml", "name: two\ndescription: x\nextends: three\n");
    write("three.yaml", "name: three\ndescription: x\nextends: one\n");
    auto p = resolve_profile("one", {dir_});
    ASSERT_FALSE(p.has_value());
    EXPECT_NE(joined(p.error()).find("inheritance cycle: one -> two -> three -> one"),
              std::string::npos)
        << joined(p.error());
    EXPECT_NE(joined(p.error()).find("three.yaml:3:"), std::string::npos);
}

TEST_F(TempProfiles, ParentsAreFoundNextToTheChildAndByRelativePath) {
    write("sub/parent.yaml", "name: parent\ndescription: x\ninterval: 7s\n");
    const fs::path child =
        write("sub/child.yaml", "name: child\ndescription: x\nextends: parent\n");
    write("rel.yaml", "name: rel\ndescription: x\nextends: sub/parent.yaml\n");
    auto c = resolve_profile_file(child, {});
    ASSERT_TRUE(c.has_value()) << joined(c.error());
    EXPECT_EQ(c->interval, std::chrono::seconds(7));
    auto r = resolve_profile_file(dir_ / "rel.yaml", {});
    ASSERT_TRUE(r.has_value()) << joined(r.error());
    EXPECT_EQ(r->lineage.back(), "parent");
}

TEST_F(TempProfiles, ParentAndChildRulesDrivingOneKeyConflict) {
    write("base.yaml", R"(name: base
description: parent
rules:
  - name: a
    when: { state: time_wait, above: 100 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    why: parent
)");
    write("child.yaml", R"(name: child
description: child
extends: base
rules:
  - name: other
    when: { state: syn_sent, above: 100 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
    why: child
)");
    auto p = resolve_profile("child", {dir_});
    ASSERT_FALSE(p.has_value());
    ASSERT_EQ(p.error().size(), 1U);
    EXPECT_EQ(p.error()[0].where.line, 8);  // the child's apply key
    EXPECT_NE(p.error()[0].message.find("both apply net.ipv4.tcp_tw_reuse"), std::string::npos);
}

// The override pattern (issue: customizing a shipped profile): a file of the same
// name earlier in the search path that `extends` its own name builds on the next
// one down, like a systemd drop-in, instead of copying it.
class OverrideProfiles : public TempProfiles {
  protected:
    void SetUp() override {
        TempProfiles::SetUp();
        write("usr/base.yaml", R"(name: base
description: shipped root
sysctls:
  net.ipv4.tcp_syncookies: 1
rules:
  - name: close-wait-leak
    when: { state: close_wait, above: 1000 }
    why: shipped
)");
        write("usr/web.yaml", R"(name: web
description: shipped web
extends: base
interval: 5s
sysctls:
  net.ipv4.tcp_fin_timeout: 30
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 20000, for: 3 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    revert: true
    why: shipped
)");
    }
    ProfileDirs dirs(std::initializer_list<const char*> names) const {
        ProfileDirs out;
        for (const char* n : names) {
            out.push_back(dir_ / n);
        }
        return out;
    }
};

TEST_F(OverrideProfiles, SameNameExtendsTheNextOneDownTheSearchPath) {
    const fs::path etc = write("etc/web.yaml", R"(name: web
description: site override
extends: web
sysctls:
  net.ipv4.tcp_keepalive_time: 600
  net.ipv4.tcp_fin_timeout: 20
rules:
  - name: time-wait-pressure
    when: { state: time_wait, above: 5000, for: 3 }
    apply: { net.ipv4.tcp_tw_reuse: 1 }
    revert: true
    why: site threshold
  - name: site-only
    when: { state: syn_recv, above: 100 }
    why: site rule
)");
    auto p = resolve_profile("web", dirs({"etc", "usr"}));
    ASSERT_TRUE(p.has_value()) << joined(p.error());
    EXPECT_EQ(p->lineage, (std::vector<std::string>{"web", "web", "base"}));
    ASSERT_EQ(p->sources.size(), 3U);
    EXPECT_EQ(fs::path(p->sources[0]), etc);
    EXPECT_EQ(fs::path(p->sources[1]), dir_ / "usr/web.yaml");
    EXPECT_EQ(p->description, "site override");
    EXPECT_EQ(p->interval, std::chrono::seconds(5));  // inherited from the shipped one
    // Values merged key by key: the override wins where it speaks.
    std::map<std::string, std::string> values;
    for (const SysctlSetting& s : p->sysctls) {
        values[s.key] = s.value;
    }
    EXPECT_EQ(values, (std::map<std::string, std::string>{{"net.ipv4.tcp_syncookies", "1"},
                                                          {"net.ipv4.tcp_fin_timeout", "20"},
                                                          {"net.ipv4.tcp_keepalive_time", "600"}}));
    // Rules: inherited, replaced by name in place, and added.
    ASSERT_EQ(p->rules.size(), 3U);
    EXPECT_EQ(p->rules[0].name, "close-wait-leak");
    EXPECT_EQ(p->rules[0].defined_in, "base");
    EXPECT_EQ(p->rules[1].name, "time-wait-pressure");
    EXPECT_EQ(p->rules[1].why, "site threshold");
    EXPECT_EQ(fs::path(p->rules[1].where.file), etc);
    EXPECT_EQ(p->rules[2].name, "site-only");
    // profile check of the file itself resolves the same way.
    auto checked = resolve_profile_file(etc, dirs({"etc", "usr"}));
    ASSERT_TRUE(checked.has_value()) << joined(checked.error());
    EXPECT_EQ(*checked, *p);
}

TEST_F(OverrideProfiles, ChainOfTwoOverrides) {
    write("etc/web.yaml",
          "name: web\ndescription: host override\nextends: web\nsysctls:\n"
          "  net.ipv4.tcp_keepalive_time: 600\n");
    write("local/web.yaml",
          "name: web\ndescription: site override\nextends: web\nsysctls:\n"
          "  net.ipv4.tcp_keepalive_time: 900\n  net.ipv4.tcp_keepalive_intvl: 30\n");
    auto p = resolve_profile("web", dirs({"etc", "local", "usr"}));
    ASSERT_TRUE(p.has_value()) << joined(p.error());
    EXPECT_EQ(p->lineage, (std::vector<std::string>{"web", "web", "web", "base"}));
    EXPECT_EQ(p->description, "host override");
    std::map<std::string, std::string> values;
    for (const SysctlSetting& s : p->sysctls) {
        values[s.key] = s.value;
    }
    EXPECT_EQ(values["net.ipv4.tcp_keepalive_time"], "600");  // the first override wins
    EXPECT_EQ(values["net.ipv4.tcp_keepalive_intvl"], "30");  // the second still counts
    EXPECT_EQ(values["net.ipv4.tcp_fin_timeout"], "30");      // the shipped one too
    EXPECT_NE(p->find_rule("time-wait-pressure"), nullptr);
}

TEST_F(OverrideProfiles, SelfExtensionWithNothingFurtherDownIsAnErrorAtTheExtendsLine) {
    write("etc/lonely.yaml", "name: lonely\ndescription: x\nextends: lonely\n");
    auto p = resolve_profile("lonely", dirs({"etc", "usr"}));
    ASSERT_FALSE(p.has_value());
    ASSERT_EQ(p.error().size(), 1U);
    EXPECT_EQ(p.error()[0].where.line, 3);
    EXPECT_EQ(p.error()[0].where.column, 10);
    EXPECT_NE(p.error()[0].message.find("extends its own name"), std::string::npos)
        << joined(p.error());
}

TEST_F(OverrideProfiles, ACycleThroughAnOverrideIsStillACycleWithItsLocation) {
    // etc/web -> usr/web -> base, and base resolves to etc/base, which extends web:
    // the search path finds etc/web again.
    write("etc/web.yaml", "name: web\ndescription: x\nextends: web\n");
    write("etc/base.yaml", "name: base\ndescription: x\nextends: web\n");
    auto p = resolve_profile("web", dirs({"etc", "usr"}));
    ASSERT_FALSE(p.has_value());
    ASSERT_EQ(p.error().size(), 1U);
    EXPECT_NE(p.error()[0].message.find("inheritance cycle: web -> web -> base -> web"),
              std::string::npos)
        << joined(p.error());
    EXPECT_EQ(fs::path(p.error()[0].where.file), dir_ / "etc/base.yaml");
    EXPECT_EQ(p.error()[0].where.line, 3);
}

TEST(DefaultProfileDirs, StartWithEtcThenUsrShareThenSourceTree) {
    const ProfileDirs dirs = default_profile_dirs();
    ASSERT_GE(dirs.size(), 2U);
    EXPECT_EQ(dirs[0], "/etc/tcptune/profiles");
    EXPECT_EQ(dirs[1], "/usr/share/tcptune/profiles");
    // unit_tests runs from <build>/bin, so the source tree's profiles/ is appended.
    ASSERT_EQ(dirs.size(), 3U);
    EXPECT_EQ(fs::canonical(dirs[2]), fs::canonical(kShipped));
}

}  // namespace
}  // namespace tcptune
