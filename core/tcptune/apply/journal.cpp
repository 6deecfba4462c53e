#include "tcptune/apply/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/read_file.hpp"
#include "tcptune/unique_fd.hpp"
#include "tcptune/write_all.hpp"

namespace tcptune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::string_view kTempSuffix = ".tmp";

Error corrupt(const fs::path& path, const std::string& why) {
    return Error{ErrorCode::kCorruptJournal, "journal " + path.string() + " is corrupt: " + why +
                                                 ". " + journal_recovery_advice(path)};
}

Result<void> io_error(const std::string& what, int err) {
    return make_error(err == EACCES || err == EPERM || err == EROFS ? ErrorCode::kPermissionDenied
                                                                    : ErrorCode::kIo,
                      what + ": " + errno_text(err));
}

// A value recorded for `spec`'s key must have its shape (one integer, or two
// for a pair). Bounds are not checked: an original may well lie outside what
// tcptune itself would set, and it is the administrator's value to get back.
bool has_shape_of(const SysctlSpec& spec, const std::string& value) {
    const auto integers = parse_sysctl_integers(value);
    if (!integers) {
        return false;
    }
    return integers->size() == (spec.type == SysctlType::kIntPair ? 2U : 1U);
}

const json* require(const json& obj, const char* field, json::value_t type, std::string& why,
                    const std::string& where) {
    auto it = obj.find(field);
    if (it == obj.end()) {
        why = where + ": missing \"" + field + "\"";
        return nullptr;
    }
    if (it->type() != type) {
        why = where + ": \"" + field + "\" has the wrong type (" + it->type_name() + ")";
        return nullptr;
    }
    return &*it;
}

}  // namespace

Result<void> replace_file_atomically(const fs::path& dir, const fs::path& target,
                                     const std::string& content) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return make_error(ErrorCode::kIo,
                          "cannot create state directory " + dir.string() + ": " + ec.message());
    }
    const fs::path temp = target.string() + std::string(kTempSuffix);
    // A stale temp file from a crash is simply overwritten: it was never renamed,
    // so it never was the journal.
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
        return io_error("cannot create " + temp.string(), errno);
    }
    auto fail = [&](Result<void> error) {
        fd.reset();
        ::unlink(temp.c_str());
        return error;
    };
    if (auto written = write_all(fd.get(), content); !written) {
        return fail(make_error(written.error().code,
                               "writing " + temp.string() + ": " + written.error().message));
    }
    if (::fsync(fd.get()) != 0) {
        return fail(io_error("fsync " + temp.string(), errno));
    }
    // close() is checked: the journal must be on disk before any sysctl write.
    if (::close(fd.release()) != 0) {
        return fail(io_error("close " + temp.string(), errno));
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        return fail(io_error("rename " + temp.string() + " -> " + target.string(), errno));
    }
    const UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) {
        return io_error("open directory " + dir.string() + " for fsync", errno);
    }
    if (::fsync(dfd.get()) != 0) {
        return io_error("fsync directory " + dir.string(), errno);
    }
    return {};
}

