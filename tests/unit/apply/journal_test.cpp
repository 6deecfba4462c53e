#include "tcptune/apply/journal.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

void spit(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::trunc);
    out << text;
}

const std::chrono::system_clock::time_point kT0{std::chrono::seconds(1'700'000'000)};

TEST(Journal, MissingFileIsAnEmptyJournal) {
    TempDir dir;
    auto journal = Journal::open(dir.path() / "not-yet-created");
    ASSERT_TRUE(journal) << journal.error().message;
    EXPECT_TRUE(journal->entries().empty());
}

TEST(Journal, SerializationRoundTripsEveryField) {
    JournalEntries entries;
    JournalEntry a;
    a.original = "60";
    a.last_written = "30";
    a.written_at = kT0;
    a.profile = "web";
    a.rule = "fin-wait2";
    a.reason = "fin_wait2 = 5000 > 1000 for 60 s";
    entries["net.ipv4.tcp_fin_timeout"] = a;
    JournalEntry b = a;
    b.original = "32768 60999";
    b.last_written = "1024 65535";
    b.overridden = true;
    b.overridden_at = kT0 + 90s;
    b.overridden_value = "20000 60000";
    entries["net.ipv4.ip_local_port_range"] = b;

    const std::string text = serialize_journal(entries);
    auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc["format_version"], kJournalFormatVersion);
    EXPECT_EQ(doc["entries"]["net.ipv4.tcp_fin_timeout"]["written_at"], "2023-11-14T22:13:20Z");

    auto parsed = parse_journal(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, entries);
}

TEST(Journal, ParseRejectsWhatItDoesNotUnderstand) {
    const char* bad[] = {
        "",
        "{",
        "[]",
        R"({"entries": {}})",
        R"({"format_version": 2, "entries": {}})",
        R"({"format_version": 1})",
        R"({"format_version": 1, "entries": {"net.ipv4.tcp_fin_timeout": {"original": "60"}}})",
        R"({"format_version": 1, "entries": {"net.ipv4.tcp_fin_timeout": {"original": 60,
            "last_written": "30", "written_at": "2023-11-14T22:13:20Z", "profile": "",
            "rule": "", "reason": "", "overridden": false}}})",
        R"({"format_version": 1, "entries": {"../../etc/passwd": {"original": "60",
            "last_written": "30", "written_at": "2023-11-14T22:13:20Z", "profile": "",
            "rule": "", "reason": "", "overridden": false}}})",
        R"({"format_version": 1, "entries": {"net.ipv4.tcp_fin_timeout": {"original": "60",
            "last_written": "30", "written_at": "yesterday", "profile": "",
            "rule": "", "reason": "", "overridden": false}}})",
        R"({"format_version": 1, "entries": {"net.ipv4.tcp_fin_timeout": {"original": "60",
            "last_written": "30", "written_at": "2023-11-14T22:13:20Z", "profile": "",
            "rule": "", "reason": "", "overridden": true}}})",
    };
    for (const char* text : bad) {
        auto parsed = parse_journal(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_EQ(parsed.error().code, ErrorCode::kCorruptJournal) << text;
    }
}

// The journal never widens the allowlist: rollback writes what it names.
TEST(Journal, KeysOutsideTheAllowlistMakeTheJournalInvalid) {
    const std::string entry = R"({"original": "1", "last_written": "64",
        "written_at": "2023-11-14T22:13:20Z", "profile": "", "rule": "", "reason": "",
        "overridden": false})";
    for (const char* key : {"net.ipv4.ip_default_ttl", "net.ipv4.tcp_tw_recycle", "kernel.sysrq"}) {
        const std::string text =
            R"({"format_version": 1, "entries": {")" + std::string(key) + "\": " + entry + "}}";
        auto parsed = parse_journal(text);
        ASSERT_FALSE(parsed) << key;
        EXPECT_EQ(parsed.error().code, ErrorCode::kCorruptJournal);
        EXPECT_NE(parsed.error().message.find("not a key tcptune manages"), std::string::npos)
            << parsed.error().message;
    }
    // Kept, refused, with recovery advice.
    TempDir dir;
    const auto path = dir.path() / "journal.json";
    const std::string text =
        R"({"format_version": 1, "entries": {"net.ipv4.ip_default_ttl": )" + entry + "}}";
    spit(path, text);
    auto journal = Journal::open(dir.path());
    ASSERT_FALSE(journal);
    EXPECT_NE(journal.error().message.find("mv " + path.string()), std::string::npos);
    EXPECT_EQ(test::read_text(path), text);
}

