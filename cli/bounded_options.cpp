#include "bounded_options.hpp"

#include <charconv>
#include <cstdio>

namespace tcptune::cli {

std::optional<std::uint64_t> parse_bounded_integer(std::string_view text, std::uint64_t min,
                                                   std::uint64_t max) {
    if (text.empty() || text.size() > 20) {
        return std::nullopt;
    }
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;  // no sign, no exponent, no spaces
        }
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_bounded_seconds(std::string_view text, double min, double max) {
    if (text.empty() || text.size() > 32) {
        return std::nullopt;
    }
    int points = 0;
    for (const char c : text) {
        if (c == '.') {
            ++points;
        } else if (c < '0' || c > '9') {
            return std::nullopt;
        }
    }
    if (points > 1 || text == ".") {
        return std::nullopt;
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value >= min) ||
        !(value <= max)) {
        return std::nullopt;
    }
    return value;
}

namespace {

std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

}  // namespace

CLI::Option* add_bounded_seconds(CLI::App& cmd, const std::string& name, double& target, double min,
                                 double max, const std::string& help) {
    const std::string range = format_seconds(min) + " to " + format_seconds(max);
    auto* option = cmd.add_option_function<std::string>(
        name,
        [&target, name, min, max, range](const std::string& text) {
            const auto value = parse_bounded_seconds(text, min, max);
            if (!value) {
                throw CLI::ValidationError(name, "must be a number of seconds from " + range +
                                                     " (got '" + text.substr(0, 32) + "')");
            }
            target = *value;
        },
        help + " [" + range + "]");
    option->type_name("SECONDS");
    return option;
}

}  // namespace tcptune::cli
