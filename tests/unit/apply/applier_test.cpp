#include "tcptune/apply/applier.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::FakeProcSys;
using test::HookedSysctlStore;
using test::ManualClock;
using test::TempDir;

constexpr const char* kFin = "net.ipv4.tcp_fin_timeout";
constexpr const char* kReuse = "net.ipv4.tcp_tw_reuse";
constexpr const char* kPorts = "net.ipv4.ip_local_port_range";
constexpr const char* kBacklog = "net.ipv4.tcp_max_syn_backlog";

PlannedChange change(std::string key, std::string value, std::string rule = "pileup") {
    return PlannedChange{std::move(key), std::move(value), "web", std::move(rule),
                         "time_wait 40000 > 30000 for 60 s"};
}

// The same change made by a rule that fires (what the gate holds to the kernel's state).
PlannedChange fired(std::string key, std::string value, std::string rule) {
    PlannedChange c = change(std::move(key), std::move(value), std::move(rule));
    c.purpose = ChangePurpose::kRuleFired;
    return c;
}

class ApplierTest : public ::testing::Test {
  protected:
    void SetUp() override {
        proc.set(kFin, "60");
        proc.set(kReuse, "2");
        proc.set(kPorts, "32768\t60999");
        proc.set(kBacklog, "4096");
    }

    std::unique_ptr<Applier> make(ApplyMode mode = ApplyMode::kEnforce,
                                  GateLimits limits = {.key_cooldown = 60s,
                                                       .max_changes_per_minute = 20}) {
        ApplierOptions options;
        options.state_dir = state.path();
        options.mode = mode;
        options.limits = limits;
        return std::make_unique<Applier>(store, clock, options);
    }

    std::string live(const char* key) const { return store.read(key).value(); }
    std::filesystem::path journal_path() const { return state.path() / "journal.json"; }

    FakeProcSys proc;
    TempDir state;
    ManualClock clock;
    HookedSysctlStore store{proc.root()};
};

TEST_F(ApplierTest, AppliesVerifiesAndRecordsEveryChange) {
    auto applier = make();
    ASSERT_FALSE(applier->journal_error());
    // No local listener: the wider range takes no server's port.
    auto records = applier->apply({change(kFin, "30"), change(kPorts, "1024   65535")},
                                  ApplyContext{std::vector<std::uint16_t>{}});
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].result, ChangeResult::kApplied) << records[0].detail;
    EXPECT_EQ(records[0].key, kFin);
    EXPECT_EQ(records[0].old_value, "60");
    EXPECT_EQ(records[0].new_value, "30");
    EXPECT_EQ(records[0].profile, "web");
    EXPECT_EQ(records[0].rule, "pileup");
    EXPECT_EQ(records[0].reason, "time_wait 40000 > 30000 for 60 s");
    EXPECT_EQ(records[0].replay_command, "sysctl -w net.ipv4.tcp_fin_timeout=30");
    EXPECT_EQ(records[1].result, ChangeResult::kApplied) << records[1].detail;
    EXPECT_EQ(records[1].old_value, "32768 60999");
    EXPECT_EQ(records[1].replay_command, "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"");
    EXPECT_EQ(live(kFin), "30");
    EXPECT_EQ(live(kPorts), "1024 65535");

    auto journal = Journal::open(state.path()).value();
    ASSERT_EQ(journal.entries().size(), 2u);
    EXPECT_EQ(journal.find(kFin)->original, "60");
    EXPECT_EQ(journal.find(kFin)->last_written, "30");
    EXPECT_EQ(journal.find(kFin)->written_at, clock.wall_now());
    EXPECT_EQ(journal.find(kPorts)->original, "32768 60999");
}

