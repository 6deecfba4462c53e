#include "tcptune/engine/controller.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/engine/signal_reading.hpp"
#include "tcptune/enum_names.hpp"

namespace tcptune {

std::string_view to_string(SysctlOwner owner) {
    static constexpr EnumNames<SysctlOwner, 4> kNames = {{
        {SysctlOwner::kTcptune, "tcptune"},
        {SysctlOwner::kAdministrator, "administrator"},
        {SysctlOwner::kUnmanaged, "unmanaged"},
        {SysctlOwner::kNotApplied, "not-applied"},
    }};
    static_assert(lists_every_value(kNames));
    return name_of(kNames, owner);
}

namespace {

// Every sysctl the profile may read or write: the ones it writes and the `of`
// keys percentage thresholds are computed from.
std::set<std::string> keys_of(const ResolvedProfile& profile) {
    const auto writable = profile.writable_keys();
    std::set<std::string> keys(writable.begin(), writable.end());
    for (const auto& rule : profile.rules) {
        if (!rule.when.of.empty()) {
            keys.insert(rule.when.of);
        }
    }
    return keys;
}

// Keys the profile may write (status lists these; `of` keys are only read).
std::set<std::string> writable_keys_of(const ResolvedProfile& profile) {
    std::set<std::string> keys;
    for (const auto& setting : profile.sysctls) {
        keys.insert(setting.key);
    }
    for (const auto& rule : profile.rules) {
        for (const auto& setting : rule.apply) {
            keys.insert(setting.key);
        }
    }
    return keys;
}

// Calls fn once for every setting the profile may write (baseline, then each
// rule's apply), each key once, in profile order.
template <typename Fn>
void for_each_written_setting(const ResolvedProfile& profile, Fn&& fn) {
    std::set<std::string> seen;
    auto visit = [&](const SysctlSetting& s) {
        if (seen.insert(s.key).second) {
            fn(s);
        }
    };
    for (const SysctlSetting& s : profile.sysctls) {
        visit(s);
    }
    for (const Rule& rule : profile.rules) {
        for (const SysctlSetting& s : rule.apply) {
            visit(s);
        }
    }
}

// Every key the profile sets that has no /proc/sys file here, with the reason
// from the registry: a host-wide key in a child network namespace, or a kernel
// without it.
ProfileDiagnostics keys_missing_here(const ResolvedProfile& profile, const SysctlStore& store) {
    ProfileDiagnostics out;
    for_each_written_setting(profile, [&](const SysctlSetting& s) {
        auto live = store.read(s.key);
        if (live || live.error().code != ErrorCode::kNotFound) {
            return;
        }
        const SysctlSpec* spec = find_sysctl(s.key);
        std::string why = s.key + " does not exist where tcptuned runs: ";
        if (spec != nullptr && spec->scope == SysctlScope::kGlobal) {
            why +=
                "it is a host-wide key that only the initial network namespace has, and "
                "tcptuned runs in another network namespace";
        } else if (spec != nullptr && !spec->since.empty()) {
            why += "this kernel does not have it (added in Linux " + std::string(spec->since) + ")";
        } else {
            why += "this kernel does not have it";
        }
        out.push_back(ProfileDiagnostic{s.where, why});
    });
    return out;
}

// For a controller of another network namespace: every host-wide key the profile
// sets, refused whether or not a file happens to exist (a namespace's own value is
// what tcptune manages there; a host-wide value is not any one namespace's).
ProfileDiagnostics global_keys_in(const ResolvedProfile& profile, const std::string& netns) {
    ProfileDiagnostics out;
    for_each_written_setting(profile, [&](const SysctlSetting& s) {
        const SysctlSpec* spec = find_sysctl(s.key);
        if (spec != nullptr && spec->scope == SysctlScope::kGlobal) {
            out.push_back(ProfileDiagnostic{
                s.where, s.key +
                             " is host-wide: it exists only in the initial network namespace, "
                             "so it is refused for namespace " +
                             netns});
        }
    });
    return out;
}

}  // namespace

struct Controller::Impl {
    Impl(CensusSource& census_source, SysctlStore& sysctl_store, const Clock& steady_clock,
         Applier& sysctl_applier, ControllerConfig initial_config)
        : census(census_source),
          store(sysctl_store),
          clock(steady_clock),
          applier(sysctl_applier),
          config(std::move(initial_config)) {}

