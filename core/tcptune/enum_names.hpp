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

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace tcptune
