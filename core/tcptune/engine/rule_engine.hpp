#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/engine/plan.hpp"
#include "tcptune/profile/profile.hpp"

namespace tcptune {

using SteadyTime = std::chrono::steady_clock::time_point;

// Live sysctl values, key -> normalized value (normalize_sysctl_value). The
// engine reads it for percentage thresholds (`of:`) and to remember what a key
// was before a rule changed it.
using SysctlValues = std::map<std::string, std::string>;

// What the engine remembers about one rule between polls.
struct RuleState {
    bool active = false;
    int polls_above = 0;  // consecutive polls satisfying `when` (while inactive)
    int polls_below = 0;  // consecutive polls satisfying `clear` (while active)
    std::optional<SteadyTime> active_since;
    std::optional<SteadyTime> last_change;  // last time the rule planned a change (cooldown)
    std::optional<double> last_observed;    // in the rule's unit (count, increase, or %)
    std::string last_reading;               // the last reading for humans
    std::uint64_t trigger_count = 0;
    // Value each applied key had before the rule fired: the revert target.
    std::map<std::string, std::string> saved_values;
    // The listener or destination the rule fired on ("" for namespace-wide metrics).
    std::string subject;
    // Effect verification (Rule::verify): the verified metric's value when the rule
    // fired, and the polls since the controller saw its change applied.
    std::optional<double> value_at_fire;
    std::set<std::string> changed_keys;  // keys the controller saw applied
    bool verifying = false;
    int polls_verifying = 0;
    // The change did not help and was reverted: the rule stays active (its
    // condition still holds) but does not act again until it has cleared.
    bool ineffective = false;
    std::string verdict;  // "", "helped", "did not help"
    std::string verdict_detail;
    bool operator==(const RuleState&) const = default;
};

// Everything the engine carries from one poll to the next. Start with a
// default-constructed state; a state for another profile is discarded.
struct EngineState {
    std::string profile;                              // profile the state belongs to
    bool baseline_planned = false;                    // baseline sysctls already planned
    std::optional<NetstatCounters> previous_netstat;  // for `increase:` metrics
    std::map<std::string, RuleState> rules;           // by rule name
    bool operator==(const EngineState&) const = default;
};

struct EngineInput {
    const ResolvedProfile& profile;
    const CensusSnapshot& snapshot;
    const SysctlValues& sysctls;
    const EngineState& previous;
    SteadyTime now;
};

struct EngineOutput {
    EngineState state;
    Plan plan;
};

// One poll: pure function of its input.
//  - On the first poll of a profile, the profile's baseline sysctls are planned.
//  - A rule fires after `when.for` consecutive polls above its threshold, clears
//    after `clear.for` consecutive polls below `clear.below` (hysteresis).
//  - Cooldown: a rule plans no change (fire or revert) sooner than `cooldown`
//    after its previous change; a sustained condition waits and then acts.
//  - With `revert: true`, clearing plans each applied key back to the value it
//    had before the rule fired (the baseline value if the profile sets one).
//  - A metric that cannot be computed this poll (first poll of an increase, a
//    counter reset, a missing `of` sysctl) leaves the rule's counters unchanged.
//  - Per-listener and per-destination metrics fire on the worst subject and name
//    it; the subject is kept for verification and status.
//  - Verification: once the controller reports a rule's change applied
//    (note_applied), the rule's verify metric must improve (for its subject) within
//    `verify.within` polls: drop by at least 10% or below `clear.below`. If not,
//    the changed keys are planned back ("did not help") and the rule goes
//    `ineffective` until its condition clears.
EngineOutput evaluate_rules(const EngineInput& input);

// The controller tells the engine which planned changes were really written, so
// verification starts only for rules that changed something.
void note_applied(EngineState& state, const Plan& plan, const std::vector<bool>& applied);

// The share a verified signal must drop by to count as improved.
inline constexpr double kVerifyImprovement = 0.10;

// Per-rule view for status, D-Bus and metrics.
struct RuleStatus {
    std::string name;
    std::string metric;     // "time_wait", "increase(listen_overflows)", "listener.syn_queue"
    std::string threshold;  // "20000", "80% of net.ipv4.tcp_max_syn_backlog"
    bool active = false;
    std::optional<SteadyTime> since;
    std::optional<double> last_observed;
    std::uint64_t trigger_count = 0;
    int polls_above = 0;
    int polls_below = 0;
    std::optional<SteadyTime> cooldown_until;  // set while a cooldown is running
    std::string subject;                       // listener / destination it fired on
    std::string reading;                       // the last reading, for humans
    std::string verdict;                       // "", "verifying", "helped", "did not help"
    std::string verdict_detail;
};

std::vector<RuleStatus> rule_statuses(const ResolvedProfile& profile, const EngineState& state,
                                      SteadyTime now);

// What the profile wants a key to be right now, and who wants it: the baseline
// (`rule` empty) overlaid by the `apply` of every active rule. For status views
// ("desired" / "owner") and for reconciling after a change the gate held back.
struct DesiredSysctl {
    std::string key;
    std::string value;
    std::string rule;  // empty: the profile's baseline
    bool operator==(const DesiredSysctl&) const = default;
};

std::vector<DesiredSysctl> desired_sysctls(const ResolvedProfile& profile,
                                           const EngineState& state);

}  // namespace tcptune
