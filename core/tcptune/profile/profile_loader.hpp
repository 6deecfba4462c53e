#pragma once

#include <filesystem>
#include <string_view>

#include "tcptune/profile/profile.hpp"

namespace tcptune {

// Parses and validates one profile document, without following `extends`.
// Every problem is collected (not just the first), each with `source`:line:col
// and a message saying what would be valid. `source` labels the diagnostics
// (normally the file path).
ProfileResult<Profile> parse_profile(std::string_view yaml_text, std::string_view source);

// Reads and parses a file. Also checks that `name:` matches the file name, since
// `extends: NAME` and `--profile NAME` find profiles by file name.
ProfileResult<Profile> load_profile_file(const std::filesystem::path& path);

}  // namespace tcptune
