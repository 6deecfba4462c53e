#include "tcptune/duration.hpp"

#include <cctype>
#include <cstdint>

#include <fmt/format.h>

namespace tcptune {

namespace {
constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr std::int64_t kMsPerHour = 60 * kMsPerMinute;
// A week is far beyond any sensible interval or cooldown and keeps sums from overflowing.
constexpr std::int64_t kMaxMs = 7 * 24 * kMsPerHour;

Error bad_duration(std::string_view text, std::string_view why) {
    return Error{
        ErrorCode::kParse,
        fmt::format("invalid duration '{}': {}; write e.g. 500ms, 5s, 2m, 1h or 1m30s", text, why)};
}
}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text.empty()) {
        return tl::unexpected(bad_duration(text, "empty"));
    }
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
            number = number * 10 + (text[i] - '0');
            if (number > kMaxMs) {
                return tl::unexpected(bad_duration(text, "longer than a week"));
            }
            ++i;
        }
        if (i == digits_start) {
            return tl::unexpected(bad_duration(text, "expected a whole number"));
        }
        const std::size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) != 0) {
            ++i;
        }
        const std::string_view unit = text.substr(unit_start, i - unit_start);
        std::int64_t scale = 0;
        if (unit == "ms") {
            scale = 1;
        } else if (unit == "s") {
            scale = kMsPerSecond;
        } else if (unit == "m") {
            scale = kMsPerMinute;
        } else if (unit == "h") {
            scale = kMsPerHour;
        } else if (unit.empty()) {
            return tl::unexpected(bad_duration(text, "missing unit"));
        } else {
            return tl::unexpected(bad_duration(text, "unknown unit '" + std::string(unit) + "'"));
        }
        total += number * scale;
        if (total > kMaxMs) {
            return tl::unexpected(bad_duration(text, "longer than a week"));
        }
    }
    return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
    std::int64_t ms = d.count();
    if (ms == 0) {
        return "0s";
    }
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    const std::int64_t hours = ms / kMsPerHour;
    ms %= kMsPerHour;
    const std::int64_t minutes = ms / kMsPerMinute;
    ms %= kMsPerMinute;
    const std::int64_t seconds = ms / kMsPerSecond;
    ms %= kMsPerSecond;
    if (hours > 0) {
        out += std::to_string(hours) + "h";
    }
    if (minutes > 0) {
        out += std::to_string(minutes) + "m";
    }
    if (seconds > 0) {
        out += std::to_string(seconds) + "s";
    }
    if (ms > 0) {
        out += std::to_string(ms) + "ms";
    }
    return out;
}

}  // namespace tcptune