    CensusSource& census;
    SysctlStore& store;
    const Clock& clock;
    Applier& applier;
    ControllerConfig config;

    ResolvedProfile profile;
    std::filesystem::path profile_file;
    bool started = false;
    EngineState engine;

    std::vector<ControllerObserver*> observers;
    std::optional<CensusSnapshot> last_snapshot;
    std::uint64_t polls = 0;
    std::uint64_t poll_errors = 0;
    std::optional<Error> last_poll_error;
    std::deque<ChangeRecord> recent;
    // Changes the gate refused for timing (key cooldown, rate limit). The rule
    // engine plans a change once, so the controller keeps the latest wanted
    // value per key and offers it again once the gate would allow it; a newer
    // plan for the key, an override or a profile switch replaces or drops it.
    std::map<std::string, PlannedChange> deferred;
    RateTracker rates;

    struct Resolved {
        ResolvedProfile profile;
        std::filesystem::path file;
    };

    Result<Resolved> resolve(const std::string& name_or_path, const ProfileDirs& dirs,
                             bool check_keys) const {
        auto resolved = resolve_profile(name_or_path, dirs);
        if (!resolved) {
            return tl::unexpected(to_error(resolved.error()));
        }
        if (!config.netns.empty()) {
            if (auto global = global_keys_in(*resolved, config.netns); !global.empty()) {
                return tl::unexpected(to_error(global));
            }
        }
        if (check_keys) {
            if (auto missing = keys_missing_here(*resolved, store); !missing.empty()) {
                return tl::unexpected(to_error(missing));
            }
        }
        Resolved out{std::move(*resolved), {}};
        if (!out.profile.sources.empty()) {
            out.file = out.profile.sources.front();
        }
        return out;
    }

    void remember(const ChangeRecord& record) {
        if (config.recent_changes_capacity == 0) {
            return;
        }
        while (recent.size() >= config.recent_changes_capacity) {
            recent.pop_front();
        }
        recent.push_back(record);
    }

    void publish(const std::vector<ChangeRecord>& records) {
        for (const auto& record : records) {
            remember(record);
        }
        for (const auto& record : records) {
            for (auto* observer : observers) {
                observer->on_change(record);
            }
        }
    }

    SysctlValues read_profile_values(const ResolvedProfile& p) const {
        SysctlValues values;
        for (const auto& key : keys_of(p)) {
            if (auto live = store.read(key)) {
                values.emplace(key, std::move(*live));
            }
            // An unreadable key is left out: the engine treats a missing `of`
            // sysctl as "cannot compute this poll", and the applier reports the
            // read failure when it tries to change the key.
        }
        return values;
    }

    SignalRequest request() const {
        SignalRequest r = signals_for(profile);
        r |= config.extra_signals;
        // A wider port range must not take a listener's port: the gate needs them.
        if (writable_keys_of(profile).contains("net.ipv4.ip_local_port_range")) {
            r.listeners = true;
        }
        return r;
    }

