#include "tcptune/profile/profile_resolver.hpp"

#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {

namespace {

namespace fs = std::filesystem;

// Deep enough for any sane hierarchy, shallow enough to stop runaway chains.
constexpr std::size_t kMaxInheritanceDepth = 16;

ProfileDiagnostics single(SourceLocation where, std::string message) {
    return ProfileDiagnostics{ProfileDiagnostic{std::move(where), std::move(message)}};
}

// When this binary runs from a CMake build tree (<build>/bin/<exe>), the build
// tree's CMakeCache.txt names the source tree; its profiles/ holds the shipped
// profiles. This keeps `build/bin/tcptune profiles` useful before installing
// without baking a source path into installed binaries.
std::optional<fs::path> source_tree_profiles() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return std::nullopt;
    }
    std::ifstream cache(exe.parent_path().parent_path() / "CMakeCache.txt");
    std::string line;
    const std::string prefix = "CMAKE_HOME_DIRECTORY:INTERNAL=";
    while (std::getline(cache, line)) {
        if (line.starts_with(prefix)) {
            fs::path dir = fs::path(line.substr(prefix.size())) / "profiles";
            if (fs::is_directory(dir, ec)) {
                return dir;
            }
            return std::nullopt;
        }
    }
    return std::nullopt;
}

void merge_settings(std::vector<SysctlSetting>& base, const std::vector<SysctlSetting>& over) {
    for (const SysctlSetting& s : over) {
        bool replaced = false;
        for (SysctlSetting& existing : base) {
            if (existing.key == s.key) {
                existing = s;
                replaced = true;
            }
        }
        if (!replaced) {
            base.push_back(s);
        }
    }
}

}  // namespace

ProfileDirs default_profile_dirs() {
    ProfileDirs dirs = {"/etc/tcptune/profiles", "/usr/share/tcptune/profiles"};
    if (auto dev = source_tree_profiles()) {
        dirs.push_back(*dev);
    }
    return dirs;
}

bool looks_like_profile_path(std::string_view name_or_path) {
    return name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(".yaml") ||
           name_or_path.ends_with(".yml");
}

std::optional<fs::path> find_profile(std::string_view name_or_path, const ProfileDirs& dirs) {
    std::error_code ec;
    if (looks_like_profile_path(name_or_path)) {
        fs::path p(name_or_path);
        if (fs::is_regular_file(p, ec)) {
            return p;
        }
        return std::nullopt;
    }
    for (const fs::path& dir : dirs) {
        for (const char* ext : {".yaml", ".yml"}) {
            fs::path candidate = dir / (std::string(name_or_path) + ext);
            if (fs::is_regular_file(candidate, ec)) {
                return candidate;
            }
        }
    }
    return std::nullopt;
}

ProfileResult<ResolvedProfile> merge_profiles(const std::vector<Profile>& chain) {
    if (chain.empty()) {
        return tl::unexpected(single({}, "no profile to resolve"));
    }
    ResolvedProfile out;
    out.name = chain.front().name;
    out.description = chain.front().description;
    // Walk root first so each descendant overrides what it inherits.
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const Profile& p = *it;
        if (p.interval) {
            out.interval = *p.interval;
        }
        if (p.verify_within) {
            out.verify_within = *p.verify_within;
        }
        merge_settings(out.sysctls, p.sysctls);
        for (const Rule& rule : p.rules) {
            bool replaced = false;
            for (Rule& existing : out.rules) {
                if (existing.name == rule.name) {
                    existing = rule;
                    replaced = true;
                }
            }
            if (!replaced) {
                out.rules.push_back(rule);
            }
        }
    }
    for (const Profile& p : chain) {
        out.lineage.push_back(p.name);
        out.sources.push_back(p.source);
    }
    // Parent and child rules may both drive a key only if one replaces the other.
    ProfileDiagnostics diags;
    std::map<std::string, const Rule*> driver;
    for (const Rule& rule : out.rules) {
        for (const SysctlSetting& s : rule.apply) {
            auto [it, inserted] = driver.emplace(s.key, &rule);
            if (!inserted) {
                const Rule& first = *it->second;
                diags.push_back(ProfileDiagnostic{
                    s.where, "rules '" + first.name + "' (profile " + first.defined_in + ", " +
                                 first.where.file + ":" + std::to_string(first.where.line) +
                                 ") and '" + rule.name + "' both apply " + s.key +
                                 "; a key may be driven by one rule only: override the parent's "
                                 "rule by reusing its name, or merge them"});
            }
        }
    }
    if (!diags.empty()) {
        return tl::unexpected(std::move(diags));
    }
    return out;
}

