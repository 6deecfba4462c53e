#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "tcptune/result.hpp"

namespace tcptune {

// Bumped whenever the on-disk shape changes incompatibly. A journal with a
// different version is refused (never guessed at, never overwritten).
inline constexpr int kJournalFormatVersion = 1;
inline constexpr std::string_view kJournalFileName = "journal.json";

// Everything tcptune knows about one key it has ever written.
struct JournalEntry {
    // The value before tcptune's first write. Captured once, before that write,
    // and never re-captured: rollback restores exactly this.
    std::string original;
    // The value tcptune last wrote (or adopted on resume); override detection
    // compares the live value with it.
    std::string last_written;
    std::chrono::system_clock::time_point written_at{};
    std::string profile;
    std::string rule;
    std::string reason;
    // Someone else changed the key: tcptune does not touch it until resume.
    bool overridden = false;
    std::chrono::system_clock::time_point overridden_at{};
    std::string overridden_value;  // the live value seen when the override was detected
    bool operator==(const JournalEntry&) const = default;
};

using JournalEntries = std::map<std::string, JournalEntry, std::less<>>;

// One entry as the journal file stores it: original, last_written, written_at,
// profile, rule, reason, overridden (and overridden_at/_value when set). The one
// writer of these fields, for the file and for `tcptune export --json`.
nlohmann::json journal_entry_to_json(const JournalEntry& entry);

// Pure (de)serialization, unit-tested on strings. parse_journal rejects a missing or
// mistyped field, an unknown format_version or a malformed key with ErrorCode::kCorruptJournal.
std::string serialize_journal(const JournalEntries& entries);
Result<JournalEntries> parse_journal(std::string_view text);

// ISO 8601 UTC with seconds ("2024-05-01T12:00:00Z"), as stored in the journal.
std::string format_utc(std::chrono::system_clock::time_point t);
Result<std::chrono::system_clock::time_point> parse_utc(std::string_view text);

// temp file, fsync, rename over the target, fsync of the directory (created if
// missing): after this returns, the new content survives a crash or power loss;
// before the rename, the old content is intact. The journal and the namespace
// journals' identity files are written this way.
Result<void> replace_file_atomically(const std::filesystem::path& dir,
                                     const std::filesystem::path& target,
                                     const std::string& content);

// What to tell an operator whose journal cannot be used: where it is, that it
// was kept, and how to recover.
std::string journal_recovery_advice(const std::filesystem::path& journal_path);

// <state-dir>/journal.json. Every mutation is persisted atomically (temp file,
// fsync, rename, fsync of the directory) and only then adopted in memory, so the
// in-memory view never runs ahead of the disk. Callers persist BEFORE the sysctl
// write the change describes.
class Journal {
  public:
    // A missing file is an empty journal. A file that exists but cannot be read
    // or parsed is an error (kCorruptJournal / kPermissionDenied / kIo) whose
    // message includes journal_recovery_advice; the file is left untouched.
    static Result<Journal> open(const std::filesystem::path& state_dir);

    const std::filesystem::path& path() const { return path_; }
    const JournalEntries& entries() const { return entries_; }
    const JournalEntry* find(std::string_view key) const;

    // Records that `value` is about to be written to `key`. When the key has no
    // entry yet, `live_before` becomes its original; otherwise the original is kept.
    Result<void> record_write(std::string_view key, std::string_view live_before,
                              std::string_view value, std::chrono::system_clock::time_point when,
                              std::string_view profile, std::string_view rule,
                              std::string_view reason);
    // After a failed write: the live value is what tcptune last "wrote" (so the
    // failure is not mistaken for an administrator's override). An entry created
    // by the failed write whose live value is still the original is dropped.
    Result<void> settle_failed_write(std::string_view key, std::string_view live_after,
                                     bool created_by_this_write);
    Result<void> mark_overridden(std::string_view key, std::string_view seen,
                                 std::chrono::system_clock::time_point when);
    // Clears the mark and adopts `live` as the new last-written baseline; the
    // original is kept (it is never re-captured).
    Result<void> clear_override(std::string_view key, std::string_view live);
    Result<void> remove(std::string_view key);

    // Persists `next` atomically, then adopts it. On failure nothing changes.
    Result<void> replace(JournalEntries next);

  private:
    explicit Journal(std::filesystem::path state_dir);
    std::filesystem::path state_dir_;
    std::filesystem::path path_;
    JournalEntries entries_;
};

}  // namespace tcptune
