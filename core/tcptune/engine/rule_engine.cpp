#include "tcptune/engine/rule_engine.hpp"

#include <algorithm>

#include "tcptune/apply/sysctl_registry.hpp"

namespace tcptune {

namespace {

// One poll's reading of a rule's metric.
struct Observation {
    double value = 0;                     // in the rule's unit: count, increase or percent
    std::uint64_t raw = 0;                // the count or increase itself
    std::optional<std::int64_t> of_live;  // the `of` sysctl's live value, for percentages
};

std::optional<Observation> observe(const Rule& rule, const CensusSnapshot& snapshot,
                                   const std::optional<NetstatCounters>& previous_netstat,
                                   const SysctlValues& sysctls) {
    Observation o;
    const Metric& m = rule.when.metric;
    if (m.kind == Metric::Kind::kState) {
        o.raw = snapshot.counts[m.state];
    } else {
        if (!previous_netstat) {
            return std::nullopt;  // an increase needs two polls
        }
        const std::uint64_t now = counter_value(snapshot.netstat, m.counter);
        const std::uint64_t before = counter_value(*previous_netstat, m.counter);
        if (now < before) {
            return std::nullopt;  // counters were reset (new namespace, module reload)
        }
        o.raw = now - before;
    }
    o.value = static_cast<double>(o.raw);
    if (rule.when.above.percent) {
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
    std::string text = rule.when.metric.describe() + " " + std::to_string(o.raw);
    if (o.of_live) {
        text += " = " + format_number(o.value) + "% of " + rule.when.of + " (" +
                std::to_string(*o.of_live) + ")";
    }
    return text;
}

std::string describe_threshold(const Rule& rule, const Threshold& t) {
    std::string text = format_threshold(t);
    if (t.percent) {
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

void fire(const EngineInput& in, const Rule& rule, RuleState& rs, const Observation& o,
          Plan& plan) {
    rs.active = true;
    rs.active_since = in.now;
    rs.polls_below = 0;
    ++rs.trigger_count;
    rs.saved_values.clear();
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
        plan.push_back(PlannedChange{s.key, s.value, in.profile.name, rule.name, reason});
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
    if (rule.revert) {
        const std::string reason =
            "rule " + rule.name + " cleared: " + describe_observation(rule, o) + " below " +
            describe_threshold(rule, rule.clear.below) + " for " + polls_text(rule.clear.polls) +
            "; restoring the value from before the rule fired";
        bool planned = false;
        for (const SysctlSetting& s : rule.apply) {
            auto it = rs.saved_values.find(s.key);
            if (it == rs.saved_values.end()) {
                continue;  // never knew the old value: leave the key alone
            }
            plan.push_back(PlannedChange{s.key, it->second, in.profile.name, rule.name, reason});
            planned = true;
        }
        if (planned) {
            rs.last_change = in.now;
        }
    }
    rs.saved_values.clear();
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
                                             "baseline of profile " + in.profile.name});
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
        if (!rs.active) {
            rs.polls_above = o->value > rule.when.above.value
                                 ? std::min(rs.polls_above + 1, rule.when.polls)
                                 : 0;
            if (rs.polls_above >= rule.when.polls && cooldown_over(rule, rs, in.now)) {
                fire(in, rule, rs, *o, out.plan);
            }
        } else {
            rs.polls_below = o->value < rule.clear.below.value
                                 ? std::min(rs.polls_below + 1, rule.clear.polls)
                                 : 0;
            if (rs.polls_below >= rule.clear.polls && cooldown_over(rule, rs, in.now)) {
                clear(in, rule, rs, *o, out.plan);
            }
        }
    }
    out.state.previous_netstat = in.snapshot.netstat;
    return out;
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
        if (it == state.rules.end() || !it->second.active) {
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
