#include "tcptune/apply/applier.hpp"

#include <algorithm>
#include <utility>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/enum_names.hpp"
#include "tcptune/pressure/ephemeral_ports.hpp"

namespace tcptune {

namespace {
constexpr EnumNames<StopPolicy, 2> kStopPolicyNames = {
    {{StopPolicy::kKeep, "keep"}, {StopPolicy::kRestore, "restore"}}};
static_assert(lists_every_value(kStopPolicyNames));
}  // namespace

std::string_view to_string(StopPolicy policy) {
    return name_of(kStopPolicyNames, policy);
}

Result<StopPolicy> parse_stop_policy(std::string_view text) {
    return parse_enum(kStopPolicyNames, text, "stop policy");
}

Applier::Applier(SysctlStore& store, const Clock& clock, ApplierOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      gate_(clock, options_.limits, options_.validator) {
    auto loaded = Journal::open(options_.state_dir);
    if (!loaded) {
        journal_error_ = loaded.error();
        return;
    }
    journal_ = std::move(*loaded);
    // Cooldown and rate limit survive a restart: replay the journal's write times
    // onto the steady clock. A write time in the future (wall clock stepped back)
    // counts as "just now", the cautious reading.
    const auto wall_now = clock_.wall_now();
    const auto steady_now = clock_.now();
    const auto horizon = std::max<std::chrono::steady_clock::duration>(options_.limits.key_cooldown,
                                                                       std::chrono::seconds(60));
    for (const auto& [key, entry] : journal_->entries()) {
        const auto age =
            std::max(wall_now - entry.written_at, std::chrono::system_clock::duration{});
        const auto steady_age =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
        if (steady_age < horizon) {
            gate_.record_change_at(key, steady_now - steady_age);
        }
    }
}

bool Applier::is_overridden(std::string_view key) const {
    if (session_overrides_.contains(key)) {
        return true;
    }
    const JournalEntry* entry = journal_ ? journal_->find(key) : nullptr;
    return entry != nullptr && entry->overridden;
}

ChangeRecord Applier::make_record(const PlannedChange& change, std::string_view old_value,
                                  std::string_view new_value, ChangeResult result,
                                  std::string detail) const {
    ChangeRecord record;
    record.key = change.key;
    record.old_value = std::string(old_value);
    record.new_value = std::string(new_value);
    record.profile = change.profile;
    record.rule = change.rule;
    record.reason = change.reason;
    record.result = result;
    record.detail = std::move(detail);
    record.replay_command = sysctl_replay_command(change.key, new_value);
    record.at = clock_.wall_now();
    return record;
}

std::vector<ChangeRecord> Applier::apply(const Plan& plan, const ApplyContext& context) {
    std::vector<ChangeRecord> records;
    records.reserve(plan.size());
    for (const PlannedChange& change : plan) {
        records.push_back(apply_one(change, context));
    }
    return records;
}

std::vector<ChangeRecord> Applier::take_side_records() {
    return std::exchange(side_records_, {});
}

std::optional<std::string> Applier::protect_listening_ports(const PlannedChange& change,
                                                            const std::string& target,
                                                            const std::string& live,
                                                            const ApplyContext& context) {
    constexpr std::string_view kRange = "net.ipv4.ip_local_port_range";
    constexpr std::string_view kReserved = "net.ipv4.ip_local_reserved_ports";
    if (change.key != kRange || (change.purpose != ChangePurpose::kBaseline &&
                                 change.purpose != ChangePurpose::kRuleFired)) {
        return std::nullopt;
    }
    const auto next = parse_sysctl_integers(target);
    const auto now = parse_sysctl_integers(live);
    if (!next || next->size() != 2 || !now || now->size() != 2) {
        return std::nullopt;  // validation already refused malformed targets
    }
    const auto in = [](const std::vector<std::int64_t>& range, std::int64_t port) {
        return port >= range[0] && port <= range[1];
    };
    if (!context.listening_ports) {
        return "the listening ports are not known, so tcptune cannot tell whether the new range "
               "would take a port a local server listens on";
    }
    PortSet reserved;
    if (auto text = store_.read(kReserved)) {
        if (auto parsed = parse_port_list(*text)) {
            reserved = *parsed;
        }
    }
    PortSet wanted = reserved;
    std::string swallowed;
    for (std::uint16_t port : *context.listening_ports) {
        if (in(*next, port) && !in(*now, port) && !reserved.contains(port)) {
            wanted.insert(port);
            swallowed += (swallowed.empty() ? "" : ",") + std::to_string(port);
        }
    }
    if (swallowed.empty()) {
        return std::nullopt;
    }
    PlannedChange reserve = change;
    reserve.key = std::string(kReserved);
    reserve.value = format_port_list(wanted);
    reserve.reason = "reserving listening port(s) " + swallowed + " before " + std::string(kRange) +
                     " becomes " + target + ", so connect() never takes them; " + change.reason;
    ChangeRecord record = apply_one(reserve, context);
    const bool done =
        record.result == ChangeResult::kApplied || record.result == ChangeResult::kSkipped ||
        (options_.mode == ApplyMode::kAdvise && record.result == ChangeResult::kAdvised);
    side_records_.push_back(record);
    if (done) {
        return std::nullopt;
    }
    return "local servers listen on port(s) " + swallowed + " inside the new range " + target +
           " and reserving them in " + std::string(kReserved) + " failed: " + record.detail;
}

ChangeRecord Applier::apply_one(const PlannedChange& change, const ApplyContext& context) {
    const bool enforce = options_.mode == ApplyMode::kEnforce;

    // 1. Allowlist and bounds, before anything touches the kernel.
    auto valid = gate_.check_value(change);
    if (!valid) {
        return make_record(change, "", change.value, ChangeResult::kRefused, valid.error().message);
    }
    const std::string& target = *valid;

    // 2. No trustworthy journal, no writes: the original could not be recorded.
    if (enforce && !journal_) {
        return make_record(change, "", target, ChangeResult::kRefused,
                           "journal unusable, no sysctl is written: " + journal_error_->message);
    }

    // 3. Never fight an administrator.
    if (is_overridden(change.key)) {
        return make_record(change, "", target, ChangeResult::kRefused,
                           change.key +
                               " was changed by someone else; tcptune leaves it alone "
                               "until `tcptune resume " +
                               change.key + "`");
    }

    // 4. Nothing to do when the kernel already has the value: no journal entry,
    // no write, and no cooldown or rate budget spent.
    auto live = store_.read(change.key);
    if (!live) {
        return make_record(change, "", target, ChangeResult::kFailed, live.error().message);
    }
    if (*live == target) {
        return make_record(change, *live, target, ChangeResult::kSkipped, "already " + target);
    }

    // 5. Effect: never change a key the kernel ignores right now, and never let a
    // wider port range take a port a local server listens on.
    if (auto refusal =
            gate_.check_effect(change, [this](std::string_view key) -> std::optional<std::string> {
                auto value = store_.read(key);
                return value ? std::optional<std::string>(*value) : std::nullopt;
            })) {
        return make_record(change, "", target, ChangeResult::kRefused, refusal->message);
    }
    if (auto conflict = protect_listening_ports(change, target, *live, context)) {
        return make_record(change, "", target, ChangeResult::kRefused,
                           "refusing " + change.key + " " + target + ": " + *conflict);
    }

    // 6. Cooldown and rate limit.
    if (auto refusal = gate_.check_timing(change.key)) {
        return make_record(change, *live, target, ChangeResult::kRefused, refusal->message);
    }

    if (!enforce) {
        return make_record(change, *live, target, ChangeResult::kAdvised,
                           "advice mode: would run " + sysctl_replay_command(change.key, target));
    }

    // 7. Journal first: the original is on disk (fsync'd) before the kernel changes.
    const bool first_write = journal_->find(change.key) == nullptr;
    if (auto journaled = journal_->record_write(change.key, *live, target, clock_.wall_now(),
                                                change.profile, change.rule, change.reason);
        !journaled) {
        return make_record(
            change, *live, target, ChangeResult::kFailed,
            "not written because the journal could not be updated: " + journaled.error().message);
    }

    // 8. Write. An attempt counts against cooldown and rate limit whether or not
    // it succeeds, so a failing write is retried at the cooldown pace, not in a loop.
    auto written = store_.write(change.key, target);
    gate_.record_change(change.key);

    // 9. Read back: only the kernel's answer counts.
    auto back = store_.read(change.key);
    std::string detail;
    if (!written) {
        detail = written.error().message;
    } else if (!back) {
        detail = "written, but the value cannot be read back: " + back.error().message;
    } else if (*back != target) {
        detail = "the kernel accepted the write but reads back \"" + *back + "\" instead of \"" +
                 target + "\"";
    } else {
        return make_record(change, *live, target, ChangeResult::kApplied, "");
    }
    if (back) {
        // Keep the journal truthful about what is live, so this failure is not
        // later mistaken for an administrator's override.
        if (auto settled = journal_->settle_failed_write(change.key, *back, first_write);
            !settled) {
            detail += "; and the journal could not be updated: " + settled.error().message;
        }
    }
    return make_record(change, *live, target, ChangeResult::kFailed, std::move(detail));
}

std::vector<ChangeRecord> Applier::check_overrides() {
    std::vector<ChangeRecord> records;
    if (!journal_) {
        return records;  // nothing trustworthy to compare with; journal_error() says why
    }
    const JournalEntries snapshot = journal_->entries();
    for (const auto& [key, entry] : snapshot) {
        if (entry.overridden || session_overrides_.contains(key)) {
            continue;  // already reported once
        }
        auto live = store_.read(key);
        if (!live || *live == entry.last_written) {
            // An unreadable key is not evidence of an administrator; apply and
            // rollback report read failures when they matter.
            continue;
        }
        if (*live == entry.original) {
            // tcptune's own unfinished business, not an administrator's: a crash
            // between journaling and writing (the order the safety model
            // requires), or a rollback that restored the value but could not
            // update the journal. The write is simply not in effect.
            continue;
        }
        PlannedChange as_planned{key, entry.last_written, entry.profile, entry.rule, entry.reason};
        std::string detail = "changed outside tcptune: tcptune last wrote \"" + entry.last_written +
                             "\", the kernel now has \"" + *live +
                             "\"; tcptune will not touch it until `tcptune resume " + key + "`";
        if (options_.mode == ApplyMode::kEnforce) {
            if (auto marked = journal_->mark_overridden(key, *live, clock_.wall_now()); !marked) {
                session_overrides_.insert(key);
                detail += " (not recorded in the journal: " + marked.error().message + ")";
            }
        } else {
            session_overrides_.insert(key);
            detail += " (advice mode: remembered until tcptuned restarts, journal untouched)";
        }
        records.push_back(make_record(as_planned, entry.last_written, *live,
                                      ChangeResult::kOverridden, std::move(detail)));
    }
    return records;
}

Result<ChangeRecord> Applier::resume(std::string_view key) {
    if (!journal_) {
        return tl::unexpected(*journal_error_);
    }
    const JournalEntry* entry = journal_->find(key);
    if (entry == nullptr) {
        return make_error(ErrorCode::kNotFound, "tcptune does not manage " + std::string(key) +
                                                    " (it is not in the journal)");
    }
    const JournalEntry before = *entry;
    std::string live;
    TRY_ASSIGN(live, store_.read(key));
    const bool was_overridden = before.overridden || session_overrides_.contains(key);
    TRY(journal_->clear_override(key, live));
    session_overrides_.erase(std::string(key));
    PlannedChange as_planned{std::string(key), live, before.profile, before.rule, before.reason};
    std::string detail =
        was_overridden ? "override cleared; the current value \"" + live +
                             "\" is the new baseline, the original \"" + before.original +
                             "\" is kept for rollback"
                       : "was not overridden; baseline set to the current value \"" + live + "\"";
    return make_record(as_planned, before.last_written, live, ChangeResult::kResumed,
                       std::move(detail));
}

Result<std::vector<ChangeRecord>> Applier::rollback(RollbackOptions options) {
    if (!journal_) {
        return tl::unexpected(*journal_error_);
    }
    std::vector<ChangeRecord> records;
    const JournalEntries snapshot = journal_->entries();
    for (const auto& [key, entry] : snapshot) {
        PlannedChange as_planned{key, entry.original, entry.profile, entry.rule,
                                 "rollback to the value before tcptune changed it"};
        if (!options.force && (entry.overridden || session_overrides_.contains(key))) {
            records.push_back(make_record(
                as_planned, "", entry.original, ChangeResult::kSkipped,
                "overridden by someone else; left as it is (use force to restore the original)"));
            continue;
        }
        auto live = store_.read(key);
        if (!live) {
            records.push_back(make_record(as_planned, "", entry.original, ChangeResult::kFailed,
                                          live.error().message));
            continue;
        }
        if (options_.mode == ApplyMode::kAdvise) {
            records.push_back(make_record(
                as_planned, *live, entry.original, ChangeResult::kAdvised,
                "advice mode: would run " + sysctl_replay_command(key, entry.original)));
            continue;
        }
        std::string detail;
        if (*live == entry.original) {
            detail = "already at the original value";
        } else {
            if (auto written = store_.write(key, entry.original); !written) {
                records.push_back(make_record(as_planned, *live, entry.original,
                                              ChangeResult::kFailed, written.error().message));
                continue;
            }
            auto back = store_.read(key);
            if (!back || *back != entry.original) {
                records.push_back(
                    make_record(as_planned, *live, entry.original, ChangeResult::kFailed,
                                back ? "reads back \"" + *back + "\" instead of the original"
                                     : back.error().message));
                continue;
            }
        }
        // Verified: only now forget the original. A crash before this line leaves
        // the entry, and the next rollback finds the value already restored.
        if (auto removed = journal_->remove(key); !removed) {
            // The kernel has the original again, but the journal still says
            // tcptune changed the key: a failure the operator must see (the
            // next poll treats the key as not applied, never as overridden).
            records.push_back(make_record(
                as_planned, *live, entry.original, ChangeResult::kFailed,
                "restored to the original, but the journal entry could not be removed: " +
                    removed.error().message));
            continue;
        }
        session_overrides_.erase(key);
        records.push_back(
            make_record(as_planned, *live, entry.original, ChangeResult::kRestored, detail));
    }
    return records;
}

Result<std::vector<ChangeRecord>> Applier::on_stop(StopPolicy policy) {
    if (policy == StopPolicy::kKeep) {
        return std::vector<ChangeRecord>{};
    }
    return rollback();
}

std::vector<ManagedSysctl> Applier::managed() const {
    std::vector<ManagedSysctl> out;
    if (!journal_) {
        return out;
    }
    for (const auto& [key, entry] : journal_->entries()) {
        out.push_back(
            ManagedSysctl{key, entry, entry.overridden || session_overrides_.contains(key)});
    }
    return out;
}

}  // namespace tcptune
