#include "tcptune/profile/profile_resolver.hpp"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <system_error>

#include "tcptune/profile/profile_loader.hpp"
#include "tcptune/read_file.hpp"

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
    const auto text = read_file_bounded(exe.parent_path().parent_path() / "CMakeCache.txt",
                                        {.max_bytes = 4 * 1024 * 1024});
    if (!text) {
        return std::nullopt;
    }
    std::istringstream cache(*text);
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

bool same_file(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    const bool same = fs::equivalent(a, b, ec);
    return ec ? a.lexically_normal() == b.lexically_normal() : same;
}

std::string joined_dirs(const ProfileDirs& dirs) {
    std::string out;
    for (const fs::path& d : dirs) {
        out += (out.empty() ? "" : ", ") + d.string();
    }
    return out;
}

// Every file that `name` resolves to along `dirs`, in search order.
std::vector<fs::path> all_profiles_named(std::string_view name, const ProfileDirs& dirs) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const fs::path& dir : dirs) {
        for (const char* ext : {".yaml", ".yml"}) {
            fs::path candidate = dir / (std::string(name) + ext);
            if (fs::is_regular_file(candidate, ec)) {
                out.push_back(std::move(candidate));
                break;
            }
        }
    }
    return out;
}

// The file `child` (loaded from `current`) extends. A name is looked up in the
// search path first (so an administrator's copy in /etc wins), then next to the
// extending file. `extends: <its own name>` is an override: it means the next
// profile of that name further down the search path, like a drop-in over the
// shipped unit, never the file itself.
ProfileResult<fs::path> find_parent(const Profile& child, const fs::path& current,
                                    const ProfileDirs& dirs) {
    if (looks_like_profile_path(child.extends)) {
        const fs::path named(child.extends);
        // A profile cannot make tcptune parse (and quote in its errors) an
        // arbitrary file, such as /etc/shadow.
        if (named.extension() != ".yaml" && named.extension() != ".yml") {
            return tl::unexpected(
                single(child.extends_where,
                       "extends: a path must name a .yaml or .yml profile file, not '" +
                           named.filename().string().substr(0, 64) +
                           "'; or give a profile name from the search path"));
        }
        const fs::path path = named.is_absolute() ? named : current.parent_path() / named;
        if (auto found = find_profile(path.string(), {})) {
            return *found;
        }
        return tl::unexpected(
            single(child.extends_where, "parent profile file '" + path.string() + "' not found"));
    }
    ProfileDirs parent_dirs = dirs;
    parent_dirs.push_back(current.parent_path().empty() ? fs::path(".") : current.parent_path());
    const std::vector<fs::path> candidates = all_profiles_named(child.extends, parent_dirs);
    if (child.extends == child.name) {
        // On the search path: the next file of that name after this one. Named by
        // path from elsewhere: the first file of that name that is not this one.
        const std::vector<fs::path> on_path = all_profiles_named(child.extends, dirs);
        const auto is_self = [&](const fs::path& f) { return same_file(f, current); };
        if (auto self = std::find_if(on_path.begin(), on_path.end(), is_self);
            self != on_path.end()) {
            if (std::next(self) != on_path.end()) {
                return *std::next(self);
            }
        } else if (auto other = std::find_if_not(candidates.begin(), candidates.end(), is_self);
                   other != candidates.end()) {
            return *other;
        }
        return tl::unexpected(
            single(child.extends_where,
                   "profile '" + child.name +
                       "' extends its own name, which means the next profile "
                       "of that name further down the search path, but there is none after " +
                       current.string() + " (searched " + joined_dirs(dirs) +
                       "); name another parent or drop `extends`"));
    }
    if (!candidates.empty()) {
        return candidates.front();
    }
    return tl::unexpected(
        single(child.extends_where, "parent profile '" + child.extends + "' not found (searched " +
                                        joined_dirs(parent_dirs) +
                                        "); `tcptune profiles` lists the available ones"));
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

ProfileResult<ResolvedProfile> resolve_profile_file(const fs::path& file, const ProfileDirs& dirs,
                                                    const ProfileLoader& load) {
    const ProfileLoader& load_file = load ? load : ProfileLoader(load_profile_file);
    std::vector<Profile> chain;
    // Cycles are found by file, not by name: `extends: <own name>` is the override
    // pattern and legitimately repeats a name down the chain.
    std::vector<fs::path> seen_files;
    fs::path current = file;
    while (true) {
        auto loaded = load_file(current);
        if (!loaded) {
            return tl::unexpected(std::move(loaded.error()));
        }
        seen_files.push_back(current);
        chain.push_back(std::move(*loaded));
        const Profile& child = chain.back();
        if (child.extends.empty()) {
            break;
        }
        if (chain.size() >= kMaxInheritanceDepth) {
            return tl::unexpected(single(
                child.extends_where,
                "inheritance deeper than " + std::to_string(kMaxInheritanceDepth) + " levels"));
        }
        auto parent = find_parent(child, current, dirs);
        if (!parent) {
            return tl::unexpected(std::move(parent.error()));
        }
        if (const auto seen =
                std::find_if(seen_files.begin(), seen_files.end(),
                             [&](const fs::path& f) { return same_file(f, *parent); });
            seen != seen_files.end()) {
            std::string cycle;
            for (const Profile& p : chain) {
                cycle += p.name + " -> ";
            }
            return tl::unexpected(
                single(child.extends_where, "inheritance cycle: " + cycle + child.extends + " (" +
                                                parent->string() +
                                                "); remove `extends` from one of them"));
        }
        current = *parent;
    }
    return merge_profiles(chain);
}

ProfileResult<ResolvedProfile> resolve_profile(std::string_view name_or_path,
                                               const ProfileDirs& dirs, const ProfileLoader& load) {
    auto file = find_profile(name_or_path, dirs);
    if (!file) {
        const std::string searched = joined_dirs(dirs);
        const std::string message =
            looks_like_profile_path(name_or_path)
                ? "profile file '" + std::string(name_or_path) + "' does not exist"
                : "profile '" + std::string(name_or_path) + "' not found (searched " + searched +
                      "); `tcptune profiles` lists the available ones";
        return tl::unexpected(single(SourceLocation{std::string(name_or_path), 0, 0}, message));
    }
    return resolve_profile_file(*file, dirs, load);
}

Error to_error(const ProfileDiagnostics& diagnostics) {
    std::string message;
    for (const ProfileDiagnostic& d : diagnostics) {
        message += (message.empty() ? "" : "\n") + d.to_string();
    }
    return Error{ErrorCode::kInvalidProfile, std::move(message)};
}

}  // namespace tcptune
