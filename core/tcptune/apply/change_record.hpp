#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tcptune/enum_names.hpp"

namespace tcptune {

// What happened to one sysctl change. The names are the `result` label of
// tcptune_sysctl_changes_total and the words operators see in logs and status.
enum class ChangeResult {
    kApplied,     // written and read back equal to the target
    kFailed,      // write or read-back failed; the kernel's error is in `detail`
    kSkipped,     // nothing to do (live value already equal, key overridden on rollback, ...)
    kAdvised,     // advice mode: this is what would have been written
    kRefused,     // the safety gate (or an unusable journal) said no; `detail` says why
    kOverridden,  // someone else changed a managed key; tcptune stops touching it
    kRestored,    // rollback put the original value back and it read back equal
    kResumed,     // an operator cleared the overridden mark
};

// Every result with its word, in declaration order (also the metric label values).
inline constexpr EnumNames<ChangeResult, 8> kChangeResultNames = {{
    {ChangeResult::kApplied, "applied"},
    {ChangeResult::kFailed, "failed"},
    {ChangeResult::kSkipped, "skipped"},
    {ChangeResult::kAdvised, "advised"},
    {ChangeResult::kRefused, "refused"},
    {ChangeResult::kOverridden, "overridden"},
    {ChangeResult::kRestored, "restored"},
    {ChangeResult::kResumed, "resumed"},
}};
static_assert(lists_every_value(kChangeResultNames));

std::string_view to_string(ChangeResult result);
// The inverse of to_string (the words of the wire and the JSON).
std::optional<ChangeResult> parse_change_result(std::string_view name);

// One record per change attempted, refused, skipped, detected or restored. The
// daemon logs it, signals it over D-Bus and counts it; the CLI prints it.
struct ChangeRecord {
    std::string key;
    std::string old_value;  // live value before (empty when it could not be read)
    std::string new_value;  // target value (for kOverridden: the value someone else set)
    std::string profile;
    std::string rule;
    std::string reason;  // why the change was wanted (the plan's reason)
    ChangeResult result = ChangeResult::kFailed;
    std::string detail;          // why this result: kernel error, gate refusal, ...
    std::string replay_command;  // `sysctl -w key=value` that reproduces new_value
    std::chrono::system_clock::time_point at{};
    bool operator==(const ChangeRecord&) const = default;
};

// `sysctl -w key=value`, quoting values that contain whitespace (int pairs) so the
// line can be pasted into a shell as is.
std::string sysctl_replay_command(std::string_view key, std::string_view value);

// One line for logs: "applied net.ipv4.tcp_fin_timeout 60 -> 30 (profile web, rule r): detail".
std::string describe(const ChangeRecord& record);

}  // namespace tcptune