ProfileResult<ResolvedProfile> resolve_profile_file(const fs::path& file, const ProfileDirs& dirs) {
    std::vector<Profile> chain;
    std::set<std::string> seen_names;
    fs::path current = file;
    while (true) {
        auto loaded = load_profile_file(current);
        if (!loaded) {
            return tl::unexpected(std::move(loaded.error()));
        }
        seen_names.insert(loaded->name);
        chain.push_back(std::move(*loaded));
        const Profile& child = chain.back();
        if (child.extends.empty()) {
            break;
        }
        if (seen_names.contains(child.extends)) {
            std::string cycle;
            for (const Profile& p : chain) {
                cycle += p.name + " -> ";
            }
            return tl::unexpected(
                single(child.extends_where, "inheritance cycle: " + cycle + child.extends +
                                                "; remove `extends` from one of them"));
        }
        if (chain.size() >= kMaxInheritanceDepth) {
            return tl::unexpected(single(
                child.extends_where,
                "inheritance deeper than " + std::to_string(kMaxInheritanceDepth) + " levels"));
        }
        // Parents come from the search path first (so an administrator's copy in
        // /etc wins), then from the directory of the extending file.
        ProfileDirs parent_dirs = dirs;
        parent_dirs.push_back(current.parent_path().empty() ? fs::path(".")
                                                            : current.parent_path());
        std::optional<fs::path> parent;
        if (looks_like_profile_path(child.extends)) {
            fs::path relative = current.parent_path() / child.extends;
            parent = find_profile(
                fs::path(child.extends).is_absolute() ? child.extends : relative.string(), {});
        } else {
            parent = find_profile(child.extends, parent_dirs);
        }
        if (!parent) {
            std::string searched;
            for (const fs::path& d : parent_dirs) {
                searched += (searched.empty() ? "" : ", ") + d.string();
            }
            return tl::unexpected(
                single(child.extends_where, "parent profile '" + child.extends +
                                                "' not found (searched " + searched +
                                                "); `tcptune profiles` lists the available ones"));
        }
        current = *parent;
    }
    return merge_profiles(chain);
}

ProfileResult<ResolvedProfile> resolve_profile(std::string_view name_or_path,
                                               const ProfileDirs& dirs) {
    auto file = find_profile(name_or_path, dirs);
    if (!file) {
        std::string searched;
        for (const fs::path& d : dirs) {
            searched += (searched.empty() ? "" : ", ") + d.string();
        }
        const std::string message =
            looks_like_profile_path(name_or_path)
                ? "profile file '" + std::string(name_or_path) + "' does not exist"
                : "profile '" + std::string(name_or_path) + "' not found (searched " + searched +
                      "); `tcptune profiles` lists the available ones";
        return tl::unexpected(single(SourceLocation{std::string(name_or_path), 0, 0}, message));
    }
    return resolve_profile_file(*file, dirs);
}

Error to_error(const ProfileDiagnostics& diagnostics) {
    std::string message;
    for (const ProfileDiagnostic& d : diagnostics) {
        message += (message.empty() ? "" : "\n") + d.to_string();
    }
    return Error{ErrorCode::kInvalidProfile, std::move(message)};
}

}  // namespace tcptune
