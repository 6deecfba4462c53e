#pragma once

// Numeric options with sane bounds. CLI11's own conversions let "-1" wrap to
// 2^64-1 (a vector of that size ends in std::bad_alloc) and its range checks
// print DBL_MAX in 300 digits; these accept plain decimal numbers within
// [min, max] only and say so in one short line (exit 2, a usage error).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace tcptune::cli {

// The value of `text` when it is a plain decimal integer within [min, max].
std::optional<std::uint64_t> parse_bounded_integer(std::string_view text, std::uint64_t min,
                                                   std::uint64_t max);
// The value of `text` when it is a plain decimal number (digits, one optional
// point) within [min, max].
std::optional<double> parse_bounded_seconds(std::string_view text, double min, double max);

// Adds `name` storing into `target` (any unsigned or signed integer type wide
// enough for max); the help text gets the range appended.
template <typename Int>
CLI::Option* add_bounded_integer(CLI::App& cmd, const std::string& name, Int& target,
                                 std::uint64_t min, std::uint64_t max, const std::string& help) {
    auto* option = cmd.add_option_function<std::string>(
        name,
        [&target, name, min, max](const std::string& text) {
            const auto value = parse_bounded_integer(text, min, max);
            if (!value) {
                throw CLI::ValidationError(
                    name, "must be a whole number from " + std::to_string(min) + " to " +
                              std::to_string(max) + " (got '" + text.substr(0, 32) + "')");
            }
            target = static_cast<Int>(*value);
        },
        help + " [" + std::to_string(min) + "-" + std::to_string(max) + "]");
    option->type_name("N");
    return option;
}

CLI::Option* add_bounded_seconds(CLI::App& cmd, const std::string& name, double& target, double min,
                                 double max, const std::string& help);

}  // namespace tcptune::cli
