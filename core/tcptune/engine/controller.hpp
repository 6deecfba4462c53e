#pragma once

// The controller is the daemon's brain without its adapters: one poll runs
// census -> override check -> rule engine -> gate/applier, and every outcome is
// pushed to observers (D-Bus signals, metrics, logs). It lives in core so it can
// be driven by tests with a fake census, a temp-dir sysctl store and a fake
// clock; it never touches D-Bus, HTTP or log sinks itself.
//
// Threading: single-threaded. The daemon calls it only from its event loop;
// observers run synchronously inside those calls and must not call back into
// mutating methods.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcptune/apply/applier.hpp"
#include "tcptune/apply/change_record.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/engine/rule_engine.hpp"
#include "tcptune/pressure/counter_rates.hpp"
#include "tcptune/pressure/pressure_signals.hpp"
#include "tcptune/profile/profile_resolver.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

struct ControllerConfig {
    std::string profile = "default";  // name (looked up in profile_dirs) or path
    ProfileDirs profile_dirs;         // search order; first match wins
    // --interval: overrides the profile's interval when set.
    std::optional<std::chrono::milliseconds> interval_override;
    ApplyMode mode = ApplyMode::kEnforce;  // kAdvise: plan and report, never write
    StopPolicy stop_policy = StopPolicy::kKeep;
    std::size_t recent_changes_capacity = 256;  // ring of ChangeRecords kept for status
    // Signals computed on every poll whatever the profile needs (the metrics'
    // top listeners and destinations); the profile's rules add theirs.
    SignalRequest extra_signals;
    // Refuse a profile that sets a key this system has no /proc/sys file for (a
    // host-wide key in a container's namespace, a kernel without it), at load.
    bool check_keys_exist = false;
    // Set for the controller of another (non-initial) network namespace, to its
    // name: a profile that sets a host-wide key (registry scope "global") is
    // refused at load, with file:line:col.
    std::string netns;
};

// Who decides a key's value right now.
enum class SysctlOwner {
    kTcptune,        // tcptune wrote it and the live value is still what it wrote
    kAdministrator,  // someone else changed it; tcptune will not touch it until resumed
    kUnmanaged,      // tcptune has never written it
    // Journaled but not in effect: the live value is still the recorded
    // original (a crash between journaling and writing, or a rollback that
    // could not update the journal). Not an override.
    kNotApplied,
};
// "tcptune" | "administrator" | "unmanaged" | "not-applied"
std::string_view to_string(SysctlOwner owner);

// One sysctl as status shows it. Covers every key the active profile may set
// (baseline and rule `apply`) plus every key in the journal.
struct SysctlView {
    std::string key;
    std::string current;                  // live value ("" if unreadable)
    std::optional<std::string> original;  // from the journal, when tcptune changed it
    std::optional<std::string> desired;   // what the profile currently wants, if anything
    SysctlOwner owner = SysctlOwner::kUnmanaged;
};

struct ControllerStatus {
    std::string profile;  // resolved profile name
    std::filesystem::path profile_file;
    std::string description;
    ApplyMode mode = ApplyMode::kEnforce;
    std::chrono::milliseconds interval{0};
    std::optional<CensusSnapshot> last_snapshot;  // nullopt before the first successful poll
    std::uint64_t polls = 0;                      // successful polls
    std::uint64_t poll_errors = 0;
    std::optional<Error> last_poll_error;  // cleared by the next successful poll
    std::vector<RuleStatus> rules;
    std::vector<SysctlView> sysctls;
    std::optional<Error> journal_error;  // set: writes are refused until recovered
};

// Adapters implement the parts they care about. Calls happen on the loop thread,
// after the controller's own state is updated, so status() is consistent.
class ControllerObserver {
  public:
    virtual ~ControllerObserver() = default;
    virtual void on_poll(const CensusSnapshot& /*snapshot*/) {}
    virtual void on_poll_error(const Error& /*error*/) {}
    // A rule became active or cleared (status.active says which).
    virtual void on_rule_changed(const RuleStatus& /*status*/) {}
    // Every ChangeRecord the applier produces: applied, failed, refused, advised,
    // overridden (an administrator changed a managed key), restored, resumed...
    virtual void on_change(const ChangeRecord& /*record*/) {}
    virtual void on_profile_changed(const std::string& /*profile*/) {}
};

class Controller {
  public:
    Controller(CensusSource& census, SysctlStore& store, const Clock& clock, Applier& applier,
               ControllerConfig config);

    // Resolves the configured profile. Call once before poll_once(); an invalid
    // profile is an error (kInvalidProfile with file:line:col lines).
    Result<void> start();

    void add_observer(ControllerObserver* observer);
    void remove_observer(ControllerObserver* observer);

    // One tick: census, override check, rule engine, gate + applier, notifications.
    // A failed census is counted, reported to observers and returned; the next
    // tick tries again.
    Result<void> poll_once();

    // Switches to another profile (name or path). dry_run: resolve and return the
    // records the switch would produce (advised), change nothing. Invalid profile:
    // error, the current one stays active.
    Result<std::vector<ChangeRecord>> set_profile(const std::string& name_or_path, bool dry_run);

    // Restores originals from the journal (see Applier::rollback).
    Result<std::vector<ChangeRecord>> rollback(bool force);

    // Re-resolves the active profile from disk (and applies a new config, if
    // given). On any error the old profile and config stay in force.
    Result<void> reload(std::optional<ControllerConfig> new_config = std::nullopt);

    // Clears the administrator-override mark of a key.
    Result<ChangeRecord> resume(const std::string& key);

    // Applies the configured stop policy (keep | restore). Called once on shutdown.
    std::vector<ChangeRecord> stop();

    // What the next poll computes besides the state counts.
    SignalRequest signal_request() const;

    ControllerStatus status() const;
    const std::deque<ChangeRecord>& recent_changes() const;
    const ResolvedProfile& profile() const;
    std::chrono::milliseconds interval() const;  // effective poll interval
    const ControllerConfig& config() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;

  public:
    ~Controller();
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;
};

}  // namespace tcptune