TEST_F(ApplierTest, JournalIsOnDiskBeforeEveryWrite) {
    store.before_write = [this](std::string_view key, std::string_view value) -> std::string {
        // What a crash at this instant would leave: the file on disk.
        auto journal = Journal::open(state.path());
        if (!journal) {
            return "journal unreadable before write: " + journal.error().message;
        }
        const JournalEntry* e = journal->find(key);
        if (e == nullptr) {
            return "no journal entry before writing " + std::string(key);
        }
        if (e->last_written != value) {
            return "journal says " + e->last_written + " before writing " + std::string(value);
        }
        const std::string before_tcptune = key == kFin       ? "60"
                                           : key == kReuse   ? "2"
                                           : key == kBacklog ? "4096"
                                                             : "?";
        if (e->original != before_tcptune) {
            return "journal original " + e->original + " is not the value before tcptune";
        }
        return "";
    };
    auto applier = make();
    applier->apply({change(kFin, "30"), change(kReuse, "1"), change(kBacklog, "8192")});
    clock.advance(61s);
    applier->apply({change(kFin, "20")});
    EXPECT_EQ(store.writes.size(), 4u);
    EXPECT_TRUE(store.write_violations.empty()) << store.write_violations.front();
    // The second write of kFin kept the first original.
    EXPECT_EQ(Journal::open(state.path()).value().find(kFin)->original, "60");
}

TEST_F(ApplierTest, SkipsWhenTheLiveValueIsAlreadyTheTarget) {
    auto applier = make();
    auto records = applier->apply({change(kPorts, "32768 60999")});
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].result, ChangeResult::kSkipped);
    EXPECT_TRUE(store.writes.empty());
    EXPECT_FALSE(std::filesystem::exists(journal_path()));
}

TEST_F(ApplierTest, ReadBackMismatchIsAFailureNotAnOverride) {
    // The kernel clamps: it stores something else than what was written.
    store.kernel_stores = [](std::string_view, std::string_view) { return std::string("45"); };
    auto applier = make();
    auto records = applier->apply({change(kFin, "30")});
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].result, ChangeResult::kFailed);
    EXPECT_NE(records[0].detail.find("reads back \"45\""), std::string::npos) << records[0].detail;
    // The journal tells the truth: original kept, live value recorded, so the
    // next poll does not mistake tcptune's own failed write for an administrator.
    auto journal = Journal::open(state.path()).value();
    EXPECT_EQ(journal.find(kFin)->original, "60");
    EXPECT_EQ(journal.find(kFin)->last_written, "45");
    EXPECT_TRUE(applier->check_overrides().empty());
    // Not retried in a tight loop: the failed attempt started the cooldown.
    auto again = applier->apply({change(kFin, "30")});
    EXPECT_EQ(again[0].result, ChangeResult::kRefused);
    EXPECT_EQ(store.writes.size(), 1u);
    // And rollback still knows the original.
    store.kernel_stores = nullptr;
    auto rolled = applier->rollback().value();
    EXPECT_EQ(rolled[0].result, ChangeResult::kRestored);
    EXPECT_EQ(live(kFin), "60");
}

TEST_F(ApplierTest, KernelErrorIsReportedAndTheKeyLeftUnmanaged) {
    store.fail_key = kBacklog;
    store.fail_errno = EINVAL;
    auto applier = make();
    auto records = applier->apply({change(kBacklog, "8192"), change(kFin, "30")});
    EXPECT_EQ(records[0].result, ChangeResult::kFailed);
    EXPECT_NE(records[0].detail.find("EINVAL"), std::string::npos) << records[0].detail;
    EXPECT_EQ(records[1].result, ChangeResult::kApplied);
    EXPECT_EQ(live(kBacklog), "4096");
    auto journal = Journal::open(state.path()).value();
    EXPECT_EQ(journal.find(kBacklog), nullptr);  // nothing changed, nothing to roll back
    EXPECT_NE(journal.find(kFin), nullptr);
}

TEST_F(ApplierTest, RefusesOutOfBoundsAndUnknownKeysWithoutTouchingAnything) {
    auto applier = make();
    auto records = applier->apply({change(kFin, "1"), change("net.ipv4.tcp_tw_recycle", "1")});
    EXPECT_EQ(records[0].result, ChangeResult::kRefused);
    EXPECT_EQ(records[1].result, ChangeResult::kRefused);
    EXPECT_NE(records[1].detail.find("NAT"), std::string::npos) << records[1].detail;
    EXPECT_TRUE(store.writes.empty());
    EXPECT_FALSE(std::filesystem::exists(journal_path()));
}