std::string format_utc(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    std::array<char, 32> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

Result<std::chrono::system_clock::time_point> parse_utc(std::string_view text) {
    std::tm tm{};
    const std::string s(text);
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') {
        return make_error(ErrorCode::kParse, "not a UTC timestamp like 2024-05-01T12:00:00Z: \"" +
                                                 s.substr(0, 64) + "\"");
    }
    // system_clock counts nanoseconds in 64 bits: years outside 1970..2200 would
    // wrap (found by tests/fuzz/journal_fuzz.cpp), and tcptune wrote none.
    const int year = tm.tm_year + 1900;
    if (year < 1970 || year > 2200) {
        return make_error(ErrorCode::kParse, "timestamp \"" + s.substr(0, 64) +
                                                 "\" is outside the years 1970 to 2200");
    }
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string journal_recovery_advice(const fs::path& journal_path) {
    const std::string p = journal_path.string();
    return "tcptune refuses to write any sysctl until this is resolved, and has left the file "
           "exactly as it is. To recover: (1) inspect " +
           p +
           " — for each key it records the value before tcptune changed it (\"original\"); "
           "(2) if you want those values back, restore them by hand with `sysctl -w "
           "KEY=ORIGINAL`; (3) move the file aside: `mv " +
           p + " " + p +
           ".corrupt`; (4) restart tcptuned, which then starts with an empty journal and "
           "treats the current values as the originals.";
}

json journal_entry_to_json(const JournalEntry& e) {
    json je;
    je["original"] = e.original;
    je["last_written"] = e.last_written;
    je["written_at"] = format_utc(e.written_at);
    je["profile"] = e.profile;
    je["rule"] = e.rule;
    je["reason"] = e.reason;
    je["overridden"] = e.overridden;
    if (e.overridden) {
        je["overridden_at"] = format_utc(e.overridden_at);
        je["overridden_value"] = e.overridden_value;
    }
    return je;
}

std::string serialize_journal(const JournalEntries& entries) {
    json doc;
    doc["format_version"] = kJournalFormatVersion;
    doc["description"] =
        "tcptune journal: original value of every sysctl tcptune changed, restored by "
        "`tcptune rollback`. Do not edit while tcptuned runs.";
    json jentries = json::object();
    for (const auto& [key, e] : entries) {
        jentries[key] = journal_entry_to_json(e);
    }
    doc["entries"] = std::move(jentries);
    return doc.dump(2) + "\n";
}

Result<JournalEntries> parse_journal(std::string_view text) {
    const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return make_error(ErrorCode::kCorruptJournal, "not valid JSON");
    }
    if (!doc.is_object()) {
        return make_error(ErrorCode::kCorruptJournal, "top level is not a JSON object");
    }
    std::string why;
    const json* version =
        require(doc, "format_version", json::value_t::number_unsigned, why, "top level");
    if (version == nullptr) {
        return make_error(ErrorCode::kCorruptJournal, why);
    }
    if (version->get<std::uint64_t>() != static_cast<std::uint64_t>(kJournalFormatVersion)) {
        return make_error(ErrorCode::kCorruptJournal, "format_version " + version->dump() +
                                                          " is not the supported version " +
                                                          std::to_string(kJournalFormatVersion) +
                                                          " (written by another tcptune release?)");
    }
    const json* jentries = require(doc, "entries", json::value_t::object, why, "top level");
    if (jentries == nullptr) {
        return make_error(ErrorCode::kCorruptJournal, why);
    }
    JournalEntries entries;
    for (const auto& [key, je] : jentries->items()) {
        const std::string where = "entry \"" + key + "\"";
        if (!je.is_object()) {
            return make_error(ErrorCode::kCorruptJournal, where + " is not an object");
        }
        if (!sysctl_key_path("/", key)) {
            return make_error(ErrorCode::kCorruptJournal, where + " is not a sysctl key");
        }
        // The journal never widens the allowlist: rollback writes what it
        // names, so a key tcptune could never have written means the file was
        // not written by tcptune.
        const SysctlSpec* spec = find_sysctl(key);
        if (spec == nullptr || spec->removed()) {
            return make_error(ErrorCode::kCorruptJournal,
                              where +
                                  " is not a key tcptune manages (not in its allowlist, "
                                  "`tcptune explain sysctls`); tcptune never writes it, "
                                  "so it will not restore it either");
        }
        JournalEntry e;
        const json* original = require(je, "original", json::value_t::string, why, where);
        const json* last = require(je, "last_written", json::value_t::string, why, where);
        const json* at = require(je, "written_at", json::value_t::string, why, where);
        const json* profile = require(je, "profile", json::value_t::string, why, where);
        const json* rule = require(je, "rule", json::value_t::string, why, where);
        const json* reason = require(je, "reason", json::value_t::string, why, where);
        const json* overridden = require(je, "overridden", json::value_t::boolean, why, where);
        if (!original || !last || !at || !profile || !rule || !reason || !overridden) {
            return make_error(ErrorCode::kCorruptJournal, why);
        }
        e.original = original->get<std::string>();
        e.last_written = last->get<std::string>();
        for (const auto& [field, value] :
             {std::pair<const char*, const std::string&>{"original", e.original},
              std::pair<const char*, const std::string&>{"last_written", e.last_written}}) {
            if (!has_shape_of(*spec, value)) {
                return make_error(
                    ErrorCode::kCorruptJournal,
                    where + ": \"" + field + "\" (\"" + value + "\") is not a value of " + key +
                        " (" +
                        (spec->type == SysctlType::kIntPair ? "two integers" : "one integer") +
                        " expected)");
            }
        }
        auto when = parse_utc(at->get<std::string>());
        if (!when) {
            return make_error(ErrorCode::kCorruptJournal, where + ": " + when.error().message);
        }
        e.written_at = *when;
        e.profile = profile->get<std::string>();
        e.rule = rule->get<std::string>();
        e.reason = reason->get<std::string>();
        e.overridden = overridden->get<bool>();
        if (e.overridden) {
            const json* oat = require(je, "overridden_at", json::value_t::string, why, where);
            const json* oval = require(je, "overridden_value", json::value_t::string, why, where);
            if (!oat || !oval) {
                return make_error(ErrorCode::kCorruptJournal, why);
            }
            auto owhen = parse_utc(oat->get<std::string>());
            if (!owhen) {
                return make_error(ErrorCode::kCorruptJournal, where + ": " + owhen.error().message);
            }
            e.overridden_at = *owhen;
            e.overridden_value = oval->get<std::string>();
            if (!has_shape_of(*spec, e.overridden_value)) {
                return make_error(ErrorCode::kCorruptJournal,
                                  where + ": \"overridden_value\" is not a value of " + key);
            }
        }
        entries.emplace(key, std::move(e));
    }
    return entries;
}

