#include "tcptune/profile/profile_writer.hpp"

#include <yaml-cpp/yaml.h>

#include "tcptune/duration.hpp"

namespace tcptune {

namespace {

std::string origin(const SourceLocation& where) {
    return where.file + ":" + std::to_string(where.line);
}

void emit_settings(YAML::Emitter& out, const std::vector<SysctlSetting>& settings,
                   const ProfileWriteOptions& options) {
    out << YAML::BeginMap;
    for (const SysctlSetting& s : settings) {
        out << YAML::Key << s.key << YAML::Value << s.value;
        if (options.origins) {
            out << YAML::Comment(origin(s.where));
        }
    }
    out << YAML::EndMap;
}

void emit_rule(YAML::Emitter& out, const Rule& rule, const ProfileWriteOptions& options) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << rule.name;
    if (options.origins) {
        out << YAML::Comment("profile " + rule.defined_in + ", " + origin(rule.where));
    }
    out << YAML::Key << "when" << YAML::Value << YAML::Flow << YAML::BeginMap;
    const auto [metric_key, metric_value] = metric_key_value(rule.when.metric);
    out << YAML::Key << metric_key << YAML::Value << metric_value;
    out << YAML::Key << "above" << YAML::Value << format_threshold(rule.when.above);
    if (!rule.when.of.empty()) {
        out << YAML::Key << "of" << YAML::Value << rule.when.of;
    }
    out << YAML::Key << "for" << YAML::Value << rule.when.polls << YAML::EndMap;
    out << YAML::Key << "clear" << YAML::Value << YAML::Flow << YAML::BeginMap;
    // Without an explicit `below`, a rule clears when the value drops below
    // `above`; an explicit `below` equal to `above` is refused (it would flap),
    // so the default is printed by leaving it out.
    if (rule.clear.below != rule.when.above) {
        out << YAML::Key << "below" << YAML::Value << format_threshold(rule.clear.below);
    }
    out << YAML::Key << "for" << YAML::Value << rule.clear.polls << YAML::EndMap;
    out << YAML::Key << "cooldown" << YAML::Value << format_duration(rule.cooldown);
    if (!rule.apply.empty()) {
        out << YAML::Key << "apply" << YAML::Value;
        emit_settings(out, rule.apply, options);
    }
    out << YAML::Key << "revert" << YAML::Value << (rule.revert ? "true" : "false");
    if (!rule.apply.empty()) {
        if (!rule.verify.enabled) {
            out << YAML::Key << "verify" << YAML::Value << "false";
        } else if (rule.verify.metric || rule.verify.within > 0) {
            out << YAML::Key << "verify" << YAML::Value << YAML::Flow << YAML::BeginMap;
            if (rule.verify.metric) {
                const auto [key, value] = metric_key_value(*rule.verify.metric);
                out << YAML::Key << key << YAML::Value << value;
            }
            if (rule.verify.within > 0) {
                out << YAML::Key << "within" << YAML::Value << rule.verify.within;
            }
            out << YAML::EndMap;
        }
    }
    out << YAML::Key << "why" << YAML::Value << YAML::DoubleQuoted << rule.why;
    out << YAML::EndMap;
}

nlohmann::json settings_json(const std::vector<SysctlSetting>& settings) {
    nlohmann::json j = nlohmann::json::object();
    for (const SysctlSetting& s : settings) {
        j[s.key] = s.value;
    }
    return j;
}

}  // namespace

std::string profile_to_yaml(const ResolvedProfile& profile, ProfileWriteOptions options) {
    YAML::Emitter out;
    std::string lineage;
    for (const std::string& name : profile.lineage) {
        lineage += (lineage.empty() ? "" : " <- ") + name;
    }
    out << YAML::Comment("resolved profile: " + lineage);
    if (options.origins) {
        for (std::size_t i = 0; i < profile.lineage.size() && i < profile.sources.size(); ++i) {
            out << YAML::Newline << YAML::Comment(profile.lineage[i] + ": " + profile.sources[i]);
        }
    }
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << profile.name;
    out << YAML::Key << "description" << YAML::Value << YAML::DoubleQuoted << profile.description;
    out << YAML::Key << "interval" << YAML::Value << format_duration(profile.interval);
    out << YAML::Key << "verify_within" << YAML::Value << profile.verify_within;
    out << YAML::Key << "sysctls" << YAML::Value;
    emit_settings(out, profile.sysctls, options);
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const Rule& rule : profile.rules) {
        emit_rule(out, rule, options);
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

nlohmann::json profile_to_json(const ResolvedProfile& profile, ProfileWriteOptions options) {
    nlohmann::json j;
    j["name"] = profile.name;
    j["description"] = profile.description;
    j["interval_seconds"] = static_cast<double>(profile.interval.count()) / 1000.0;
    j["verify_within"] = profile.verify_within;
    j["lineage"] = profile.lineage;
    j["sources"] = profile.sources;
    j["sysctls"] = settings_json(profile.sysctls);
    nlohmann::json rules = nlohmann::json::array();
    for (const Rule& rule : profile.rules) {
        nlohmann::json r;
        r["name"] = rule.name;
        r["defined_in"] = rule.defined_in;
        nlohmann::json when;
        const auto [metric_key, metric_value] = metric_key_value(rule.when.metric);
        when[metric_key] = metric_value;
        when["above"] = rule.when.above.value;
        when["percent"] = rule.when.above.percent;
        if (!rule.when.of.empty()) {
            when["of"] = rule.when.of;
        }
        when["for"] = rule.when.polls;
        r["when"] = when;
        r["clear"] = {{"below", rule.clear.below.value}, {"for", rule.clear.polls}};
        r["cooldown_seconds"] = static_cast<double>(rule.cooldown.count()) / 1000.0;
        r["apply"] = settings_json(rule.apply);
        r["revert"] = rule.revert;
        if (!rule.apply.empty()) {
            nlohmann::json verify;
            verify["enabled"] = rule.verify.enabled;
            const auto [key, value] =
                metric_key_value(rule.verify.metric.value_or(rule.when.metric));
            verify[key] = value;
            verify["within"] = rule.verify.within > 0 ? rule.verify.within : profile.verify_within;
            r["verify"] = verify;
        }
        r["why"] = rule.why;
        rules.push_back(r);
    }
    j["rules"] = rules;
    if (options.origins) {
        nlohmann::json sysctls = nlohmann::json::object();
        for (const SysctlSetting& s : profile.sysctls) {
            sysctls[s.key] = origin(s.where);
        }
        nlohmann::json rule_origins = nlohmann::json::object();
        for (const Rule& rule : profile.rules) {
            rule_origins[rule.name] = origin(rule.where);
        }
        j["origins"] = {{"sysctls", sysctls}, {"rules", rule_origins}};
    }
    return j;
}

}  // namespace tcptune
