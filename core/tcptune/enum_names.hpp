#pragma once

// The words of an enum in one table, so that to_string, parse and the list an
// error message offers come from the same data:
//
//   constexpr EnumNames<StopPolicy, 2> kStopPolicyNames = {{
//       {StopPolicy::kKeep, "keep"}, {StopPolicy::kRestore, "restore"}}};
//   static_assert(lists_every_value(kStopPolicyNames));
//   name_of(kStopPolicyNames, StopPolicy::kKeep)   // "keep"
//   value_of(kStopPolicyNames, "restore")          // StopPolicy::kRestore
//   names_of(kStopPolicyNames)                     // "keep or restore"
//   parse_enum(kStopPolicyNames, text, "stop policy")  // Result, with that list on error

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

template <typename E>
struct EnumName {
    E value;
    std::string_view name;
};

template <typename E, std::size_t N>
using EnumNames = std::array<EnumName<E>, N>;

// True when the table names the enumerators 0 .. N-1, each once, in declaration
// order (for enums without explicit values: a new enumerator must be added to
// the table before this holds again).
template <typename E, std::size_t N>
constexpr bool lists_every_value(const EnumNames<E, N>& table) {
    for (std::size_t i = 0; i < N; ++i) {
        if (static_cast<std::size_t>(table[i].value) != i || table[i].name.empty()) {
            return false;
        }
    }
    return true;
}

// Every value of an enum whose enumerators are 0 .. N-1 (no explicit values), in
// declaration order: the list a loop over all of them walks.
template <typename E, std::size_t N>
constexpr std::array<E, N> all_values() {
    std::array<E, N> values{};
    for (std::size_t i = 0; i < N; ++i) {
        values[i] = static_cast<E>(i);
    }
    return values;
}

template <typename E, std::size_t N>
constexpr std::string_view name_of(const EnumNames<E, N>& table, E value) {
    for (const auto& entry : table) {
        if (entry.value == value) {
            return entry.name;
        }
    }
    return "unknown";
}

template <typename E, std::size_t N>
constexpr std::optional<E> value_of(const EnumNames<E, N>& table, std::string_view name) {
    for (const auto& entry : table) {
        if (entry.name == name) {
            return entry.value;
        }
    }
    return std::nullopt;
}

// The value named `text`, or a kParse error that names the accepted words:
// `unknown bus "usb" (use system, session or none)` for what = "bus".
template <typename E, std::size_t N>
Result<E> parse_enum(const EnumNames<E, N>& table, std::string_view text, std::string_view what);

// "a, b or c": the names for a message that says what is accepted.
template <typename E, std::size_t N>
std::string names_of(const EnumNames<E, N>& table) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) {
            out += i + 1 == N ? " or " : ", ";
        }
        out += table[i].name;
    }
    return out;
}

template <typename E, std::size_t N>
Result<E> parse_enum(const EnumNames<E, N>& table, std::string_view text, std::string_view what) {
    if (auto value = value_of(table, text)) {
        return *value;
    }
    return make_error(ErrorCode::kParse, "unknown " + std::string(what) + " \"" +
                                             std::string(text) + "\" (use " + names_of(table) +
                                             ")");
}

}  // namespace tcptune