TEST_F(ApplierTest, CooldownAndRateLimitHoldChangesBack) {
    auto applier = make(ApplyMode::kEnforce, {.key_cooldown = 300s, .max_changes_per_minute = 2});
    auto first =
        applier->apply({change(kFin, "30"), change(kReuse, "1"), change(kBacklog, "8192")});
    EXPECT_EQ(first[0].result, ChangeResult::kApplied);
    EXPECT_EQ(first[1].result, ChangeResult::kApplied);
    EXPECT_EQ(first[2].result, ChangeResult::kRefused);
    EXPECT_NE(first[2].detail.find("rate limit"), std::string::npos) << first[2].detail;
    clock.advance(61s);
    auto second = applier->apply({change(kFin, "20"), change(kBacklog, "8192")});
    EXPECT_EQ(second[0].result, ChangeResult::kRefused);
    EXPECT_NE(second[0].detail.find("300 s"), std::string::npos) << second[0].detail;
    EXPECT_EQ(second[1].result, ChangeResult::kApplied);
    EXPECT_EQ(live(kFin), "30");
}

TEST_F(ApplierTest, CooldownSurvivesARestart) {
    make(ApplyMode::kEnforce, {.key_cooldown = 300s, .max_changes_per_minute = 20})
        ->apply({change(kFin, "30")});
    clock.advance(100s);
    auto restarted =
        make(ApplyMode::kEnforce, {.key_cooldown = 300s, .max_changes_per_minute = 20});
    EXPECT_EQ(restarted->apply({change(kFin, "20")})[0].result, ChangeResult::kRefused);
    clock.advance(201s);
    EXPECT_EQ(restarted->apply({change(kFin, "20")})[0].result, ChangeResult::kApplied);
}

TEST_F(ApplierTest, OverrideIsDetectedPersistedAndNeverFought) {
    auto applier = make();
    applier->apply({change(kFin, "30"), change(kReuse, "1")});
    EXPECT_TRUE(applier->check_overrides().empty());

    proc.set(kFin, "45");  // an administrator: sysctl -w net.ipv4.tcp_fin_timeout=45
    clock.advance(5s);
    auto detected = applier->check_overrides();
    ASSERT_EQ(detected.size(), 1u);
    EXPECT_EQ(detected[0].result, ChangeResult::kOverridden);
    EXPECT_EQ(detected[0].key, kFin);
    EXPECT_EQ(detected[0].old_value, "30");
    EXPECT_EQ(detected[0].new_value, "45");
    EXPECT_TRUE(applier->is_overridden(kFin));
    // Reported once, not every poll.
    EXPECT_TRUE(applier->check_overrides().empty());

    auto journal = Journal::open(state.path()).value();
    EXPECT_TRUE(journal.find(kFin)->overridden);
    EXPECT_EQ(journal.find(kFin)->overridden_value, "45");
    EXPECT_EQ(journal.find(kFin)->overridden_at, clock.wall_now());

    clock.advance(600s);
    const auto writes_before = store.writes.size();
    auto refused = applier->apply({change(kFin, "20")});
    EXPECT_EQ(refused[0].result, ChangeResult::kRefused);
    EXPECT_NE(refused[0].detail.find("tcptune resume"), std::string::npos);
    EXPECT_EQ(store.writes.size(), writes_before);
    EXPECT_EQ(live(kFin), "45");

    // A restart remembers the override.
    auto restarted = make();
    EXPECT_TRUE(restarted->is_overridden(kFin));
    EXPECT_EQ(restarted->apply({change(kFin, "20")})[0].result, ChangeResult::kRefused);
}

TEST_F(ApplierTest, ResumeAdoptsTheLiveValueAndKeepsTheOriginal) {
    auto applier = make();
    applier->apply({change(kFin, "30")});
    proc.set(kFin, "45");
    applier->check_overrides();
    auto resumed = applier->resume(kFin);
    ASSERT_TRUE(resumed) << resumed.error().message;
    EXPECT_EQ(resumed->result, ChangeResult::kResumed);
    EXPECT_FALSE(applier->is_overridden(kFin));
    // The administrator's value is the baseline: no instant re-detection.
    EXPECT_TRUE(applier->check_overrides().empty());
    auto journal = Journal::open(state.path()).value();
    EXPECT_EQ(journal.find(kFin)->original, "60");
    EXPECT_EQ(journal.find(kFin)->last_written, "45");
    clock.advance(61s);
    EXPECT_EQ(applier->apply({change(kFin, "20")})[0].result, ChangeResult::kApplied);
    EXPECT_EQ(applier->resume("net.core.somaxconn").error().code, ErrorCode::kNotFound);
}

