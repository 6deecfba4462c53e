#include "tcptune/apply/safety_gate.hpp"

#include <algorithm>
#include <utility>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/enum_names.hpp"

namespace tcptune {

namespace {
constexpr std::chrono::seconds kRateWindow{60};
}

std::string_view to_string(GateRefusalKind kind) {
    static constexpr EnumNames<GateRefusalKind, 6> kNames = {{
        {GateRefusalKind::kInvalid, "invalid"},
        {GateRefusalKind::kOverridden, "overridden"},
        {GateRefusalKind::kCooldown, "cooldown"},
        {GateRefusalKind::kRateLimit, "rate_limit"},
        {GateRefusalKind::kIneffective, "ineffective"},
        {GateRefusalKind::kConflict, "conflict"},
    }};
    static_assert(lists_every_value(kNames));
    return name_of(kNames, kind);
}

SafetyGate::SafetyGate(const Clock& clock, GateLimits limits, Validator validator)
    : clock_(clock), limits_(limits), validator_(std::move(validator)) {
    if (!validator_) {
        validator_ = [](std::string_view key, std::string_view value) {
            return validate_sysctl_value(key, value);
        };
    }
}

tl::expected<std::string, GateRefusal> SafetyGate::check_value(const PlannedChange& change) const {
    auto valid = validator_(change.key, change.value);
    if (!valid) {
        return tl::unexpected(GateRefusal{GateRefusalKind::kInvalid, valid.error().message});
    }
    return *valid;
}

std::optional<GateRefusal> SafetyGate::check_effect(const PlannedChange& change,
                                                    const Reader& read) const {
    // Restoring a value (a cleared rule, an undone change) is always allowed:
    // refusing it would leave tcptune's own change in place.
    if (change.purpose != ChangePurpose::kBaseline && change.purpose != ChangePurpose::kRuleFired) {
        return std::nullopt;
    }
    const SysctlSpec* spec = find_sysctl(change.key);
    if (spec == nullptr) {
        return std::nullopt;
    }
    if (auto why = ignored_by_kernel(*spec, read)) {
        return GateRefusal{GateRefusalKind::kIneffective, *why + "; not changed"};
    }
    return std::nullopt;
}

std::optional<GateRefusal> SafetyGate::check_timing(std::string_view key) const {
    return check_timing_with(key, clock_.now());
}

std::optional<GateRefusal> SafetyGate::check_timing_with(
    std::string_view key, std::chrono::steady_clock::time_point now) const {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    if (auto it = last_change_.find(key); it != last_change_.end()) {
        const auto since = now - it->second;
        if (since < limits_.key_cooldown) {
            const auto wait = duration_cast<seconds>(limits_.key_cooldown - since) + seconds(1);
            return GateRefusal{GateRefusalKind::kCooldown,
                               std::string(key) + " was changed " +
                                   std::to_string(duration_cast<seconds>(since).count()) +
                                   " s ago; the minimum time between changes of one key is " +
                                   std::to_string(limits_.key_cooldown.count()) +
                                   " s (retry in about " + std::to_string(wait.count()) + " s)"};
        }
    }
    while (!recent_.empty() && now - recent_.front() >= kRateWindow) {
        recent_.pop_front();
    }
    if (recent_.size() >= limits_.max_changes_per_minute) {
        return GateRefusal{GateRefusalKind::kRateLimit,
                           "rate limit reached: " + std::to_string(limits_.max_changes_per_minute) +
                               " sysctl changes per minute already made; " + std::string(key) +
                               " waits for the next window"};
    }
    return std::nullopt;
}

GateOutcome SafetyGate::filter(const Plan& plan, const OverriddenPredicate& is_overridden) const {
    GateOutcome outcome;
    // Simulate on a copy so entries that pass count against the ones after them
    // (rate limit, and cooldown for a key planned twice) without touching this gate.
    SafetyGate sim = *this;
    const auto now = clock_.now();
    for (const PlannedChange& change : plan) {
        auto value = check_value(change);
        if (!value) {
            outcome.dropped.push_back({change, value.error()});
            continue;
        }
        if (is_overridden && is_overridden(change.key)) {
            outcome.dropped.push_back(
                {change, GateRefusal{GateRefusalKind::kOverridden,
                                     change.key +
                                         " was changed by someone else; tcptune leaves it alone "
                                         "until `tcptune resume " +
                                         change.key + "`"}});
            continue;
        }
        if (auto refusal = sim.check_timing_with(change.key, now)) {
            outcome.dropped.push_back({change, *refusal});
            continue;
        }
        sim.record_change_at(change.key, now);
        PlannedChange passed = change;
        passed.value = *value;
        outcome.passed.push_back(std::move(passed));
    }
    return outcome;
}

void SafetyGate::record_change(std::string_view key) {
    record_change_at(key, clock_.now());
}

void SafetyGate::record_change_at(std::string_view key,
                                  std::chrono::steady_clock::time_point when) {
    auto it = last_change_.find(key);
    if (it == last_change_.end()) {
        last_change_.emplace(std::string(key), when);
    } else if (when > it->second) {
        it->second = when;
    }
    // Kept sorted: seeding from the journal after a restart adds past times.
    recent_.insert(std::upper_bound(recent_.begin(), recent_.end(), when), when);
}

}  // namespace tcptune
