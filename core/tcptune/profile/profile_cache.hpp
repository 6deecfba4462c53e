#pragma once

// Parsed profile files, re-read only when a file changed. The daemon lists
// and shows profiles on behalf of any local user (ListProfiles, ShowProfile);
// parsing every file on every call let 20 pipelined calls over a directory of
// 10k files stall the event loop. A cached parse is reused while the file's
// identity, size, mtime and ctime are unchanged (one stat per file per use).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>

#include "tcptune/profile/profile.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune {

class ProfileFileCache {
  public:
    // At most max_entries parses are kept (the oldest use is dropped first).
    explicit ProfileFileCache(std::size_t max_entries = 1024) : max_entries_(max_entries) {}

    // load_profile_file(path), from the cache when the file is unchanged.
    ProfileResult<Profile> load(const std::filesystem::path& path);
    // A loader for resolve_profile / ProfileCatalog::scan bound to this cache.
    ProfileLoader loader();

    std::uint64_t parses() const { return parses_; }
    std::size_t size() const { return entries_.size(); }

  private:
    struct Stamp {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = 0;
        std::int64_t mtime_ns = 0;
        std::int64_t ctime_ns = 0;
        bool operator==(const Stamp&) const = default;
    };
    struct Entry {
        Stamp stamp;
        ProfileResult<Profile> parsed;
        std::uint64_t last_use = 0;
    };
    std::size_t max_entries_;
    std::map<std::filesystem::path, Entry> entries_;
    std::uint64_t uses_ = 0;
    std::uint64_t parses_ = 0;
};

}  // namespace tcptune
