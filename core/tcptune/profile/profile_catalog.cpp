#include "tcptune/profile/profile_catalog.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {

namespace fs = std::filesystem;

ProfileCatalog ProfileCatalog::scan(const ProfileDirs& dirs, const ProfileLoader& load,
                                    CatalogLimits limits) {
    const ProfileLoader& load_file = load ? load : ProfileLoader(load_profile_file);
    ProfileCatalog catalog;
    std::set<std::string> seen;
    for (const fs::path& dir : dirs) {
        std::error_code ec;
        std::vector<fs::path> files;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const fs::path& p = it->path();
            if ((p.extension() == ".yaml" || p.extension() == ".yml") && it->is_regular_file(ec)) {
                files.push_back(p);
            }
        }
        // Names only so far (readdir, no file read): keep the first ones by name,
        // so which files are listed does not depend on directory order.
        std::sort(files.begin(), files.end());
        if (files.size() > limits.max_files_per_dir) {
            catalog.omitted_ += files.size() - limits.max_files_per_dir;
            files.resize(limits.max_files_per_dir);
        }
        for (const fs::path& file : files) {
            CatalogEntry entry;
            entry.name = file.stem().string();
            entry.file = file;
            entry.shadowed = !seen.insert(entry.name).second;
            if (auto loaded = load_file(file)) {
                entry.description = loaded->description;
                entry.extends = loaded->extends;
                // Resolving catches broken parents and cross-profile conflicts too.
                if (auto resolved = resolve_profile_file(file, dirs, load_file); !resolved) {
                    entry.problems = std::move(resolved.error());
                }
            } else {
                entry.problems = std::move(loaded.error());
            }
            catalog.entries_.push_back(std::move(entry));
        }
    }
    return catalog;
}

const CatalogEntry* ProfileCatalog::find(std::string_view name) const {
    for (const CatalogEntry& e : entries_) {
        if (e.name == name && !e.shadowed) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<std::string> ProfileCatalog::names() const {
    std::vector<std::string> out;
    for (const CatalogEntry& e : entries_) {
        if (!e.shadowed) {
            out.push_back(e.name);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace tcptune