TEST(Journal, RecordedValuesMustHaveTheKeysShape) {
    auto with = [](const std::string& key, const std::string& original,
                   const std::string& overridden_value) {
        return R"({"format_version": 1, "entries": {")" + key + R"(": {"original": ")" + original +
               R"(", "last_written": ")" + original +
               R"(", "written_at": "2023-11-14T22:13:20Z", "profile": "", "rule": "",
               "reason": "", "overridden": true, "overridden_at": "2023-11-14T22:13:20Z",
               "overridden_value": ")" +
               overridden_value + R"("}}})";
    };
    // Outside tcptune's own bounds is fine: it is the administrator's original.
    EXPECT_TRUE(parse_journal(with("net.ipv4.tcp_fin_timeout", "600", "600")));
    EXPECT_TRUE(parse_journal(with("net.ipv4.ip_local_port_range", "1024 65535", "1 2")));
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"net.ipv4.tcp_fin_timeout", "sixty"},
             {"net.ipv4.tcp_fin_timeout", "60 61"},
             {"net.ipv4.tcp_fin_timeout", ""},
             {"net.ipv4.tcp_fin_timeout", "60; reboot"},
             {"net.ipv4.ip_local_port_range", "1024"}}) {
        EXPECT_FALSE(parse_journal(with(key, value, "60"))) << key << "=" << value;
    }
    EXPECT_FALSE(parse_journal(with("net.ipv4.tcp_fin_timeout", "60", "x")));
}

TEST(Journal, CorruptFileIsRefusedWithRecoveryAdviceAndKept) {
    TempDir dir;
    const auto path = dir.path() / "journal.json";
    spit(path, "{\"format_version\": 1, \"entries\": {\"net.ipv4.tcp_fin");
    const std::string before = test::read_text(path);

    auto journal = Journal::open(dir.path());
    ASSERT_FALSE(journal);
    EXPECT_EQ(journal.error().code, ErrorCode::kCorruptJournal);
    const std::string& msg = journal.error().message;
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("refuses to write"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mv " + path.string() + " " + path.string() + ".corrupt"), std::string::npos)
        << msg;
    EXPECT_EQ(test::read_text(path), before);
}

TEST(Journal, EmptyFileIsCorruptNotEmpty) {
    TempDir dir;
    spit(dir.path() / "journal.json", "");
    auto journal = Journal::open(dir.path());
    ASSERT_FALSE(journal);
    EXPECT_EQ(journal.error().code, ErrorCode::kCorruptJournal);
}

TEST(Journal, OriginalIsCapturedOnceAndNeverAgain) {
    TempDir dir;
    auto journal = Journal::open(dir.path()).value();
    ASSERT_TRUE(
        journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "web", "r1", "why1"));
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "30", "20", kT0 + 10s, "web", "r2",
                                     "why2"));
    const JournalEntry* e = journal.find("net.ipv4.tcp_fin_timeout");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->original, "60");
    EXPECT_EQ(e->last_written, "20");
    EXPECT_EQ(e->rule, "r2");
    EXPECT_EQ(e->reason, "why2");
    EXPECT_EQ(e->written_at, kT0 + 10s);

    // What is on disk is what is in memory: a fresh open sees the same.
    auto reopened = Journal::open(dir.path()).value();
    EXPECT_EQ(reopened.entries(), journal.entries());
}

TEST(Journal, ReplaceLeavesNoTempFileAndCreatesTheStateDir) {
    TempDir dir;
    const auto state = dir.path() / "var/lib/tcptune";
    auto journal = Journal::open(state).value();
    ASSERT_TRUE(journal.record_write("net.core.somaxconn", "4096", "8192", kT0, "p", "", ""));
    EXPECT_TRUE(std::filesystem::exists(state / "journal.json"));
    EXPECT_FALSE(std::filesystem::exists(state / "journal.json.tmp"));
}

