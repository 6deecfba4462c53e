// tcptune profiles / profile show / profile check: offline profile verbs. They
// read YAML files only, so they work without the daemon and without root.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "table.hpp"
#include "tcptune/profile/profile_catalog.hpp"
#include "tcptune/profile/profile_resolver.hpp"
#include "tcptune/profile/profile_writer.hpp"

namespace tcptune::cli {

namespace {

struct ProfileOptions {
    std::vector<std::string> profile_dirs;  // empty: the default search path
    std::vector<std::string> targets;       // NAME|PATH for show, FILE... for check
    bool json = false;
    bool origins = false;  // profile show: where every value and rule came from
};

ProfileDirs search_dirs(const ProfileOptions& o) {
    if (o.profile_dirs.empty()) {
        return default_profile_dirs();
    }
    return ProfileDirs(o.profile_dirs.begin(), o.profile_dirs.end());
}

nlohmann::json diagnostics_json(const ProfileDiagnostics& diagnostics) {
    nlohmann::json errors = nlohmann::json::array();
    for (const ProfileDiagnostic& d : diagnostics) {
        errors.push_back({{"file", d.where.file},
                          {"line", d.where.line},
                          {"column", d.where.column},
                          {"message", d.message}});
    }
    return errors;
}

void print_diagnostics(const ProfileDiagnostics& diagnostics) {
    for (const ProfileDiagnostic& d : diagnostics) {
        std::cerr << d.to_string() << "\n";
    }
}

int run_list(const ProfileOptions& o) {
    const ProfileDirs dirs = search_dirs(o);
    const ProfileCatalog catalog = ProfileCatalog::scan(dirs);
    if (o.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const CatalogEntry& e : catalog.entries()) {
            nlohmann::json j{
                {"name", e.name},       {"file", e.file.string()}, {"description", e.description},
                {"extends", e.extends}, {"shadowed", e.shadowed},  {"valid", e.valid()}};
            if (!e.valid()) {
                j["errors"] = diagnostics_json(e.problems);
            }
            list.push_back(std::move(j));
        }
        nlohmann::json searched = nlohmann::json::array();
        for (const auto& d : dirs) {
            searched.push_back(d.string());
        }
        std::cout << nlohmann::json{{"search_path", searched}, {"profiles", list}}.dump(2) << "\n";
        return kExitOk;
    }
    if (catalog.entries().empty()) {
        std::cout << "no profiles found in:";
        for (const auto& d : dirs) {
            std::cout << " " << d.string();
        }
        std::cout << "\n";
        return kExitOk;
    }
    // The free-text column goes last so long descriptions do not widen the table.
    Table table({{"NAME"}, {"STATUS"}, {"FILE"}, {"DESCRIPTION"}});
    for (const CatalogEntry& e : catalog.entries()) {
        const std::string status = e.shadowed ? "shadowed" : e.valid() ? "ok" : "invalid";
        // An invalid profile shows its first problem where the description would be.
        table.add_row({e.name, status, e.file.string(),
                       e.valid() ? e.description : e.problems.front().message},
                      e.shadowed  ? RowStyle::kDim
                      : e.valid() ? RowStyle::kNormal
                                  : RowStyle::kWarn);
    }
    std::cout << table.render(colour_enabled(STDOUT_FILENO));
    return kExitOk;
}

int run_show(const ProfileOptions& o) {
    const std::string& target = o.targets.front();
    const ProfileDirs dirs = search_dirs(o);
    if (!find_profile(target, dirs)) {
        // Not found is not an invalid profile: exit 1, not 6.
        std::cerr << "tcptune profile show: "
                  << resolve_profile(target, dirs).error().front().message << "\n";
        return kExitFailure;
    }
    auto resolved = resolve_profile(target, dirs);
    if (!resolved) {
        print_diagnostics(resolved.error());
        return kExitInvalidProfile;
    }
    const ProfileWriteOptions write{.origins = o.origins};
    return print_json_or_text(
        o.json, [&] { return profile_to_json(*resolved, write); },
        [&] { return profile_to_yaml(*resolved, write); });
}

int run_check(const ProfileOptions& o) {
    const ProfileDirs dirs = search_dirs(o);
    bool all_valid = true;
    nlohmann::json results = nlohmann::json::array();
    for (const std::string& file : o.targets) {
        auto resolved = resolve_profile_file(file, dirs);
        all_valid = all_valid && resolved.has_value();
        if (o.json) {
            nlohmann::json j{{"file", file}, {"valid", resolved.has_value()}};
            if (resolved) {
                j["name"] = resolved->name;
                j["lineage"] = resolved->lineage;
            } else {
                j["errors"] = diagnostics_json(resolved.error());
            }
            results.push_back(std::move(j));
        } else if (resolved) {
            std::cout << file << ": ok (profile " << resolved->name << ", "
                      << resolved->rules.size() << " rules, " << resolved->sysctls.size()
                      << " baseline sysctls)\n";
        } else {
            print_diagnostics(resolved.error());
        }
    }
    if (o.json) {
        std::cout << results.dump(2) << "\n";
    }
    return all_valid ? kExitOk : kExitInvalidProfile;
}

void add_dir_option(CLI::App* cmd, ProfileOptions& o) {
    cmd->add_option("--profile-dir", o.profile_dirs,
                    "Profile directory to search, repeatable, first match wins (default "
                    "/etc/tcptune/profiles then /usr/share/tcptune/profiles)");
}

}  // namespace

void register_profile_commands(CLI::App& app, CommandContext& ctx) {
    auto [profiles, list] =
        add_json_command<ProfileOptions>(app, ctx, verb_help::kProfiles, run_list);
    add_dir_option(profiles, *list);

    CLI::App* profile = app.add_subcommand("profile", "Show or check profiles");
    profile->require_subcommand(1);

    auto [show_cmd, show] =
        add_json_command<ProfileOptions>(*profile, ctx, verb_help::kProfileShow, run_show);
    show_cmd->add_option("profile", show->targets, "Profile NAME or PATH")->required()->expected(1);
    add_dir_option(show_cmd, *show);
    show_cmd->add_flag("--origins", show->origins,
                       "Say where every sysctl and rule came from (file:line), for overrides "
                       "that extend a profile of the same name");

    auto [check_cmd, check] =
        add_json_command<ProfileOptions>(*profile, ctx, verb_help::kProfileCheck, run_check);
    check_cmd->add_option("file", check->targets, "Profile files")->required();
    add_dir_option(check_cmd, *check);
}

}  // namespace tcptune::cli
