#include "tcptune/profile/profile_cache.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "tcptune/profile/profile_loader.hpp"

namespace tcptune {

namespace {

std::int64_t nanoseconds(const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

ProfileResult<Profile> ProfileFileCache::load(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        // Missing, unreadable or not a file: the loader says why; not cached.
        entries_.erase(path);
        return load_profile_file(path);
    }
    const Stamp stamp{st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim),
                      nanoseconds(st.st_ctim)};
    ++uses_;
    if (auto it = entries_.find(path); it != entries_.end() && it->second.stamp == stamp) {
        it->second.last_use = uses_;
        return it->second.parsed;
    }
    ++parses_;
    ProfileResult<Profile> parsed = load_profile_file(path);
    if (entries_.size() >= max_entries_ && !entries_.contains(path)) {
        auto oldest = std::min_element(
            entries_.begin(), entries_.end(),
            [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
        entries_.erase(oldest);
    }
    entries_[path] = Entry{stamp, parsed, uses_};
    return parsed;
}

ProfileLoader ProfileFileCache::loader() {
    return [this](const std::filesystem::path& path) { return load(path); };
}

}  // namespace tcptune
