#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/clock.hpp"
#include "tcptune/engine/plan.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

struct GateLimits {
    // Minimum time between two changes of the same key.
    std::chrono::seconds key_cooldown{60};
    // Most changes (writes attempted, any key) in any sliding 60 s window.
    unsigned max_changes_per_minute = 20;

    bool operator==(const GateLimits&) const = default;
};

enum class GateRefusalKind {
    kInvalid,     // not in the allowlist, removed, wrong type or out of bounds
    kOverridden,  // an administrator owns the key now
    kCooldown,
    kRateLimit,
    kIneffective,  // the kernel ignores the key in the current configuration
    kConflict,     // the change would hurt something running (a listener's port)
};

std::string_view to_string(GateRefusalKind kind);

struct GateRefusal {
    GateRefusalKind kind = GateRefusalKind::kInvalid;
    std::string message;  // complete sentence for humans
};

struct GateDrop {
    PlannedChange change;
    GateRefusal refusal;
};

struct GateOutcome {
    Plan passed;  // values normalized by the validator
    std::vector<GateDrop> dropped;
};

// The last line between the rule engine and the kernel. It remembers when each
// key was last changed (a steady clock, so wall-clock jumps cannot defeat it).
class SafetyGate {
  public:
    // Returns the normalized value or why it is not allowed; the daemon uses
    // validate_sysctl_value (the registry), tests may inject their own.
    using Validator = std::function<Result<std::string>(std::string_view, std::string_view)>;
    using OverriddenPredicate = std::function<bool(std::string_view key)>;

    SafetyGate(const Clock& clock, GateLimits limits, Validator validator);

    // Bounds/allowlist check: the normalized target, or a kInvalid refusal.
    tl::expected<std::string, GateRefusal> check_value(const PlannedChange& change) const;
    // Cooldown and rate limit at the current time.
    std::optional<GateRefusal> check_timing(std::string_view key) const;

    // Refuses a change the kernel would ignore given the live values of other keys
    // (the registry's `ignored_when`, e.g. tcp_max_syn_backlog while
    // tcp_syncookies is on). `read` returns a key's live value.
    using Reader = std::function<std::optional<std::string>(std::string_view key)>;
    std::optional<GateRefusal> check_effect(const PlannedChange& change, const Reader& read) const;

    // Every check for a whole plan; entries that pass consume the rate budget of
    // the entries after them, so the outcome is what apply would be allowed to do.
    GateOutcome filter(const Plan& plan, const OverriddenPredicate& is_overridden) const;

    // The applier reports each write it attempted (applied or failed: a failed
    // write must not be retried in a tight loop either).
    void record_change(std::string_view key);
    void record_change_at(std::string_view key, std::chrono::steady_clock::time_point when);

    const GateLimits& limits() const { return limits_; }

  private:
    std::optional<GateRefusal> check_timing_with(std::string_view key,
                                                 std::chrono::steady_clock::time_point now) const;

    const Clock& clock_;
    GateLimits limits_;
    Validator validator_;
    std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> last_change_;
    mutable std::deque<std::chrono::steady_clock::time_point> recent_;
};

}  // namespace tcptune
