#include "tcptune/profile/profile_catalog.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace tcptune {
namespace {

namespace fs = std::filesystem;

TEST(ProfileCatalog, ListsAcrossDirsMarksShadowedAndInvalid) {
    const fs::path root =
        fs::temp_directory_path() / ("tcptune-catalog-" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "etc");
    fs::create_directories(root / "share");
    std::ofstream(root / "etc" / "web.yaml") << "name: web\ndescription: local copy\n";
    std::ofstream(root / "share" / "web.yaml") << "name: web\ndescription: shipped\n";
    std::ofstream(root / "share" / "db.yaml") << "name: db\ndescription: shipped db\n";
    std::ofstream(root / "share" / "broken.yaml") << "name: broken\n";
    std::ofstream(root / "share" / "notes.txt") << "not a profile\n";

    auto catalog = ProfileCatalog::scan({root / "etc", root / "share", root / "missing"});
    ASSERT_EQ(catalog.entries().size(), 4U);
    EXPECT_EQ(catalog.entries()[0].name, "web");
    EXPECT_FALSE(catalog.entries()[0].shadowed);
    const CatalogEntry* web = catalog.find("web");
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->description, "local copy");
    int shadowed = 0;
    for (const auto& e : catalog.entries()) {
        shadowed += e.shadowed ? 1 : 0;
    }
    EXPECT_EQ(shadowed, 1);
    const CatalogEntry* broken = catalog.find("broken");
    ASSERT_NE(broken, nullptr);
    EXPECT_FALSE(broken->valid());
    EXPECT_NE(broken->problems[0].message.find("description"), std::string::npos);
    EXPECT_EQ(catalog.names(), (std::vector<std::string>{"broken", "db", "web"}));
    fs::remove_all(root);
}

}  // namespace
}  // namespace tcptune
