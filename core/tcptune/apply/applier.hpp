#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/apply/journal.hpp"
#include "tcptune/apply/safety_gate.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/engine/plan.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

enum class ApplyMode {
    kEnforce,  // write sysctls
    kAdvise,   // run everything except the write; the journal is never touched
};

// What the daemon does with the kernel settings it changed when it stops.
enum class StopPolicy {
    kKeep,     // default: a service restart must not flap kernel settings
    kRestore,  // roll every journaled key back to its original
};

std::string_view to_string(StopPolicy policy);
Result<StopPolicy> parse_stop_policy(std::string_view text);  // "keep" | "restore"

struct ApplierOptions {
    std::filesystem::path state_dir = "/var/lib/tcptune";
    ApplyMode mode = ApplyMode::kEnforce;
    GateLimits limits{};
    // Empty means the registry (validate_sysctl_value); tests may inject one.
    SafetyGate::Validator validator{};
};

// What the applier needs to know about the running system besides sysctls.
struct ApplyContext {
    // Ports local LISTEN sockets use (sorted); nullopt when the census did not
    // collect them. A widening of ip_local_port_range is refused without them.
    std::optional<std::vector<std::uint16_t>> listening_ports;
};

struct RollbackOptions {
    bool force = false;  // also restore keys an administrator has overridden
};

// A managed key as status views show it.
struct ManagedSysctl {
    std::string key;
    JournalEntry entry;
    // entry.overridden, or an override detected but not persisted (advice mode).
    bool overridden = false;
};

// Executes gated plans against a SysctlStore, journal first, with read-back.
// Single-threaded: the daemon calls it from its event loop.
//
// For every change: validate (allowlist, bounds) -> refuse if the journal is
// unusable or the key is overridden -> read live -> skip if equal -> cooldown and
// rate limit -> [advice mode stops here] -> journal (fsync) -> write -> read back.
class Applier {
  public:
    // Loads <state_dir>/journal.json. A corrupt or unreadable journal does not
    // throw: journal_error() says why and every write is refused until an
    // operator recovers (see journal_recovery_advice). After a crash the journal's
    // originals are kept as they are.
    Applier(SysctlStore& store, const Clock& clock, ApplierOptions options);

    // Why writes are refused, when the journal could not be loaded.
    const std::optional<Error>& journal_error() const { return journal_error_; }
    // nullptr when journal_error() is set.
    const Journal* journal() const { return journal_ ? &*journal_ : nullptr; }

    ApplyMode mode() const { return options_.mode; }
    void set_mode(ApplyMode mode) { options_.mode = mode; }
    const SafetyGate& gate() const { return gate_; }

    // One record per planned change, in plan order. Changes the applier makes on
    // its own to keep a planned one safe (reserving listening ports before a wider
    // ip_local_port_range) are returned by take_side_records().
    std::vector<ChangeRecord> apply(const Plan& plan, const ApplyContext& context = {});
    std::vector<ChangeRecord> take_side_records();

    // "Never fight": called every poll. A managed key whose live value differs
    // from what tcptune last wrote is marked overridden (persisted; in advice mode
    // only remembered for this process) and reported once as kOverridden.
    std::vector<ChangeRecord> check_overrides();

    // Clears the overridden mark of `key` and adopts its current live value as
    // the new baseline (the original is kept). kNotFound when tcptune does not
    // manage the key.
    Result<ChangeRecord> resume(std::string_view key);

    // Restores every journaled key to its original, verifies it by read-back and
    // removes restored entries from the journal (each persisted as it happens).
    // Overridden keys are skipped unless options.force. Errors only when the
    // journal is unusable; per-key failures are records.
    Result<std::vector<ChangeRecord>> rollback(RollbackOptions options = {});

    // The daemon calls this on shutdown: kKeep does nothing, kRestore rolls back.
    Result<std::vector<ChangeRecord>> on_stop(StopPolicy policy);

    // Keys tcptune manages (journaled), in key order.
    std::vector<ManagedSysctl> managed() const;
    bool is_overridden(std::string_view key) const;

  private:
    ChangeRecord apply_one(const PlannedChange& change, const ApplyContext& context);
    // For ip_local_port_range: reserves the listening ports the new range would
    // newly cover (ip_local_reserved_ports), or says why it cannot.
    std::optional<std::string> protect_listening_ports(const PlannedChange& change,
                                                       const std::string& target,
                                                       const std::string& live,
                                                       const ApplyContext& context);
    ChangeRecord make_record(const PlannedChange& change, std::string_view old_value,
                             std::string_view new_value, ChangeResult result,
                             std::string detail) const;

    SysctlStore& store_;
    const Clock& clock_;
    ApplierOptions options_;
    SafetyGate gate_;
    std::optional<Journal> journal_;
    std::optional<Error> journal_error_;
    // Overrides detected but not persisted (advice mode, or the journal write
    // failed): still never written to for the life of this process.
    std::set<std::string, std::less<>> session_overrides_;
    std::vector<ChangeRecord> side_records_;
};

}  // namespace tcptune
