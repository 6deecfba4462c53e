// docs/profile-format.md is the reference (and tcptune-profile(5)): its examples
// must be real, valid profiles and its registry table must match the code.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "support/files.hpp"

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = TCPTUNE_SOURCE_DIR;

TEST(ProfileFormatDocs, ExamplesAreTheValidatedTestProfiles) {
    const std::string doc = test::read_text(kSource / "docs" / "profile-format.md");
    ASSERT_FALSE(doc.empty());
    const std::string marker = "<!-- example: ";
    int examples = 0;
    for (std::size_t pos = doc.find(marker); pos != std::string::npos;
         pos = doc.find(marker, pos + 1)) {
        const std::size_t path_end = doc.find(" -->", pos);
        const std::string path = doc.substr(pos + marker.size(), path_end - pos - marker.size());
        const std::size_t block = doc.find("```yaml\n", path_end);
        ASSERT_NE(block, std::string::npos) << path;
        const std::size_t body = block + 8;
        const std::size_t end = doc.find("```", body);
        const std::string shown = doc.substr(body, end - body);
        EXPECT_EQ(shown, test::read_text(kSource / path)) << path << " differs from the docs";
        auto resolved = resolve_profile_file(kSource / path, {kSource / "profiles"});
        EXPECT_TRUE(resolved.has_value()) << path;
        ++examples;
    }
    EXPECT_GE(examples, 3);
}

TEST(ProfileFormatDocs, RegistryTableMatchesTheCode) {
    const std::string doc = test::read_text(kSource / "docs" / "profile-format.md");
    for (const SysctlSpec& spec : all_sysctls()) {
        const std::string row = "| `" + std::string(spec.key) + "` |";
        const std::size_t at = doc.find(row);
        ASSERT_NE(at, std::string::npos) << spec.key << " missing from the registry table";
        const std::string line = doc.substr(at, doc.find('\n', at) - at);
        const std::string values = spec.removed()
                                       ? "removed in Linux " + std::string(spec.removed_in)
                                       : spec.describe_valid_values();
        EXPECT_NE(line.find(values), std::string::npos) << line;
        EXPECT_NE(line.find(std::string(spec.kernel_default)), std::string::npos) << line;
    }
}

}  // namespace
}  // namespace tcptune
