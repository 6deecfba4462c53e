#pragma once

// Where a managed namespace's journal lives and whose it is. Each namespace tcptune
// writes to has a directory <state-dir>/netns/<inode>/ with its own journal.json (the
// ordinary Journal) and identity.json, written before the journal's first entry: the
// inode, the nsfs device, the namespace cookie and the boot id. The inode alone is
// not an identity (the kernel reuses it once a namespace is freed); with the cookie
// (never reused while the system runs) and the boot id (the cookie counter restarts
// at boot) a recycled inode is recognised, and its journal is CLOSED — moved to
// <state-dir>/netns-closed/ — never replayed into a namespace it was not written for.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune {

inline constexpr std::string_view kNetnsIdentityFileName = "identity.json";

struct NetnsIdentity {
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    std::uint64_t cookie = 0;  // SO_NETNS_COOKIE; 0 when the kernel has none (< 5.14)
    std::string boot_id;       // /proc/sys/kernel/random/boot_id
    std::string name;          // as discovery named it when the journal was opened (informative)
    bool operator==(const NetnsIdentity&) const = default;
};

// True when `live` is the namespace `stored` was written for: same boot, inode,
// device and cookie. The name is not compared (an `ip netns` name is only a mount).
bool same_namespace(const NetnsIdentity& stored, const NetnsIdentity& live);

std::string serialize_netns_identity(const NetnsIdentity& identity);
Result<NetnsIdentity> parse_netns_identity(std::string_view text);  // kCorruptJournal

// <state_dir>/netns/<inode>
std::filesystem::path netns_journal_dir(const std::filesystem::path& state_dir,
                                        std::uint64_t inode);
// <state_dir>/netns-closed
std::filesystem::path closed_netns_journals_dir(const std::filesystem::path& state_dir);

// identity.json in `dir`, written atomically (before any journal entry).
Result<void> write_netns_identity(const std::filesystem::path& dir, const NetnsIdentity& identity);
Result<NetnsIdentity> read_netns_identity(const std::filesystem::path& dir);

// The boot id of the running system ("" when unreadable).
std::string current_boot_id();

// One directory below <state_dir>/netns/.
struct StoredNetnsJournal {
    std::filesystem::path dir;
    std::uint64_t inode = 0;  // from the directory's name
    Result<NetnsIdentity> identity = make_error(ErrorCode::kNotFound, "not read");
};
// Every namespace journal directory, by inode (bounded: at most `max` entries).
std::vector<StoredNetnsJournal> list_netns_journals(const std::filesystem::path& state_dir,
                                                    std::size_t max = 65536);

// Moves `dir` to <state_dir>/netns-closed/<inode>-<UTC time>[.N] and returns where it
// went: its entries are kept for the record (tcptune export can read them) and are
// never applied again.
Result<std::filesystem::path> close_netns_journal(const std::filesystem::path& state_dir,
                                                  const std::filesystem::path& dir,
                                                  std::chrono::system_clock::time_point now);

}  // namespace tcptune