TEST_F(ApplierTest, RollbackRestoresOriginalsVerifiesAndClearsTheJournal) {
    auto applier = make();
    applier->apply({change(kFin, "30"), change(kPorts, "1024 65535"), change(kReuse, "1")},
                   ApplyContext{std::vector<std::uint16_t>{}});
    proc.set(kReuse, "0");  // overridden by an administrator
    applier->check_overrides();

    auto records = applier->rollback();
    ASSERT_TRUE(records) << records.error().message;
    ASSERT_EQ(records->size(), 3u);
    for (const auto& r : *records) {
        if (r.key == kReuse) {
            EXPECT_EQ(r.result, ChangeResult::kSkipped);
        } else {
            EXPECT_EQ(r.result, ChangeResult::kRestored) << r.key << ": " << r.detail;
        }
    }
    EXPECT_EQ(live(kFin), "60");
    EXPECT_EQ(live(kPorts), "32768 60999");
    EXPECT_EQ(live(kReuse), "0");
    auto journal = Journal::open(state.path()).value();
    ASSERT_EQ(journal.entries().size(), 1u);
    EXPECT_NE(journal.find(kReuse), nullptr);

    auto forced = applier->rollback({.force = true}).value();
    ASSERT_EQ(forced.size(), 1u);
    EXPECT_EQ(forced[0].result, ChangeResult::kRestored);
    EXPECT_EQ(forced[0].replay_command, "sysctl -w net.ipv4.tcp_tw_reuse=2");
    EXPECT_EQ(live(kReuse), "2");
    EXPECT_TRUE(Journal::open(state.path()).value().entries().empty());
}

TEST_F(ApplierTest, RollbackFailureKeepsTheEntryForNextTime) {
    auto applier = make();
    applier->apply({change(kFin, "30")});
    store.kernel_stores = [](std::string_view, std::string_view) { return std::string("31"); };
    auto records = applier->rollback().value();
    EXPECT_EQ(records[0].result, ChangeResult::kFailed);
    EXPECT_NE(Journal::open(state.path()).value().find(kFin), nullptr);
    store.kernel_stores = nullptr;
    EXPECT_EQ(applier->rollback().value()[0].result, ChangeResult::kRestored);
    EXPECT_EQ(live(kFin), "60");
}

// #16 item 6: tcptune must not mistake its own unfinished actions for an
// administrator's. A crash between journaling and writing leaves an entry
// whose live value is still the original.
TEST_F(ApplierTest, AJournaledWriteThatNeverHappenedIsNotAnOverride) {
    {
        auto journal = Journal::open(state.path()).value();
        ASSERT_TRUE(journal.record_write(kFin, "60", "30", clock.wall_now(), "web", "pileup", "x"));
    }
    ASSERT_EQ(live(kFin), "60");  // the crash came before the write
    auto applier = make();        // the restart
    EXPECT_TRUE(applier->check_overrides().empty());
    EXPECT_FALSE(applier->is_overridden(kFin));
    auto records = applier->rollback().value();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].result, ChangeResult::kRestored) << records[0].detail;
    EXPECT_TRUE(Journal::open(state.path()).value().entries().empty());
}

TEST_F(ApplierTest, ARollbackThatCannotUpdateTheJournalFailsAndIsNoOverrideLater) {
    auto applier = make();
    applier->apply({change(kFin, "30")});
    // The journal can no longer be replaced (as root a read-only mode does not
    // stop writes; a directory where the temp file goes does).
    std::filesystem::create_directory(state.path() / "journal.json.tmp");
    auto records = applier->rollback().value();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].result, ChangeResult::kFailed) << "the CLI must exit non-zero";
    EXPECT_NE(records[0].detail.find("journal entry could not be removed"), std::string::npos);
    EXPECT_EQ(live(kFin), "60") << "the value itself was restored";
    EXPECT_TRUE(applier->check_overrides().empty()) << "the next poll reports no override";
    EXPECT_FALSE(applier->is_overridden(kFin));
    std::filesystem::remove(state.path() / "journal.json.tmp");
    EXPECT_EQ(applier->rollback().value()[0].result, ChangeResult::kRestored);
    EXPECT_TRUE(Journal::open(state.path()).value().entries().empty());
}

