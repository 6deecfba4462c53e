#pragma once

#include <string>
#include <vector>

namespace tcptune {

// One sysctl change the rule engine wants. The safety gate filters a Plan; the
// applier executes what passes. Values are normalized (see normalize_sysctl_value).
// Why the engine planned a change; verification starts only after kRuleFired.
enum class ChangePurpose { kBaseline, kRuleFired, kRuleCleared, kDidNotHelp };

struct PlannedChange {
    std::string key;      // dotted name, e.g. "net.ipv4.tcp_tw_reuse"
    std::string value;    // normalized target value, e.g. "1" or "1024 65535"
    std::string profile;  // profile that asked for it
    std::string rule;     // rule name; empty for the profile's baseline sysctls
    std::string reason;   // why, for humans: the rule's `why` plus what was observed
    ChangePurpose purpose = ChangePurpose::kBaseline;
    std::string subject{};  // listener / destination the rule fired on, if any
    bool operator==(const PlannedChange&) const = default;
};

using Plan = std::vector<PlannedChange>;

}  // namespace tcptune
