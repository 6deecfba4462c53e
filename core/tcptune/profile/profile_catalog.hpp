#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/profile/profile.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {

// One profile file found in the search directories.
struct CatalogEntry {
    std::string name;  // file stem: what --profile NAME and extends use
    std::filesystem::path file;
    std::string description;  // empty when the file is invalid
    std::string extends;
    bool shadowed = false;        // an earlier directory has a profile of the same name
    ProfileDiagnostics problems;  // non-empty: the profile does not resolve
    bool valid() const { return problems.empty(); }
};

// Every *.yaml / *.yml profile across the search directories, in search order
// and by name within a directory. The first profile of a name wins; later ones
// are listed as shadowed so an operator sees why an edit has no effect.
// Bounds of one scan: what any local user can make the daemon do through
// ListProfiles must stay small whatever lands in a profile directory.
struct CatalogLimits {
    std::size_t max_files_per_dir = 256;  // further files are counted, not read
};

class ProfileCatalog {
  public:
    // `load` defaults to load_profile_file; the daemon passes its ProfileFileCache.
    static ProfileCatalog scan(const ProfileDirs& dirs, const ProfileLoader& load = {},
                               CatalogLimits limits = {});

    const std::vector<CatalogEntry>& entries() const { return entries_; }
    // The effective (non-shadowed) entry of a name, or nullptr.
    const CatalogEntry* find(std::string_view name) const;
    // Names of the effective entries, sorted; for shell completion.
    std::vector<std::string> names() const;
    // Profile files left out because a directory had more than max_files_per_dir.
    std::size_t omitted() const { return omitted_; }

  private:
    std::vector<CatalogEntry> entries_;
    std::size_t omitted_ = 0;
};

}  // namespace tcptune
