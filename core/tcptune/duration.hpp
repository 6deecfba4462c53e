#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

// Durations in profiles are one or more "<integer><unit>" groups with units
// ms, s, m, h: "500ms", "5s", "2m", "1h30m". A bare number is an error, because
// "5" could mean seconds or polls and profiles must not be ambiguous.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact form parse_duration accepts back: 90000ms -> "1m30s",
// 500ms -> "500ms", 0 -> "0s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace tcptune
