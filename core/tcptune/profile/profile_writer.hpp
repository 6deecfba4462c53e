#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tcptune/profile/profile.hpp"

namespace tcptune {

struct ProfileWriteOptions {
    // Say where every sysctl and rule came from (file:line), like `systemctl cat`
    // shows a unit and its drop-ins: a trailing YAML comment, or an "origins"
    // object in JSON.
    bool origins = false;
};

// The resolved profile as a complete profile document: every default spelled
// out, no `extends` (it is already merged), lineage in a leading comment.
// parse_profile() of the output yields the same rules and sysctls.
std::string profile_to_yaml(const ResolvedProfile& profile, ProfileWriteOptions options = {});

// The same content as JSON, for `tcptune profile show --json` and D-Bus.
nlohmann::json profile_to_json(const ResolvedProfile& profile, ProfileWriteOptions options = {});

}  // namespace tcptune