Journal::Journal(fs::path state_dir)
    : state_dir_(std::move(state_dir)), path_(state_dir_ / std::string(kJournalFileName)) {}

Result<Journal> Journal::open(const fs::path& state_dir) {
    Journal journal(state_dir);
    // Bounded, non-blocking, regular files only: a FIFO or a device in place of
    // the journal must not hang or exhaust the daemon at start.
    auto read =
        read_file_bounded(journal.path_, {.max_bytes = kMaxJournalFileBytes, .no_follow = true});
    if (!read) {
        if (read.error().code == ErrorCode::kNotFound) {
            return journal;  // never written anything: an empty journal
        }
        return make_error(read.error().code, "journal " + journal.path_.string() +
                                                 " cannot be used: " + read.error().message + ". " +
                                                 journal_recovery_advice(journal.path_));
    }
    const std::string& text = *read;
    if (text.empty()) {
        // Atomic replace never leaves an empty journal behind, so an empty file
        // means something else happened to it: do not guess.
        return tl::unexpected(corrupt(journal.path_, "the file is empty"));
    }
    auto entries = parse_journal(text);
    if (!entries) {
        return tl::unexpected(corrupt(journal.path_, entries.error().message));
    }
    journal.entries_ = std::move(*entries);
    return journal;
}

const JournalEntry* Journal::find(std::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

Result<void> Journal::replace(JournalEntries next) {
    if (auto ok = replace_file_atomically(state_dir_, path_, serialize_journal(next)); !ok) {
        return make_error(ok.error().code,
                          "cannot write journal " + path_.string() + ": " + ok.error().message);
    }
    entries_ = std::move(next);
    return {};
}

Result<void> Journal::record_write(std::string_view key, std::string_view live_before,
                                   std::string_view value,
                                   std::chrono::system_clock::time_point when,
                                   std::string_view profile, std::string_view rule,
                                   std::string_view reason) {
    JournalEntries next = entries_;
    auto [it, inserted] = next.try_emplace(std::string(key));
    JournalEntry& e = it->second;
    if (inserted) {
        e.original = std::string(live_before);  // the one and only capture
    }
    e.last_written = std::string(value);
    e.written_at = when;
    e.profile = std::string(profile);
    e.rule = std::string(rule);
    e.reason = std::string(reason);
    return replace(std::move(next));
}

Result<void> Journal::settle_failed_write(std::string_view key, std::string_view live_after,
                                          bool created_by_this_write) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return {};
    }
    JournalEntries next = entries_;
    auto nit = next.find(key);
    if (created_by_this_write && nit->second.original == live_after) {
        // Nothing tcptune did stuck and it had never changed the key before: the
        // key is not managed and needs no rollback.
        next.erase(nit);
    } else {
        nit->second.last_written = std::string(live_after);
    }
    return replace(std::move(next));
}

Result<void> Journal::mark_overridden(std::string_view key, std::string_view seen,
                                      std::chrono::system_clock::time_point when) {
    if (find(key) == nullptr) {
        return make_error(ErrorCode::kNotFound, std::string(key) + " is not in the journal");
    }
    JournalEntries next = entries_;
    JournalEntry& e = next.find(key)->second;
    e.overridden = true;
    e.overridden_at = when;
    e.overridden_value = std::string(seen);
    return replace(std::move(next));
}

Result<void> Journal::clear_override(std::string_view key, std::string_view live) {
    if (find(key) == nullptr) {
        return make_error(ErrorCode::kNotFound, std::string(key) + " is not in the journal");
    }
    JournalEntries next = entries_;
    JournalEntry& e = next.find(key)->second;
    e.overridden = false;
    e.overridden_at = {};
    e.overridden_value.clear();
    e.last_written = std::string(live);
    return replace(std::move(next));
}

Result<void> Journal::remove(std::string_view key) {
    if (find(key) == nullptr) {
        return {};
    }
    JournalEntries next = entries_;
    next.erase(next.find(key));
    return replace(std::move(next));
}

}  // namespace tcptune
