#pragma once

// Reading and writing small files in tests: profiles, journals, logs, docs.

#include <filesystem>
#include <string>

namespace tcptune::test {

// The whole file, or "" when it cannot be read (a test then fails on the content).
std::string read_text(const std::filesystem::path& file);

// Creates or truncates `file` with exactly `text`; false when it could not.
bool write_text(const std::filesystem::path& file, const std::string& text);

}  // namespace tcptune::test
