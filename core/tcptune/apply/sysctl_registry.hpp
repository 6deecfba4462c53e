#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune {

// How a sysctl's value is shaped.
enum class SysctlType {
    kInt,       // one integer within [min, max]
    kEnum,      // one integer out of a small allowed set (0/1/2 switches)
    kIntPair,   // two integers "LOW HIGH", each within [min, max], LOW < HIGH
    kPortList,  // comma separated ports and ranges "8080,9000-9010", each within [min, max]
};

// Where a key lives.
enum class SysctlScope {
    kNetns,   // one value per network namespace (a new one starts from the defaults)
    kGlobal,  // one value for the host, present only in the initial network namespace
};
std::string_view to_string(SysctlScope scope);  // "netns" | "global"

// The kernel ignores a key while another key has one of some values.
struct IgnoredWhen {
    std::string_view key;              // e.g. "net.ipv4.tcp_syncookies"
    std::vector<std::int64_t> values;  // e.g. {1, 2}
    std::string_view reason;           // why, for the refusal and explain
};

// The allowlist: every sysctl tcptune may ever write, with type, safe bounds,
// kernel default, a one-line explanation and whether it still exists.
//
// Bounds are deliberately narrower than what the kernel accepts: they are what
// an automatic tuner may set without an operator thinking hard about it.
struct SysctlSpec {
    std::string_view key;  // dotted name, e.g. "net.ipv4.tcp_tw_reuse"
    SysctlType type = SysctlType::kInt;
    std::int64_t min = 0;               // kInt, and each element of kIntPair
    std::int64_t max = 0;               // kInt, and each element of kIntPair
    std::vector<std::int64_t> allowed;  // kEnum only, ascending
    std::int64_t min_pair_span = 0;     // kIntPair: HIGH - LOW must be at least this
    std::string_view kernel_default;    // as /proc/sys shows it, or a note
    std::string_view summary;           // one line, for tables and completion
    std::string_view removed_in;        // empty while the key exists
    std::string_view removed_reason;    // why it is refused, when removed
    SysctlScope scope = SysctlScope::kNetns;
    std::string_view since;    // first kernel with the key ("" = older than any we support)
    std::string_view history;  // versions where its meaning or default changed
    std::vector<IgnoredWhen> ignored_when;

    bool removed() const { return !removed_in.empty(); }
    // "an integer in 5..120", "one of 0, 1, 2", "two integers LOW HIGH ..." —
    // the wording error messages use to say what would be valid.
    std::string describe_valid_values() const;
};

// Every spec in the registry (existing and removed), in a stable order, for
// explain, shell completion, documentation and status views.
std::span<const SysctlSpec> all_sysctls();

// nullptr when the key is not in the registry at all.
const SysctlSpec* find_sysctl(std::string_view key);

// Collapses runs of whitespace (tabs from /proc/sys int pairs) to one space and
// trims, so "32768\t60999\n" and "32768 60999" compare equal.
std::string normalize_sysctl_value(std::string_view raw);

// Checks key and value against the registry (known, not removed, right type,
// within safe bounds) and returns the normalized value, or an error that says
// what would be valid.
Result<std::string> validate_sysctl_value(std::string_view key, std::string_view value);

// Checks a value against one spec's type and bounds (the key is assumed known
// and present). Returns the canonical value ("010" -> "10", "1 2" spacing).
Result<std::string> validate_value_for(const SysctlSpec& spec, std::string_view value);

// The integers of a (normalized or raw) value: one for kInt/kEnum, two for pairs.
// nullopt when the text is not whitespace-separated decimal integers.
std::optional<std::vector<std::int64_t>> parse_sysctl_integers(std::string_view value);

// Why the kernel ignores `key` given the live values `read(other_key)` returns;
// nullopt when it acts on it (or the other key cannot be read).
std::optional<std::string> ignored_by_kernel(
    const SysctlSpec& spec,
    const std::function<std::optional<std::string>(std::string_view)>& read);

// "net.ipv4.tcp_tw_reuse" -> "/proc/sys/net/ipv4/tcp_tw_reuse".
std::string sysctl_proc_path(std::string_view key);

// Closest registry key by edit distance (for "did you mean ..." hints); empty
// when nothing is reasonably close.
std::string suggest_sysctl_key(std::string_view unknown_key);

}  // namespace tcptune