TEST_F(ApplierTest, ARestartKeepsTheJournalsOriginals) {
    // A crash after some writes: the next process sees the changed values live
    // but must roll back to the values from before the first process ran.
    make()->apply({change(kFin, "30"), change(kBacklog, "8192")});
    auto restarted = make();
    clock.advance(61s);
    restarted->apply({change(kFin, "20"), change(kBacklog, "8192")});
    auto journal = Journal::open(state.path()).value();
    EXPECT_EQ(journal.find(kFin)->original, "60");
    EXPECT_EQ(journal.find(kBacklog)->original, "4096");
    restarted->rollback();
    EXPECT_EQ(live(kFin), "60");
    EXPECT_EQ(live(kBacklog), "4096");
}

TEST_F(ApplierTest, CorruptJournalRefusesWritesAndIsKept) {
    std::filesystem::create_directories(state.path());
    {
        std::ofstream out(journal_path());
        out << "{\"format_version\": 1, \"entries\": {\"net.ipv4.tcp_fin_timeout\": {\"orig";
    }
    const std::string before = test::read_text(journal_path());
    auto applier = make();
    ASSERT_TRUE(applier->journal_error());
    EXPECT_EQ(applier->journal_error()->code, ErrorCode::kCorruptJournal);
    auto records = applier->apply({change(kFin, "30")});
    EXPECT_EQ(records[0].result, ChangeResult::kRefused);
    EXPECT_NE(records[0].detail.find(journal_path().string()), std::string::npos)
        << records[0].detail;
    EXPECT_TRUE(store.writes.empty());
    EXPECT_EQ(live(kFin), "60");
    EXPECT_FALSE(applier->rollback());
    EXPECT_FALSE(applier->resume(kFin));
    EXPECT_EQ(test::read_text(journal_path()), before);
}

TEST_F(ApplierTest, AdviceModeDoesEverythingButTheWrite) {
    auto applier = make(ApplyMode::kAdvise);
    auto records =
        applier->apply({change(kFin, "30"), change(kPorts, "32768 60999"), change(kFin, "500")});
    EXPECT_EQ(records[0].result, ChangeResult::kAdvised);
    EXPECT_EQ(records[0].old_value, "60");
    EXPECT_EQ(records[0].new_value, "30");
    EXPECT_NE(records[0].detail.find("sysctl -w net.ipv4.tcp_fin_timeout=30"), std::string::npos);
    EXPECT_EQ(records[1].result, ChangeResult::kSkipped);
    EXPECT_EQ(records[2].result, ChangeResult::kRefused);
    EXPECT_TRUE(store.writes.empty());
    EXPECT_EQ(live(kFin), "60");
    EXPECT_FALSE(std::filesystem::exists(journal_path()));
}

TEST_F(ApplierTest, AdviceModeNeverWritesTheJournalEvenForOverridesOrRollback) {
    make()->apply({change(kFin, "30")});
    const std::string before = test::read_text(journal_path());
    auto advisor = make(ApplyMode::kAdvise);
    proc.set(kFin, "45");
    auto detected = advisor->check_overrides();
    ASSERT_EQ(detected.size(), 1u);
    EXPECT_TRUE(advisor->is_overridden(kFin));
    auto rolled = advisor->rollback({.force = true}).value();
    EXPECT_EQ(rolled[0].result, ChangeResult::kAdvised);
    EXPECT_EQ(live(kFin), "45");
    EXPECT_EQ(test::read_text(journal_path()), before);
    EXPECT_EQ(store.writes.size(), 1u);
}

TEST_F(ApplierTest, StopPolicyKeepLeavesValuesRestoreRollsBack) {
    EXPECT_EQ(parse_stop_policy("keep").value(), StopPolicy::kKeep);
    EXPECT_EQ(parse_stop_policy("restore").value(), StopPolicy::kRestore);
    EXPECT_FALSE(parse_stop_policy("flap"));
    auto applier = make();
    applier->apply({change(kFin, "30")});
    EXPECT_TRUE(applier->on_stop(StopPolicy::kKeep).value().empty());
    EXPECT_EQ(live(kFin), "30");
    auto restored = applier->on_stop(StopPolicy::kRestore).value();
    ASSERT_EQ(restored.size(), 1u);
    EXPECT_EQ(restored[0].result, ChangeResult::kRestored);
    EXPECT_EQ(live(kFin), "60");
}