    // One poll's work after a successful census.
    std::vector<ChangeRecord> run_pipeline(const CensusSnapshot& snapshot) {
        std::vector<ChangeRecord> records = applier.check_overrides();
        const SysctlValues values = read_profile_values(profile);
        EngineOutput output =
            evaluate_rules(EngineInput{profile, snapshot, values, engine, clock.now()});
        Plan plan = with_deferred(std::move(output.plan));
        ApplyContext context;
        if (snapshot.pressure.listeners) {
            context.listening_ports = snapshot.pressure.listeners->ports;
        }
        std::vector<ChangeRecord> applied = applier.apply(plan, context);
        std::vector<ChangeRecord> side = applier.take_side_records();
        remember_deferred(plan, applied);
        std::vector<bool> written(applied.size());
        for (std::size_t i = 0; i < applied.size(); ++i) {
            written[i] = applied[i].result == ChangeResult::kApplied;
        }
        note_applied(output.state, plan, written);
        records.insert(records.end(), std::make_move_iterator(side.begin()),
                       std::make_move_iterator(side.end()));
        records.insert(records.end(), std::make_move_iterator(applied.begin()),
                       std::make_move_iterator(applied.end()));

        // Update our own state before anyone is told, so status() is consistent
        // inside observer callbacks.
        EngineState previous = std::exchange(engine, std::move(output.state));
        last_snapshot = snapshot;
        ++polls;
        last_poll_error.reset();

        for (auto* observer : observers) {
            observer->on_poll(snapshot);
        }
        notify_rule_transitions(previous);
        publish(records);
        return records;
    }

    Plan with_deferred(Plan plan) {
        for (const auto& change : plan) {
            deferred.erase(change.key);  // superseded by what the engine wants now
        }
        for (auto it = deferred.begin(); it != deferred.end();) {
            if (applier.is_overridden(it->first)) {
                it = deferred.erase(it);  // the administrator decides now
            } else if (applier.gate().check_timing(it->first)) {
                ++it;  // still waiting; retried silently, the refusal was reported once
            } else {
                plan.push_back(it->second);
                it = deferred.erase(it);
            }
        }
        return plan;
    }

    // A refusal after the live value was read (old_value set) is a timing
    // refusal: value, journal and override checks come before the read.
    void remember_deferred(const Plan& plan, std::vector<ChangeRecord>& records) {
        for (std::size_t i = 0; i < records.size() && i < plan.size(); ++i) {
            auto& record = records[i];
            if (record.result == ChangeResult::kRefused && !record.old_value.empty()) {
                if (!deferred.contains(record.key)) {
                    record.detail += "; will be applied when the gate allows it";
                }
                deferred[record.key] = plan[i];
            }
        }
    }

    void notify_rule_transitions(const EngineState& previous) {
        if (observers.empty()) {
            return;
        }
        const auto statuses = rule_statuses(profile, engine, clock.now());
        for (const auto& status : statuses) {
            bool was_active = false;
            if (previous.profile == engine.profile) {
                if (auto it = previous.rules.find(status.name); it != previous.rules.end()) {
                    was_active = it->second.active;
                }
            }
            if (was_active != status.active) {
                for (auto* observer : observers) {
                    observer->on_rule_changed(status);
                }
            }
        }
    }

    Result<std::vector<ChangeRecord>> poll() {
        const SignalRequest wanted = request();
        auto snapshot = census.poll_for(wanted);
        if (snapshot && wanted.rates) {
            snapshot->pressure.rates = rates.update(*snapshot);
        }
        if (!snapshot) {
            ++poll_errors;
            last_poll_error = snapshot.error();
            for (auto* observer : observers) {
                observer->on_poll_error(snapshot.error());
            }
            return tl::unexpected(snapshot.error());
        }
        return run_pipeline(*snapshot);
    }

    void adopt(Resolved resolved) {
        const bool renamed = resolved.profile.name != profile.name;
        profile = std::move(resolved.profile);
        profile_file = std::move(resolved.file);
        deferred.clear();
        if (renamed) {
            // The engine would discard a state for another profile anyway; doing it
            // here keeps status() honest between the switch and the next poll.
            engine = EngineState{};
        } else {
            // Same profile, edited (reload): re-plan its baseline so edited
            // values take effect; rule states (and their revert targets) stay.
            engine.baseline_planned = false;
        }
        for (auto* observer : observers) {
            observer->on_profile_changed(profile.name);
        }
    }