TEST(Journal, FailedPersistChangesNothingInMemory) {
    TempDir dir;
    auto journal = Journal::open(dir.path()).value();
    ASSERT_TRUE(journal.record_write("net.core.somaxconn", "4096", "8192", kT0, "p", "", ""));
    // Make the rename target impossible: a directory where the temp file goes.
    std::filesystem::create_directory(dir.path() / "journal.json.tmp");
    auto failed = journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "p", "", "");
    ASSERT_FALSE(failed);
    EXPECT_EQ(journal.find("net.ipv4.tcp_fin_timeout"), nullptr);
    EXPECT_EQ(Journal::open(dir.path()).value().entries(), journal.entries());
}

TEST(Journal, OverrideMarkIsPersistedAndClearedWithANewBaseline) {
    TempDir dir;
    auto journal = Journal::open(dir.path()).value();
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "p", "", ""));
    ASSERT_TRUE(journal.mark_overridden("net.ipv4.tcp_fin_timeout", "45", kT0 + 5s));
    {
        auto reopened = Journal::open(dir.path()).value();
        const JournalEntry* e = reopened.find("net.ipv4.tcp_fin_timeout");
        ASSERT_NE(e, nullptr);
        EXPECT_TRUE(e->overridden);
        EXPECT_EQ(e->overridden_value, "45");
        EXPECT_EQ(e->overridden_at, kT0 + 5s);
    }
    ASSERT_TRUE(journal.clear_override("net.ipv4.tcp_fin_timeout", "45"));
    auto reopened = Journal::open(dir.path()).value();
    const JournalEntry* e = reopened.find("net.ipv4.tcp_fin_timeout");
    ASSERT_NE(e, nullptr);
    EXPECT_FALSE(e->overridden);
    EXPECT_EQ(e->last_written, "45");
    EXPECT_EQ(e->original, "60");
    EXPECT_EQ(journal.mark_overridden("net.core.somaxconn", "1", kT0).error().code,
              ErrorCode::kNotFound);
}

TEST(Journal, SettlingAFailedFirstWriteForgetsTheKey) {
    TempDir dir;
    auto journal = Journal::open(dir.path()).value();
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "p", "", ""));
    ASSERT_TRUE(journal.settle_failed_write("net.ipv4.tcp_fin_timeout", "60", true));
    EXPECT_EQ(journal.find("net.ipv4.tcp_fin_timeout"), nullptr);

    // A later failed write of a managed key keeps the original, records what is live.
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "p", "", ""));
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "30", "20", kT0, "p", "", ""));
    ASSERT_TRUE(journal.settle_failed_write("net.ipv4.tcp_fin_timeout", "30", false));
    EXPECT_EQ(journal.find("net.ipv4.tcp_fin_timeout")->original, "60");
    EXPECT_EQ(journal.find("net.ipv4.tcp_fin_timeout")->last_written, "30");
}

TEST(Journal, RemoveDropsTheEntryOnDisk) {
    TempDir dir;
    auto journal = Journal::open(dir.path()).value();
    ASSERT_TRUE(journal.record_write("net.ipv4.tcp_fin_timeout", "60", "30", kT0, "p", "", ""));
    ASSERT_TRUE(journal.remove("net.ipv4.tcp_fin_timeout"));
    EXPECT_TRUE(Journal::open(dir.path()).value().entries().empty());
}

// Found by tests/fuzz/journal_fuzz.cpp: a year outside system_clock's range
// wrapped around and did not survive a round trip.
TEST(Journal, TimestampsOutsideTheClocksRangeAreRefused) {
    EXPECT_FALSE(parse_utc("1404-05-01T12:30:00Z"));
    EXPECT_FALSE(parse_utc("9999-05-01T12:30:00Z"));
    EXPECT_TRUE(parse_utc("1970-01-01T00:00:00Z"));
    EXPECT_TRUE(parse_utc("2200-01-01T00:00:00Z"));
}

TEST(Journal, UtcTimestampsRoundTrip) {
    EXPECT_EQ(format_utc(kT0), "2023-11-14T22:13:20Z");
    EXPECT_EQ(parse_utc("2023-11-14T22:13:20Z").value(), kT0);
    EXPECT_FALSE(parse_utc("2023-11-14 22:13:20"));
    EXPECT_FALSE(parse_utc("2023-11-14T22:13:20Zjunk"));
}

}  // namespace
}  // namespace tcptune