TEST_F(ApplierTest, ManagedListsJournaledKeys) {
    auto applier = make();
    applier->apply({change(kFin, "30"), change(kReuse, "1")});
    proc.set(kReuse, "0");
    applier->check_overrides();
    auto managed = applier->managed();
    ASSERT_EQ(managed.size(), 2u);
    EXPECT_EQ(managed[0].key, kFin);
    EXPECT_FALSE(managed[0].overridden);
    EXPECT_EQ(managed[0].entry.original, "60");
    EXPECT_EQ(managed[1].key, kReuse);
    EXPECT_TRUE(managed[1].overridden);
}

}  // namespace
}  // namespace tcptune

namespace tcptune {
namespace {

// The gate refuses to change what the kernel ignores right now.
TEST_F(ApplierTest, SynBacklogIsRefusedWhileSyncookiesAreOnAndRestoringStaysAllowed) {
    proc.set("net.ipv4.tcp_syncookies", "1");
    auto applier = make();
    const PlannedChange fire = fired(kBacklog, "16384", "syn-cookie-storm");
    auto records = applier->apply({fire});
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].result, ChangeResult::kRefused);
    EXPECT_NE(records[0].detail.find("net.ipv4.tcp_max_syn_backlog has no effect now"),
              std::string::npos)
        << records[0].detail;
    EXPECT_NE(records[0].detail.find("min(listen() backlog, net.core.somaxconn)"),
              std::string::npos);
    EXPECT_NE(records[0].detail.find("net.ipv4.tcp_syncookies = 1"), std::string::npos);
    EXPECT_EQ(live(kBacklog), "4096");
    EXPECT_TRUE(applier->journal()->entries().empty());

    // With cookies off the kernel reads it: the same change goes through.
    proc.set("net.ipv4.tcp_syncookies", "0");
    records = applier->apply({fire});
    EXPECT_EQ(records[0].result, ChangeResult::kApplied) << records[0].detail;

    // Putting a value back is never refused, whatever the cookies say.
    proc.set("net.ipv4.tcp_syncookies", "1");
    PlannedChange restore = change(kBacklog, "4096", "syn-cookie-storm");
    restore.purpose = ChangePurpose::kRuleCleared;
    auto back = make(ApplyMode::kEnforce, {.key_cooldown = 0s, .max_changes_per_minute = 20});
    records = back->apply({restore});
    EXPECT_EQ(records[0].result, ChangeResult::kApplied) << records[0].detail;
}

TEST_F(ApplierTest, AWiderPortRangeReservesTheListeningPortsItWouldTakeFirst) {
    proc.set("net.ipv4.ip_local_reserved_ports", "\n");
    auto applier = make();
    const PlannedChange wider = fired(kPorts, "10240 65535", "port-range-pressure");
    // 8080 is below the new range; 20000 is newly inside it; 40000 already was.
    auto records =
        applier->apply({wider}, ApplyContext{std::vector<std::uint16_t>{8080, 20000, 40000}});
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].result, ChangeResult::kApplied) << records[0].detail;
    const auto side = applier->take_side_records();
    ASSERT_EQ(side.size(), 1U);
    EXPECT_EQ(side[0].key, "net.ipv4.ip_local_reserved_ports");
    EXPECT_EQ(side[0].result, ChangeResult::kApplied) << side[0].detail;
    EXPECT_EQ(side[0].new_value, "20000");
    EXPECT_NE(side[0].reason.find("reserving listening port(s) 20000"), std::string::npos);
    EXPECT_EQ(live("net.ipv4.ip_local_reserved_ports"), "20000");
    EXPECT_EQ(live(kPorts), "10240 65535");
    // Both are journaled, so a rollback restores both.
    EXPECT_EQ(applier->journal()->entries().size(), 2U);
}

TEST_F(ApplierTest, AWiderPortRangeIsRefusedWhenTheListeningPortsAreUnknown) {
    auto applier = make();
    const PlannedChange wider = fired(kPorts, "10240 65535", "port-range-pressure");
    auto records = applier->apply({wider});
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].result, ChangeResult::kRefused);
    EXPECT_NE(records[0].detail.find("listening ports are not known"), std::string::npos);
    EXPECT_EQ(live(kPorts), "32768 60999");
}

}  // namespace
}  // namespace tcptune
