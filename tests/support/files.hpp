#pragma once

// Reading and writing small files in tests: profiles, journals, logs, docs.

#include <filesystem>
#include <string>
#include <vector>

namespace tcptune::test {

// The whole file, or "" when it cannot be read (a test then fails on the content).
std::string read_text(const std::filesystem::path& file);

// Creates or truncates `file` with exactly `text`; false when it could not.
bool write_text(const std::filesystem::path& file, const std::string& text);

// The *.yaml files directly in `dir`, sorted by name (none when it cannot be listed).
std::vector<std::filesystem::path> yaml_files_in(const std::filesystem::path& dir);

}  // namespace tcptune::test
