#include "dbus_adaptor.hpp"

#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/diagnosis/diagnosis.hpp"
#include "tcptune/profile/profile_catalog.hpp"
#include "tcptune/profile/profile_resolver.hpp"
#include "tcptune/profile/profile_writer.hpp"
#include "tcptune/version.hpp"

namespace tcptune::daemon {

namespace {

// The engine keeps monotonic times; operators and clients want wall-clock times.
std::int64_t steady_to_unix_usec(std::chrono::steady_clock::time_point at) {
    const auto age = std::chrono::steady_clock::now() - at;
    return dbus::to_unix_usec(std::chrono::system_clock::now() -
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(age));
}

double to_seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

std::string mode_name(ApplyMode mode) {
    return mode == ApplyMode::kAdvise ? "advise" : "apply";
}

[[noreturn]] void throw_error(const Error& error) {
    throw sdbus::Error(dbus::error_name(error.code), error.message);
}

template <typename T>
T value_or_throw(Result<T> result) {
    if (!result) {
        throw_error(result.error());
    }
    if constexpr (!std::is_void_v<T>) {
        return std::move(*result);
    }
}

std::vector<ChangeStruct> to_wire_list(const std::vector<ChangeRecord>& records) {
    std::vector<ChangeStruct> out;
    out.reserve(records.size());
    for (const auto& record : records) {
        out.push_back(dbus::to_wire(record));
    }
    return out;
}

}  // namespace

Manager1Adaptor::Manager1Adaptor(sdbus::IConnection& connection, Controller& controller,
                                 AdaptorHooks hooks)
    : AdaptorInterfaces(connection, dbus::kObjectPath),
      controller_(controller),
      hooks_(std::move(hooks)) {
    published_profile_ = controller_.profile().name;
    published_mode_ = mode_name(controller_.config().mode);
    published_interval_ = to_seconds(controller_.interval());
    registerAdaptor();
}

Manager1Adaptor::~Manager1Adaptor() {
    unregisterAdaptor();
}

template <typename F>
auto Manager1Adaptor::guarded(const char* method, F&& body) -> decltype(body()) {
    try {
        if (!hooks_.fault_method.empty() && hooks_.fault_method == method) {
            throw std::runtime_error("injected fault (TCPTUNE_DBUS_FAULT)");
        }
        return body();
    } catch (const sdbus::Error& e) {
        if (e.getName() != dbus::error::kAccessDenied) {
            spdlog::debug("D-Bus {}: {}: {}", method, e.getName(), e.getMessage());
        }
        throw;
    } catch (const std::exception& e) {
        spdlog::error("D-Bus {}: internal error: {}", method, e.what());
        throw sdbus::Error(dbus::error::kInternal,
                           std::string(method) + ": internal error: " + e.what());
    } catch (...) {
        spdlog::error("D-Bus {}: internal error (unknown exception)", method);
        throw sdbus::Error(dbus::error::kInternal, std::string(method) + ": internal error");
    }
}

uid_t Manager1Adaptor::caller_uid(const char* method, const sdbus::Message& message) {
    try {
        // On a dbus-daemon bus the uid comes from the bus driver
        // (GetConnectionCredentials), which learnt it from SO_PEERCRED: the
        // caller cannot forge it.
        return message.getCredsUid();
    } catch (const sdbus::Error& e) {
        spdlog::warn("D-Bus {}: denied, caller credentials unavailable: {}", method,
                     e.getMessage());
        throw sdbus::Error(dbus::error::kAccessDenied,
                           std::string("cannot determine the caller's uid: ") + e.getMessage());
    }
}

void Manager1Adaptor::require_privileged(const char* method) {
    const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
    if (message == nullptr) {
        throw sdbus::Error(dbus::error::kAccessDenied, "cannot identify the caller");
    }
    const uid_t uid = caller_uid(method, *message);
    if (uid != hooks_.privileged_uid) {
        spdlog::warn("D-Bus {}: denied for uid {} (sender {})", method, uid, message->getSender());
        throw sdbus::Error(
            dbus::error::kAccessDenied,
            std::string(method) + " requires root (caller uid " + std::to_string(uid) + ")");
    }
}

namespace {

// Sending a reply fails only when the connection is broken; the service
// notices that on its own, so here it is only logged (never thrown into sd-bus).
template <typename Send>
void send_reply(const char* method, Send&& send) {
    try {
        send();
    } catch (const std::exception& e) {
        spdlog::warn("D-Bus {}: cannot send the reply: {}", method, e.what());
    }
}

template <typename... Results>
void send_error(const char* method, const sdbus::Result<Results...>& result,
                const sdbus::Error& error) {
    send_reply(method, [&] { result.returnError(error); });
}

// The AccessDenied text for a caller polkit did not let through.
std::string denial_message(const char* method, uid_t uid, const PolkitAnswer& answer) {
    const std::string who = "caller uid " + std::to_string(uid);
    switch (answer.verdict) {
        case PolkitAnswer::Verdict::kUnavailable:
            return std::string(method) + " requires root (" + who +
                   "): no polkit on the bus to grant " + kPolkitManageAction;
        case PolkitAnswer::Verdict::kNotAuthorized:
            return std::string(method) + " requires root or the polkit action " +
                   kPolkitManageAction + " (" + who + "): " + answer.detail;
        case PolkitAnswer::Verdict::kAuthorized:
        case PolkitAnswer::Verdict::kFailed:
            break;
    }
    return std::string(method) + " requires root or the polkit action " + kPolkitManageAction +
           " (" + who + "), and polkit could not be asked: " + answer.detail;
}

}  // namespace

template <typename... Results, typename F>
void Manager1Adaptor::answer(const char* method, const sdbus::Result<Results...>& result, F& body) {
    using Value = decltype(body());
    if constexpr (std::is_void_v<Value>) {
        try {
            guarded(method, body);
        } catch (const sdbus::Error& e) {
            send_error(method, result, e);
            return;
        }
        send_reply(method, [&] { result.returnResults(); });
    } else {
        std::optional<Value> value;
        try {
            value.emplace(guarded(method, body));
        } catch (const sdbus::Error& e) {
            send_error(method, result, e);
            return;
        }
        send_reply(method, [&] { result.returnResults(*value); });
    }
}

template <typename... Results, typename F>
void Manager1Adaptor::authorized(const char* method, sdbus::Result<Results...>&& result, F body) {
    const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
    if (message == nullptr) {
        send_error(method, result,
                   sdbus::Error(dbus::error::kAccessDenied, "cannot identify the caller"));
        return;
    }
    uid_t uid = 0;
    try {
        uid = caller_uid(method, *message);
    } catch (const sdbus::Error& e) {
        send_error(method, result, e);
        return;
    }
    if (uid == hooks_.privileged_uid) {
        answer(method, result, body);
        return;
    }
    const std::string sender = message->getSender();
    const auto deny = [method, uid, sender](const sdbus::Result<Results...>& pending,
                                            const PolkitAnswer& verdict) {
        spdlog::warn("D-Bus {}: denied for uid {} (sender {}): {}", method, uid, sender,
                     verdict.detail);
        send_error(method, pending,
                   sdbus::Error(dbus::error::kAccessDenied, denial_message(method, uid, verdict)));
    };
    if (!hooks_.authority) {
        deny(result, {PolkitAnswer::Verdict::kUnavailable, "no polkit on this bus"});
        return;
    }
    // std::function needs a copyable callable: the reply handle is shared.
    auto pending = std::make_shared<sdbus::Result<Results...>>(std::move(result));
    const bool asked = hooks_.authority->check(
        sender, kPolkitManageAction,
        [this, method, uid, pending, deny, body](const PolkitAnswer& verdict) mutable {
            if (verdict.verdict != PolkitAnswer::Verdict::kAuthorized) {
                deny(*pending, verdict);
                return;
            }
            spdlog::info("D-Bus {}: uid {} authorized by polkit ({})", method, uid,
                         kPolkitManageAction);
            answer(method, *pending, body);
        });
    if (!asked) {
        spdlog::warn(
            "D-Bus {}: denied for uid {} (sender {}): too many authorization checks "
            "in flight",
            method, uid, sender);
        send_error(method, *pending,
                   sdbus::Error("org.freedesktop.DBus.Error.LimitsExceeded",
                                std::string(method) +
                                    ": too many authorization checks in flight; try again"));
    }
}

void Manager1Adaptor::publish_property_changes() {
    std::vector<std::string> changed;
    const std::string profile = controller_.profile().name;
    if (profile != published_profile_) {
        published_profile_ = profile;
        changed.emplace_back("ActiveProfile");
    }
    const std::string mode = mode_name(controller_.config().mode);
    if (mode != published_mode_) {
        published_mode_ = mode;
        changed.emplace_back("Mode");
    }
    const double interval = to_seconds(controller_.interval());
    if (interval != published_interval_) {
        published_interval_ = interval;
        changed.emplace_back("Interval");
    }
    if (!changed.empty()) {
        getObject().emitPropertiesChangedSignal(dbus::kInterfaceName, changed);
    }
}

std::tuple<std::string, std::string, std::string, std::string, double, std::uint64_t, std::uint64_t,
           std::string, std::string, std::string>
Manager1Adaptor::GetStatus() {
    return guarded("GetStatus", [&] {
        const ControllerStatus s = controller_.status();
        return std::make_tuple(s.profile, s.profile_file.string(), s.description, mode_name(s.mode),
                               to_seconds(s.interval), s.polls, s.poll_errors,
                               s.last_poll_error ? s.last_poll_error->message : std::string(),
                               s.journal_error ? s.journal_error->message : std::string(),
                               std::string(kVersion));
    });
}

std::tuple<bool, std::map<std::string, std::uint64_t>, std::map<std::string, std::uint64_t>, double,
           double>
Manager1Adaptor::GetCounts() {
    return guarded("GetCounts", [&] {
        const ControllerStatus s = controller_.status();
        std::map<std::string, std::uint64_t> states;
        std::map<std::string, std::uint64_t> netstat;
        double duration = 0;
        double age = 0;
        const CensusSnapshot empty{};
        const CensusSnapshot& snap = s.last_snapshot ? *s.last_snapshot : empty;
        for (TcpState state : kAllTcpStates) {
            states.emplace(std::string(state_name(state)), snap.counts[state]);
        }
        for (NetstatCounter counter : kAllNetstatCounters) {
            netstat.emplace(std::string(counter_name(counter)),
                            counter_value(snap.netstat, counter));
        }
        if (s.last_snapshot) {
            duration = to_seconds(snap.duration);
            age = to_seconds(std::chrono::steady_clock::now() - snap.taken_at);
        }
        return std::make_tuple(s.last_snapshot.has_value(), std::move(states), std::move(netstat),
                               duration, age);
    });
}

std::vector<
    sdbus::Struct<std::string, std::string, std::string, std::string, bool, bool, std::string>>
Manager1Adaptor::ListProfiles() {
    return guarded("ListProfiles", [&] {
        const ProfileCatalog catalog = ProfileCatalog::scan(controller_.config().profile_dirs);
        std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, bool, bool,
                                  std::string>>
            out;
        for (const CatalogEntry& entry : catalog.entries()) {
            std::string problems;
            for (const auto& problem : entry.problems) {
                if (!problems.empty()) {
                    problems += '\n';
                }
                problems += problem.to_string();
            }
            out.emplace_back(entry.name, entry.description, entry.file.string(), entry.extends,
                             entry.valid(), entry.shadowed, std::move(problems));
        }
        return out;
    });
}

std::tuple<std::string, std::string> Manager1Adaptor::ShowProfile(const std::string& name) {
    return guarded("ShowProfile", [&] {
        if (name.empty()) {
            const ResolvedProfile& active = controller_.profile();
            return std::make_tuple(profile_to_yaml(active), profile_to_json(active).dump());
        }
        // Anyone may call ShowProfile, and the daemon runs as root: resolving an
        // arbitrary path would let any user read (the parse errors of) any file.
        if (looks_like_profile_path(name)) {
            throw sdbus::Error(dbus::error::kInvalidArgs,
                               "ShowProfile takes a profile name, not a path; use `tcptune "
                               "profile show FILE` to read a file yourself");
        }
        const ProfileDirs& dirs = controller_.config().profile_dirs;
        if (!find_profile(name, dirs)) {
            throw sdbus::Error(dbus::error::kNotFound, "no profile named '" + name + "'");
        }
        auto resolved = resolve_profile(name, dirs);
        if (!resolved) {
            throw_error(to_error(resolved.error()));
        }
        return std::make_tuple(profile_to_yaml(*resolved), profile_to_json(*resolved).dump());
    });
}

std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string>>
Manager1Adaptor::GetSysctls() {
    return guarded("GetSysctls", [&] {
        std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string>>
            out;
        for (const SysctlView& view : controller_.status().sysctls) {
            out.emplace_back(view.key, view.current, view.original.value_or(""),
                             view.desired.value_or(""), std::string(to_string(view.owner)));
        }
        return out;
    });
}

std::vector<sdbus::Struct<std::string, std::string, std::string, bool, std::int64_t, bool, double,
                          std::uint64_t>>
Manager1Adaptor::GetRules() {
    return guarded("GetRules", [&] {
        std::vector<sdbus::Struct<std::string, std::string, std::string, bool, std::int64_t, bool,
                                  double, std::uint64_t>>
            out;
        for (const RuleStatus& rule : controller_.status().rules) {
            const std::int64_t since =
                rule.active && rule.since ? steady_to_unix_usec(*rule.since) : 0;
            out.emplace_back(rule.name, rule.metric, rule.threshold, rule.active, since,
                             rule.last_observed.has_value(), rule.last_observed.value_or(0.0),
                             rule.trigger_count);
        }
        return out;
    });
}

std::vector<ChangeStruct> Manager1Adaptor::GetRecentChanges(const std::uint32_t& limit) {
    return guarded("GetRecentChanges", [&] {
        const auto& recent = controller_.recent_changes();
        std::size_t skip = 0;
        if (limit != 0 && recent.size() > limit) {
            skip = recent.size() - limit;
        }
        std::vector<ChangeStruct> out;
        for (std::size_t i = skip; i < recent.size(); ++i) {
            out.push_back(dbus::to_wire(recent[i]));
        }
        return out;
    });
}

std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>> Manager1Adaptor::GetTop(
    const std::string& state, const std::string& by, const std::uint32_t& limit) {
    using Row = sdbus::Struct<std::string, std::uint64_t, std::string>;
    return guarded("GetTop", [&] {
        const std::string state_text = state.empty() ? "time_wait" : state;
        const auto parsed = parse_state(state_text);
        if (!parsed) {
            throw sdbus::Error(dbus::error::kInvalidArgs, "unknown TCP state '" + state_text + "'");
        }
        const auto view = by.empty() ? Result<TopView>(TopView::kPort) : parse_top_view(by);
        if (!view) {
            throw sdbus::Error(dbus::error::kInvalidArgs, view.error().message);
        }
        // Naming processes reads every process's fd table: what `ss -p` shows only
        // to root, the daemon (root) shows only to root.
        if (*view == TopView::kProcess) {
            require_privileged("GetTop by process");
        }
        const BreakdownOptions options = top_view_options(*parsed, *view, limit);
        // One extra sock_diag dump on the loop thread (milliseconds for thousands
        // of sockets); the daemon's own census is left untouched.
        const auto breakdown = value_or_throw(take_breakdown(options));
        const StateBreakdown* per_state = breakdown.find(*parsed);
        std::vector<Row> out;
        if (per_state == nullptr) {
            return out;
        }
        for (const TopRow& row : value_or_throw(top_rows(*per_state, *view))) {
            out.emplace_back(row.key, row.count, row.detail);
        }
        return out;
    });
}

void Manager1Adaptor::SetProfile(sdbus::Result<Changes>&& result, std::string name, bool dry_run) {
    authorized("SetProfile", std::move(result), [this, name = std::move(name), dry_run] {
        auto records = value_or_throw(controller_.set_profile(name, dry_run));
        publish_property_changes();
        return to_wire_list(records);
    });
}

void Manager1Adaptor::Rollback(sdbus::Result<Changes>&& result, bool force) {
    authorized("Rollback", std::move(result),
               [this, force] { return to_wire_list(value_or_throw(controller_.rollback(force))); });
}

void Manager1Adaptor::Reload(sdbus::Result<>&& result) {
    authorized("Reload", std::move(result), [this] {
        value_or_throw(hooks_.reload ? hooks_.reload() : controller_.reload());
        publish_property_changes();
    });
}

void Manager1Adaptor::Resume(sdbus::Result<ChangeStruct>&& result, std::string key) {
    authorized("Resume", std::move(result), [this, key = std::move(key)] {
        return dbus::to_wire(value_or_throw(controller_.resume(key)));
    });
}

std::string Manager1Adaptor::ActiveProfile() {
    return guarded("ActiveProfile", [&] { return controller_.profile().name; });
}

std::string Manager1Adaptor::Mode() {
    return guarded("Mode", [&] { return mode_name(controller_.config().mode); });
}

double Manager1Adaptor::Interval() {
    return guarded("Interval", [&] { return to_seconds(controller_.interval()); });
}

std::string Manager1Adaptor::CensusEngine() {
    return guarded("CensusEngine", [&] {
        const auto status = controller_.status();
        return status.last_snapshot ? std::string(to_string(status.last_snapshot->engine.engine))
                                    : std::string();
    });
}

std::string Manager1Adaptor::CensusEngineNote() {
    return guarded("CensusEngineNote", [&] {
        const auto status = controller_.status();
        return status.last_snapshot ? status.last_snapshot->engine.fallback_reason : std::string();
    });
}

std::string Manager1Adaptor::Version() {
    return guarded("Version", [&] { return std::string(kVersion); });
}

}  // namespace tcptune::daemon
