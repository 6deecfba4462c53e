#include "tcptune/profile/profile_cache.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "tcptune/profile/profile_catalog.hpp"
#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc) << text;
}

TEST(ProfileFileCache, ParsesAFileAgainOnlyWhenItChanged) {
    TempDir dir;
    const fs::path file = dir.path() / "web.yaml";
    write(file, "name: web\ndescription: one\n");
    ProfileFileCache cache;
    for (int i = 0; i < 5; ++i) {
        auto p = cache.load(file);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->description, "one");
    }
    EXPECT_EQ(cache.parses(), 1U);
    write(file, "name: web\ndescription: two, longer\n");  // size (and ctime) change
    EXPECT_EQ(cache.load(file)->description, "two, longer");
    EXPECT_EQ(cache.parses(), 2U);
    fs::remove(file);
    EXPECT_FALSE(cache.load(file));
    EXPECT_EQ(cache.size(), 0U);
}

TEST(ProfileFileCache, RescanningADirectoryParsesNothingNew) {
    TempDir dir;
    for (int i = 0; i < 10; ++i) {
        write(
            dir.path() / ("p" + std::to_string(i) + ".yaml"),
            "name: p" + std::to_string(i) + "\ndescription: d\n" + (i > 0 ? "extends: p0\n" : ""));
    }
    ProfileFileCache cache;
    auto first = ProfileCatalog::scan({dir.path()}, cache.loader());
    ASSERT_EQ(first.entries().size(), 10U);
    const auto parses = cache.parses();
    EXPECT_EQ(parses, 10U) << "each file once, parents included";
    auto again = ProfileCatalog::scan({dir.path()}, cache.loader());
    EXPECT_EQ(again.entries().size(), 10U);
    EXPECT_EQ(cache.parses(), parses);
}

TEST(ProfileFileCache, IsBoundedInEntries) {
    TempDir dir;
    ProfileFileCache cache(3);
    for (int i = 0; i < 6; ++i) {
        const fs::path f = dir.path() / ("p" + std::to_string(i) + ".yaml");
        write(f, "name: p" + std::to_string(i) + "\ndescription: d\n");
        ASSERT_TRUE(cache.load(f));
    }
    EXPECT_EQ(cache.size(), 3U);
}

// #16 item 1 sibling: a directory of 10k files costs a bounded scan.
TEST(ProfileCatalog, ReadsAtMostTheLimitOfFilesPerDirectoryAndCountsTheRest) {
    TempDir dir;
    for (int i = 0; i < 40; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "p%02d", i);
        write(dir.path() / (std::string(name) + ".yaml"),
              "name: " + std::string(name) + "\ndescription: d\n");
    }
    ProfileFileCache cache;
    auto catalog =
        ProfileCatalog::scan({dir.path()}, cache.loader(), CatalogLimits{.max_files_per_dir = 16});
    ASSERT_EQ(catalog.entries().size(), 16U);
    EXPECT_EQ(catalog.entries().front().name, "p00") << "the first by name, not readdir order";
    EXPECT_EQ(catalog.entries().back().name, "p15");
    EXPECT_EQ(catalog.omitted(), 24U);
    EXPECT_EQ(cache.parses(), 16U);
}

// #16 item 8: 100k aliases of one bad rule are not 100k messages.
TEST(ProfileLoader, DiagnosticsAreCappedPerFileWithACountOfTheRest) {
    std::string text =
        "name: p\ndescription: d\nrules:\n  - &r { name: x, when: { state: nope } }\n";
    for (int i = 0; i < 200; ++i) {
        text += "  - *r\n";
    }
    auto p = parse_profile(text, "p.yaml");
    ASSERT_FALSE(p);
    ASSERT_EQ(p.error().size(), kMaxDiagnosticsPerFile + 1);
    EXPECT_NE(p.error().back().message.find("more problems"), std::string::npos)
        << p.error().back().message;

    std::string many = "name: p\ndescription: d\nrules:\n";
    for (std::size_t i = 0; i <= kMaxRules; ++i) {
        many += "  - *r\n";
    }
    many.insert(many.find("rules:\n") + 7, "  - &r { name: y, when: { state: nope } }\n");
    auto capped = parse_profile(many, "p.yaml");
    ASSERT_FALSE(capped);
    EXPECT_NE(capped.error().front().message.find("at most 256 rules"), std::string::npos)
        << capped.error().front().message;
}

// #16 item 12: a profile cannot make tcptune parse (and quote) an arbitrary file.
TEST(ProfileResolver, ExtendsByPathMustNameAYamlFile) {
    TempDir dir;
    write(dir.path() / "secret", "root: hunter2\n");
    write(dir.path() / "child.yaml",
          "name: child\ndescription: d\nextends: " + (dir.path() / "secret").string() + "\n");
    auto resolved = resolve_profile_file(dir.path() / "child.yaml", {});
    ASSERT_FALSE(resolved);
    const std::string message = to_error(resolved.error()).message;
    EXPECT_NE(message.find("must name a .yaml or .yml profile file"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
    EXPECT_EQ(message.find("root"), std::string::npos) << message;
}

}  // namespace
}  // namespace tcptune
