#include "tcptune/engine/namespace_status.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "tcptune/apply/journal.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune {

namespace {

using json = nlohmann::json;

bool matches(const NetnsInfo& ns, std::string_view spec) {
    std::uint64_t inode = 0;
    const char* end = spec.data() + spec.size();
    if (!spec.empty() && std::from_chars(spec.data(), end, inode).ptr == end) {
        return ns.id.inode == inode;
    }
    return ns.name == spec || (!ns.ip_netns_name.empty() && ns.ip_netns_name == spec);
}

json states_json(const StateCounts& counts) {
    json out = json::object();
    for (TcpState state : kAllTcpStates) {
        out[std::string(state_name(state))] = counts[state];
    }
    return out;
}

json identity_json(const NetnsInfo& ns) {
    json out = {{"name", ns.name}, {"inode", ns.id.inode}};
    if (!ns.ip_netns_name.empty()) {
        out["ip_netns"] = ns.ip_netns_name;
    }
    if (ns.pid) {
        out["pid"] = *ns.pid;
    }
    return out;
}

json managed_json(ManagedNamespace& managed) {
    const ControllerStatus s = managed.controller().status();
    json out = identity_json(managed.ns());
    out["state"] = "managed";
    out["profile"] = s.profile;
    out["selected_profile"] = managed.profile();
    out["mode"] = s.mode == ApplyMode::kAdvise ? "advise" : "enforce";
    out["journal"] = (managed.journal_dir() / std::string(kJournalFileName)).string();
    out["journal_error"] = s.journal_error ? s.journal_error->message : "";
    out["unavailable_rules"] = managed.unavailable_rules();
    out["polls"] = s.polls;
    out["poll_errors"] = s.poll_errors;
    out["last_poll_error"] = s.last_poll_error ? s.last_poll_error->message : "";
    out["states"] = states_json(s.last_snapshot ? s.last_snapshot->counts : StateCounts{});
    json rules = json::array();
    for (const RuleStatus& r : s.rules) {
        rules.push_back({{"name", r.name},
                         {"metric", r.metric},
                         {"threshold", r.threshold},
                         {"active", r.active},
                         {"triggers", r.trigger_count}});
    }
    out["rules"] = std::move(rules);
    json sysctls = json::array();
    for (const SysctlView& v : s.sysctls) {
        sysctls.push_back({{"key", v.key},
                           {"current", v.current},
                           {"original", v.original ? json(*v.original) : json(nullptr)},
                           {"desired", v.desired ? json(*v.desired) : json(nullptr)},
                           {"owner", std::string(to_string(v.owner))}});
    }
    out["sysctls"] = std::move(sysctls);
    json changes = json::array();
    for (const ChangeRecord& c : managed.controller().recent_changes()) {
        changes.push_back({{"key", c.key},
                           {"old_value", c.old_value},
                           {"new_value", c.new_value},
                           {"result", std::string(to_string(c.result))},
                           {"detail", c.detail},
                           {"at", format_utc(c.at)}});
    }
    out["recent_changes"] = std::move(changes);
    return out;
}

}  // namespace

Result<json> namespace_status_json(NamespaceFleet& fleet, std::string_view spec,
                                   const std::vector<NamespaceCounts>& latest) {
    if (ManagedNamespace* managed = fleet.find(spec)) {
        return managed_json(*managed);
    }
    for (const auto& [inode, refused] : fleet.refused()) {
        if (matches(refused.ns, spec)) {
            json out = identity_json(refused.ns);
            out["state"] = "refused";
            out["profile"] = std::string(kNoProfile);
            out["selected_profile"] = refused.profile;
            out["reason"] = refused.error.message;
            for (const NamespaceCounts& c : latest) {
                if (c.ns.id == refused.ns.id) {
                    out["states"] = states_json(c.counts);
                }
            }
            return out;
        }
    }
    for (const NamespaceCounts& c : latest) {
        if (matches(c.ns, spec)) {
            json out = identity_json(c.ns);
            out["state"] = "watched";
            out["profile"] = std::string(kNoProfile);
            out["selected_profile"] = fleet.selected_profile(c.ns);
            out["states"] = states_json(c.counts);
            return out;
        }
    }
    return make_error(ErrorCode::kNotFound,
                      fmt::format("no watched network namespace is named or numbered {} (see "
                                  "tcptune namespaces)",
                                  spec));
}

Result<std::vector<ChangeRecord>> rollback_namespaces(NamespaceFleet& fleet, std::string_view spec,
                                                      bool force) {
    std::vector<ManagedNamespace*> targets;
    if (spec == kAllNamespaces) {
        targets = fleet.managed();
    } else if (ManagedNamespace* managed = fleet.find(spec)) {
        targets.push_back(managed);
    } else {
        return make_error(ErrorCode::kNotFound,
                          fmt::format("tcptune manages no network namespace named or numbered {} "
                                      "(see tcptune namespaces)",
                                      spec));
    }
    std::vector<ChangeRecord> out;
    for (ManagedNamespace* managed : targets) {
        std::vector<ChangeRecord> records;
        TRY_ASSIGN(records, managed->controller().rollback(force));
        for (ChangeRecord& record : records) {
            if (spec == kAllNamespaces) {
                record.detail = "netns " + managed->ns().name + ": " + record.detail;
            }
            out.push_back(std::move(record));
        }
    }
    return out;
}

}  // namespace tcptune
