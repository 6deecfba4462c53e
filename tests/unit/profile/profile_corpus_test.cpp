// Every file in tests/data/profiles/invalid/ has exactly one defect, described by
// its header:
//   # expect: LINE: SUBSTRING        the error's line and part of its message
//   # expect-file: NAME              (optional) the file the error is reported in
// Each must be rejected with that line and message.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/files.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

const fs::path kInvalid = fs::path(TCPTUNE_TEST_DATA_DIR) / "profiles" / "invalid";

struct Expectation {
    int line = 0;
    std::string substring;
    std::string file;
};

Expectation read_expectation(const fs::path& file) {
    Expectation e;
    e.file = file.filename().string();
    std::ifstream in(file);
    std::string text;
    while (std::getline(in, text) && text.starts_with("#")) {
        if (text.starts_with("# expect: ")) {
            const std::string rest = text.substr(10);
            const std::size_t colon = rest.find(": ");
            e.line = std::stoi(rest.substr(0, colon));
            e.substring = rest.substr(colon + 2);
        } else if (text.starts_with("# expect-file: ")) {
            e.file = text.substr(15);
        }
    }
    return e;
}

TEST(InvalidProfileCorpus, EveryFileIsRejectedAtTheExpectedLine) {
    int files = 0;
    for (const fs::path& file : test::yaml_files_in(kInvalid)) {
        ++files;
        const Expectation want = read_expectation(file);
        ASSERT_GT(want.line, 0) << file << " has no `# expect: LINE: TEXT` header";
        // No search dirs: parents (cycles, parents/) are found next to the file.
        auto result = resolve_profile_file(file, {});
        if (result.has_value()) {
            ADD_FAILURE() << file << " was accepted; expected line " << want.line << ": "
                          << want.substring;
            continue;
        }
        bool found = false;
        for (const ProfileDiagnostic& d : result.error()) {
            if (d.where.line == want.line && d.where.column > 0 &&
                d.message.find(want.substring) != std::string::npos &&
                fs::path(d.where.file).filename() == want.file) {
                found = true;
            }
        }
        EXPECT_TRUE(found) << file << "\nexpected " << want.file << ":" << want.line << ": ..."
                           << want.substring << "...\ngot:\n"
                           << to_error(result.error()).message;
        // One defect per file: anything more is a cascade the user must wade through.
        EXPECT_EQ(result.error().size(), 1U) << file << "\n" << to_error(result.error()).message;
    }
    EXPECT_GE(files, 40);
}

}  // namespace
}  // namespace tcptune
