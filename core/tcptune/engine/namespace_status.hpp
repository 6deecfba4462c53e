#pragma once

// One namespace's status as JSON (`tcptune status --netns`, D-Bus GetNamespaceStatus)
// and rollback by namespace (`tcptune rollback --netns`, D-Bus RollbackNamespace).
// The JSON: name, inode, ip_netns, pid, state ("managed" | "refused" | "watched"),
// profile (in force, "none" unless managed), selected_profile, reason (refused),
// journal, journal_error, unavailable_rules, polls, poll_errors, last_poll_error,
// states {11 states}, rules [{name, metric, threshold, active, triggers}], sysctls
// [{key, current, original, desired, owner}], recent_changes [{key, old_value,
// new_value, result, detail, at}].

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/engine/namespace_fleet.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// `spec` is a name, ip netns name or inode. `latest` is the monitor's last round
// (watched namespaces' counts). kNotFound when no namespace matches.
Result<nlohmann::json> namespace_status_json(NamespaceFleet& fleet, std::string_view spec,
                                             const std::vector<NamespaceCounts>& latest);

// Restores the journal's originals in one managed namespace, or in every one with
// "all" (each record's detail then starts with "netns NAME: "). kNotFound when `spec`
// names no managed namespace.
Result<std::vector<ChangeRecord>> rollback_namespaces(NamespaceFleet& fleet, std::string_view spec,
                                                      bool force);

// "all" | NAME | INODE as one word for errors.
inline constexpr std::string_view kAllNamespaces = "all";

}  // namespace tcptune