    // The desired value of each key under the current engine state: the
    // baseline, overridden by every active rule's `apply`.
    std::map<std::string, std::string> desired_values() const {
        std::map<std::string, std::string> desired;
        for (const auto& setting : profile.sysctls) {
            desired[setting.key] = setting.value;
        }
        for (const auto& rule : profile.rules) {
            auto it = engine.rules.find(rule.name);
            if (it == engine.rules.end() || !it->second.active || it->second.ineffective) {
                continue;
            }
            for (const auto& setting : rule.apply) {
                desired[setting.key] = setting.value;
            }
        }
        return desired;
    }
};

Controller::Controller(CensusSource& census, SysctlStore& store, const Clock& clock,
                       Applier& applier, ControllerConfig config)
    : impl_(std::make_unique<Impl>(census, store, clock, applier, std::move(config))) {
    impl_->applier.set_mode(impl_->config.mode);
}

Controller::~Controller() = default;

Result<void> Controller::start() {
    auto resolved = impl_->resolve(impl_->config.profile, impl_->config.profile_dirs,
                                   impl_->config.check_keys_exist);
    if (!resolved) {
        return tl::unexpected(resolved.error());
    }
    impl_->adopt(std::move(*resolved));
    impl_->started = true;
    return {};
}

void Controller::add_observer(ControllerObserver* observer) {
    if (observer != nullptr && std::find(impl_->observers.begin(), impl_->observers.end(),
                                         observer) == impl_->observers.end()) {
        impl_->observers.push_back(observer);
    }
}

void Controller::remove_observer(ControllerObserver* observer) {
    std::erase(impl_->observers, observer);
}

Result<void> Controller::poll_once() {
    if (!impl_->started) {
        return make_error(ErrorCode::kInternal, "Controller::poll_once called before start()");
    }
    TRY(impl_->poll());
    return {};
}

Result<std::vector<ChangeRecord>> Controller::set_profile(const std::string& name_or_path,
                                                          bool dry_run) {
    auto resolved =
        impl_->resolve(name_or_path, impl_->config.profile_dirs, impl_->config.check_keys_exist);
    if (!resolved) {
        return tl::unexpected(resolved.error());
    }
    if (dry_run) {
        // What activation would do right now: the new profile's first poll (its
        // baseline, plus any rule already satisfied for a single poll) against
        // the last census, run through the applier in advice mode.
        CensusSnapshot snapshot = impl_->last_snapshot.value_or(CensusSnapshot{});
        const SysctlValues values = impl_->read_profile_values(resolved->profile);
        EngineOutput output = evaluate_rules(
            EngineInput{resolved->profile, snapshot, values, EngineState{}, impl_->clock.now()});
        const ApplyMode mode = impl_->applier.mode();
        impl_->applier.set_mode(ApplyMode::kAdvise);
        ApplyContext context;
        if (snapshot.pressure.listeners) {
            context.listening_ports = snapshot.pressure.listeners->ports;
        }
        std::vector<ChangeRecord> records = impl_->applier.apply(output.plan, context);
        std::vector<ChangeRecord> side = impl_->applier.take_side_records();
        records.insert(records.begin(), side.begin(), side.end());
        impl_->applier.set_mode(mode);
        return records;
    }
    impl_->config.profile = name_or_path;
    impl_->adopt(std::move(*resolved));
    impl_->started = true;
    // Activate now rather than at the next tick, so the caller sees what happened.
    auto records = impl_->poll();
    if (!records) {
        return std::vector<ChangeRecord>{};  // switched; the census error went to observers
    }
    return std::move(*records);
}

Result<std::vector<ChangeRecord>> Controller::rollback(bool force) {
    std::vector<ChangeRecord> records;
    TRY_ASSIGN(records, impl_->applier.rollback(RollbackOptions{force}));
    impl_->publish(records);
    return records;
}

Result<void> Controller::reload(std::optional<ControllerConfig> new_config) {
    ControllerConfig next = new_config ? std::move(*new_config) : impl_->config;
    auto resolved = impl_->resolve(next.profile, next.profile_dirs, next.check_keys_exist);
    if (!resolved) {
        return tl::unexpected(resolved.error());
    }
    const bool content_changed = resolved->profile != impl_->profile;
    impl_->config = std::move(next);
    impl_->applier.set_mode(impl_->config.mode);
    while (impl_->config.recent_changes_capacity > 0 &&
           impl_->recent.size() > impl_->config.recent_changes_capacity) {
        impl_->recent.pop_front();
    }
    if (content_changed || !impl_->started) {
        impl_->adopt(std::move(*resolved));
    }
    impl_->started = true;
    return {};
}

Result<ChangeRecord> Controller::resume(const std::string& key) {
    ChangeRecord record;
    TRY_ASSIGN(record, impl_->applier.resume(key));
    impl_->publish({record});
    return record;
}

std::vector<ChangeRecord> Controller::stop() {
    auto records = impl_->applier.on_stop(impl_->config.stop_policy);
    if (!records) {
        ChangeRecord failure;
        failure.key = "*";
        failure.profile = impl_->profile.name;
        failure.result = ChangeResult::kFailed;
        failure.reason = "stop policy " + std::string(to_string(impl_->config.stop_policy));
        failure.detail = records.error().message;
        failure.at = impl_->clock.wall_now();
        impl_->publish({failure});
        return {failure};
    }
    impl_->publish(*records);
    return std::move(*records);
}

ControllerStatus Controller::status() const {
    const Impl& s = *impl_;
    ControllerStatus out;
    out.profile = s.profile.name;
    out.profile_file = s.profile_file;
    out.description = s.profile.description;
    out.mode = s.applier.mode();
    out.interval = interval();
    out.last_snapshot = s.last_snapshot;
    out.polls = s.polls;
    out.poll_errors = s.poll_errors;
    out.last_poll_error = s.last_poll_error;
    out.rules = rule_statuses(s.profile, s.engine, s.clock.now());
    out.journal_error = s.applier.journal_error();

    const auto desired = s.desired_values();
    const auto writable = s.profile.writable_keys();
    std::set<std::string> keys(writable.begin(), writable.end());
    const Journal* journal = s.applier.journal();
    if (journal != nullptr) {
        for (const auto& [key, entry] : journal->entries()) {
            keys.insert(key);
        }
    }
    for (const auto& key : keys) {
        SysctlView view;
        view.key = key;
        if (auto live = s.store.read(key)) {
            view.current = std::move(*live);
        }
        if (auto it = desired.find(key); it != desired.end()) {
            view.desired = it->second;
        }
        const JournalEntry* entry = journal != nullptr ? journal->find(key) : nullptr;
        if (entry != nullptr) {
            view.original = entry->original;
        }
        if (s.applier.is_overridden(key)) {
            view.owner = SysctlOwner::kAdministrator;
        } else if (entry != nullptr) {
            // Changed since tcptune's last write but not yet noticed by a poll:
            // already the administrator's value, unless it is the original
            // (tcptune's own write never took effect).
            if (view.current == entry->last_written) {
                view.owner = SysctlOwner::kTcptune;
            } else if (view.current == entry->original) {
                view.owner = SysctlOwner::kNotApplied;
            } else {
                view.owner = SysctlOwner::kAdministrator;
            }
        }
        out.sysctls.push_back(std::move(view));
    }
    return out;
}

const std::deque<ChangeRecord>& Controller::recent_changes() const {
    return impl_->recent;
}

const ResolvedProfile& Controller::profile() const {
    return impl_->profile;
}

std::chrono::milliseconds Controller::interval() const {
    if (impl_->config.interval_override) {
        return *impl_->config.interval_override;
    }
    return impl_->profile.interval;
}

SignalRequest Controller::signal_request() const {
    return impl_->request();
}

const ControllerConfig& Controller::config() const {
    return impl_->config;
}

}  // namespace tcptune
