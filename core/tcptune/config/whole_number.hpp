#pragma once

// A config value that must be a whole number within bounds ("50", not "5e1", "-3" or
// "50 pods"): the one parser of every such setting.

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace tcptune {

template <typename T>
std::optional<T> parse_whole_number(std::string_view text, T min, T max) {
    T value{};
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
        return std::nullopt;
    }
    return value;
}

}  // namespace tcptune
