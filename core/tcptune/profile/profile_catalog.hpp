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
class ProfileCatalog {
  public:
    static ProfileCatalog scan(const ProfileDirs& dirs);

    const std::vector<CatalogEntry>& entries() const { return entries_; }
    // The effective (non-shadowed) entry of a name, or nullptr.
    const CatalogEntry* find(std::string_view name) const;
    // Names of the effective entries, sorted; for shell completion.
    std::vector<std::string> names() const;

  private:
    std::vector<CatalogEntry> entries_;
};

}  // namespace tcptune
