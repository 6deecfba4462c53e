#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "tcptune/profile/profile.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

using ProfileDirs = std::vector<std::filesystem::path>;

// How a profile file becomes a Profile: load_profile_file, or a cache of it
// (ProfileFileCache) where the same files are resolved again and again.
using ProfileLoader = std::function<ProfileResult<Profile>(const std::filesystem::path&)>;

// /etc/tcptune/profiles then /usr/share/tcptune/profiles; when the running
// binary sits in a CMake build tree (<build>/bin/...), the source tree's
// profiles/ is appended so uninstalled binaries find the shipped profiles.
ProfileDirs default_profile_dirs();

// A NAME is looked up as NAME.yaml (then NAME.yml) in each dir, first match
// wins. Anything containing '/' or ending in .yaml/.yml is taken as a path.
bool looks_like_profile_path(std::string_view name_or_path);
std::optional<std::filesystem::path> find_profile(std::string_view name_or_path,
                                                  const ProfileDirs& dirs);

// Merges an already-loaded inheritance chain, child first, root last:
// the child's name, description and interval win; sysctls are overridden key by
// key; a rule with a parent's rule name replaces it in place, new rules are
// appended. Then checks the merged result (e.g. two rules applying one key).
ProfileResult<ResolvedProfile> merge_profiles(const std::vector<Profile>& chain_child_first);

// Loads a profile by name or path and follows `extends` (parents are looked up
// in `dirs`, then next to the child's file), detecting missing parents and cycles.
// An `extends:` that is a path must name a .yaml/.yml file: a profile cannot
// make tcptune parse (and quote in its errors) an arbitrary file.
ProfileResult<ResolvedProfile> resolve_profile(std::string_view name_or_path,
                                               const ProfileDirs& dirs,
                                               const ProfileLoader& load = {});

// Same, starting from a specific file.
ProfileResult<ResolvedProfile> resolve_profile_file(const std::filesystem::path& file,
                                                    const ProfileDirs& dirs,
                                                    const ProfileLoader& load = {});

// Collapses diagnostics into one kInvalidProfile error (one line per diagnostic),
// for callers that speak Result<T> (daemon, D-Bus).
Error to_error(const ProfileDiagnostics& diagnostics);

}  // namespace tcptune
