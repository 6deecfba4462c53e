#pragma once

#include <string>
#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

// The allowlist: every sysctl tcptune may ever write, with type, safe bounds,
// kernel default, a one-line explanation and whether it still exists.
// (SysctlSpec and the table are defined with the profile/registry work.)
struct SysctlSpec;

// nullptr when the key is not in the registry at all.
const SysctlSpec* find_sysctl(std::string_view key);

// Collapses runs of whitespace (tabs from /proc/sys int pairs) to one space and
// trims, so "32768\t60999\n" and "32768 60999" compare equal.
std::string normalize_sysctl_value(std::string_view raw);

// Checks key and value against the registry (known, not removed, right type,
// within safe bounds) and returns the normalized value, or an error that says
// what would be valid.
Result<std::string> validate_sysctl_value(std::string_view key, std::string_view value);

}  // namespace tcptune
