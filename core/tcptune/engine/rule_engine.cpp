#include "tcptune/engine/rule_engine.hpp"

#include <algorithm>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/engine/signal_reading.hpp"

namespace tcptune {

namespace {

// One poll's reading of a rule's `when` metric, in the rule's unit.
struct Observation {
    SignalReading reading;                // value in the rule's unit before `of`
    double value = 0;                     // compared with the thresholds
    std::optional<std::int64_t> of_live;  // the `of` sysctl's live value, for percentages
};

std::optional<Observation> observe(const Rule& rule, const CensusSnapshot& snapshot,
                                   const std::optional<NetstatCounters>& previous_netstat,
                                   const SysctlValues& sysctls) {
    auto reading = read_signal(rule.when.metric, snapshot, previous_netstat);
    if (!reading) {
        return std::nullopt;
    }
    Observation o;
    o.value = reading->value;
    o.reading = std::move(*reading);
    if (rule.when.above.percent && !rule.when.metric.intrinsic_percent()) {
        auto it = sysctls.find(rule.when.of);
        if (it == sysctls.end()) {
            return std::nullopt;
        }
        auto numbers = parse_sysctl_integers(it->second);
        if (!numbers || numbers->size() != 1 || numbers->front() <= 0) {
            return std::nullopt;
        }
        o.of_live = numbers->front();
        o.value = o.value * 100.0 / static_cast<double>(*o.of_live);
    }
    return o;
}

std::string describe_observation(const Rule& rule, const Observation& o) {
    std::string text = o.reading.text;
    if (o.of_live) {
        text += " = " + format_number(o.value) + "% of " + rule.when.of + " (" +
                std::to_string(*o.of_live) + ")";
    }
    return text;
}

std::string describe_threshold(const Rule& rule, const Threshold& t) {
    std::string text = format_threshold(t);
    if (t.percent && !rule.when.of.empty()) {
        text += " of " + rule.when.of;
    }
    return text;
}

std::string polls_text(int n) {
    return std::to_string(n) + (n == 1 ? " poll" : " polls");
}

bool cooldown_over(const Rule& rule, const RuleState& rs, SteadyTime now) {
    return !rs.last_change || now - *rs.last_change >= rule.cooldown;
}

const SysctlSetting* find_setting(const std::vector<SysctlSetting>& settings,
                                  const std::string& key) {
    for (const SysctlSetting& s : settings) {
        if (s.key == key) {
            return &s;
        }
    }
    return nullptr;
}

const Metric& verify_metric(const Rule& rule) {
    return rule.verify.metric ? *rule.verify.metric : rule.when.metric;
}

// The subject the verify metric is read for: the fired one when the verified
// metric is of the same kind (same listener, same destination), else none.
std::string verify_subject(const Rule& rule, const RuleState& rs) {
    const Metric& m = verify_metric(rule);
    return m.per_subject() && m.kind == rule.when.metric.kind ? rs.subject : std::string();
}

void fire(const EngineInput& in, const Rule& rule, RuleState& rs, const Observation& o,
          Plan& plan) {
    rs.active = true;
    rs.active_since = in.now;
    rs.polls_below = 0;
    ++rs.trigger_count;
    rs.saved_values.clear();
    rs.changed_keys.clear();
    rs.subject = o.reading.subject;
    rs.verifying = false;
    rs.polls_verifying = 0;
    rs.ineffective = false;
    rs.verdict.clear();
    rs.verdict_detail.clear();
    rs.value_at_fire.reset();
    if (auto v = read_signal_of(verify_metric(rule), verify_subject(rule, rs), in.snapshot,
                                in.previous.previous_netstat)) {
        rs.value_at_fire = v->value;
    }
    const std::string reason = "rule " + rule.name + " fired: " + describe_observation(rule, o) +
                               " above " + describe_threshold(rule, rule.when.above) + " for " +
                               polls_text(rule.when.polls) + "; " + rule.why;
    for (const SysctlSetting& s : rule.apply) {
        // The revert target is what the key should be without this rule: the
        // profile's baseline if it sets one (it may not be written yet on the
        // first poll), else the live value.
        if (const SysctlSetting* base = find_setting(in.profile.sysctls, s.key)) {
            rs.saved_values[s.key] = base->value;
        } else if (auto it = in.sysctls.find(s.key); it != in.sysctls.end()) {
            rs.saved_values[s.key] = normalize_sysctl_value(it->second);
        }
        plan.push_back(PlannedChange{s.key, s.value, in.profile.name, rule.name, reason,
                                     ChangePurpose::kRuleFired, rs.subject});
    }
    if (!rule.apply.empty()) {
        rs.last_change = in.now;
    }
}

void clear(const EngineInput& in, const Rule& rule, RuleState& rs, const Observation& o,
           Plan& plan) {
    rs.active = false;
    rs.active_since.reset();
    rs.polls_above = 0;
    rs.verifying = false;
    rs.ineffective = false;
    if (rule.revert) {
        const std::string reason =
            "rule " + rule.name + " cleared: " + describe_observation(rule, o) + " below " +
            describe_threshold(rule, rule.clear.below) + " for " + polls_text(rule.clear.polls) +
            "; restoring the value from before the rule fired";
        bool planned = false;
        for (const SysctlSetting& s : rule.apply) {
            auto it = rs.saved_values.find(s.key);
            if (it == rs.saved_values.end()) {
                continue;  // never knew the old value (or already restored): leave it
            }
            plan.push_back(PlannedChange{s.key, it->second, in.profile.name, rule.name, reason,
                                         ChangePurpose::kRuleCleared, rs.subject});
            planned = true;
        }
        if (planned) {
            rs.last_change = in.now;
        }
    }
    rs.saved_values.clear();
    rs.changed_keys.clear();
}

// One poll of an active rule whose change was applied: did it help?
void verify(const EngineInput& in, const Rule& rule, RuleState& rs, Plan& plan) {
    const Metric& metric = verify_metric(rule);
    const std::string subject = verify_subject(rule, rs);
    auto now = read_signal_of(metric, subject, in.snapshot, in.previous.previous_netstat);
    if (!now) {
        return;  // cannot tell this poll
    }
    ++rs.polls_verifying;
    const bool same_metric = metric == rule.when.metric;
    const bool below_clear =
        same_metric && rule.when.of.empty() && now->value < rule.clear.below.value;
    const bool dropped =
        rs.value_at_fire && now->value <= *rs.value_at_fire * (1.0 - kVerifyImprovement);
    const std::string before =
        rs.value_at_fire ? format_number(*rs.value_at_fire) : std::string("unknown");
    if (below_clear || dropped) {
        rs.verifying = false;
        rs.verdict = "helped";
        rs.verdict_detail = metric.describe() + (subject.empty() ? "" : " of " + subject) + " " +
                            before + " when the rule fired, " + format_number(now->value) +
                            " after " + polls_text(rs.polls_verifying);
        return;
    }
    const int within = rule.verify.within > 0 ? rule.verify.within : in.profile.verify_within;
    if (rs.polls_verifying < within) {
        return;
    }
    rs.verifying = false;
    rs.ineffective = true;
    rs.verdict = "did not help";
    rs.verdict_detail = metric.describe() + (subject.empty() ? "" : " of " + subject) + " " +
                        before + " when the rule fired, " + now->text + " after " +
                        polls_text(rs.polls_verifying);
    const std::string reason = "rule " + rule.name + " did not help: " + rs.verdict_detail +
                               "; restoring the value from before the rule fired";
    bool planned = false;
    for (const SysctlSetting& s : rule.apply) {
        auto it = rs.saved_values.find(s.key);
        if (it == rs.saved_values.end() || !rs.changed_keys.contains(s.key)) {
            continue;
        }
        plan.push_back(PlannedChange{s.key, it->second, in.profile.name, rule.name, reason,
                                     ChangePurpose::kDidNotHelp, rs.subject});
        planned = true;
    }
    rs.saved_values.clear();
    rs.changed_keys.clear();
    if (planned) {
        rs.last_change = in.now;
    }
}

}  // namespace

EngineOutput evaluate_rules(const EngineInput& in) {
    EngineOutput out;
    if (in.previous.profile == in.profile.name) {
        out.state = in.previous;
    } else {
        // A new profile starts from scratch; counters are namespace-wide, keep them.
        out.state.profile = in.profile.name;
        out.state.previous_netstat = in.previous.previous_netstat;
    }
    if (!out.state.baseline_planned) {
        for (const SysctlSetting& s : in.profile.sysctls) {
            out.plan.push_back(PlannedChange{s.key, s.value, in.profile.name, "",
                                             "baseline of profile " + in.profile.name,
                                             ChangePurpose::kBaseline, ""});
        }
        out.state.baseline_planned = true;
    }
    // Forget rules a reloaded profile no longer has.
    std::erase_if(out.state.rules,
                  [&](const auto& entry) { return in.profile.find_rule(entry.first) == nullptr; });

    for (const Rule& rule : in.profile.rules) {
        RuleState& rs = out.state.rules[rule.name];
        auto o = observe(rule, in.snapshot, in.previous.previous_netstat, in.sysctls);
        if (!o) {
            continue;
        }
        rs.last_observed = o->value;
        rs.last_reading = describe_observation(rule, *o);
        if (!rs.active) {
            rs.polls_above = o->value > rule.when.above.value
                                 ? std::min(rs.polls_above + 1, rule.when.polls)
                                 : 0;
            if (rs.polls_above >= rule.when.polls && cooldown_over(rule, rs, in.now)) {
                fire(in, rule, rs, *o, out.plan);
            }
            continue;
        }
        if (rs.verifying && rule.verify.enabled) {
            verify(in, rule, rs, out.plan);
        }
        rs.polls_below =
            o->value < rule.clear.below.value ? std::min(rs.polls_below + 1, rule.clear.polls) : 0;
        // An ineffective rule has nothing left to revert: it clears without waiting.
        if (rs.polls_below >= rule.clear.polls &&
            (rs.ineffective || cooldown_over(rule, rs, in.now))) {
            clear(in, rule, rs, *o, out.plan);
        }
    }
    out.state.previous_netstat = in.snapshot.netstat;
    return out;
}

void note_applied(EngineState& state, const Plan& plan, const std::vector<bool>& applied) {
    for (std::size_t i = 0; i < plan.size() && i < applied.size(); ++i) {
        const PlannedChange& change = plan[i];
        if (!applied[i] || change.purpose != ChangePurpose::kRuleFired) {
            continue;
        }
        auto it = state.rules.find(change.rule);
        if (it == state.rules.end() || !it->second.active || it->second.ineffective) {
            continue;
        }
        it->second.changed_keys.insert(change.key);
        if (!it->second.verifying) {
            it->second.verifying = true;
            it->second.polls_verifying = 0;
            it->second.verdict = "verifying";
        }
    }
}

std::vector<RuleStatus> rule_statuses(const ResolvedProfile& profile, const EngineState& state,
                                      SteadyTime now) {
    std::vector<RuleStatus> out;
    const bool same_profile = state.profile == profile.name;
    for (const Rule& rule : profile.rules) {
        RuleStatus s;
        s.name = rule.name;
        s.metric = rule.when.metric.describe();
        s.threshold = describe_threshold(rule, rule.when.above);
        if (auto it = state.rules.find(rule.name); same_profile && it != state.rules.end()) {
            const RuleState& rs = it->second;
            s.active = rs.active;
            s.since = rs.active_since;
            s.last_observed = rs.last_observed;
            s.trigger_count = rs.trigger_count;
            s.polls_above = rs.polls_above;
            s.polls_below = rs.polls_below;
            if (rs.last_change && *rs.last_change + rule.cooldown > now) {
                s.cooldown_until = *rs.last_change + rule.cooldown;
            }
            s.subject = rs.active ? rs.subject : std::string();
            s.reading = rs.last_reading;
            s.verdict = rs.verdict;
            s.verdict_detail = rs.verdict_detail;
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<DesiredSysctl> desired_sysctls(const ResolvedProfile& profile,
                                           const EngineState& state) {
    std::vector<DesiredSysctl> out;
    for (const SysctlSetting& s : profile.sysctls) {
        out.push_back(DesiredSysctl{s.key, s.value, ""});
    }
    if (state.profile != profile.name) {
        return out;
    }
    for (const Rule& rule : profile.rules) {
        auto it = state.rules.find(rule.name);
        if (it == state.rules.end() || !it->second.active || it->second.ineffective) {
            continue;
        }
        for (const SysctlSetting& s : rule.apply) {
            auto existing = std::find_if(out.begin(), out.end(),
                                         [&](const DesiredSysctl& d) { return d.key == s.key; });
            if (existing != out.end()) {
                *existing = DesiredSysctl{s.key, s.value, rule.name};
            } else {
                out.push_back(DesiredSysctl{s.key, s.value, rule.name});
            }
        }
    }
    return out;
}

}  // namespace tcptune
