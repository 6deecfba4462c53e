#include "dbus_adaptor.hpp"

#include "tcptune/config/namespace_config.hpp"

#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "dbus_arguments.hpp"
#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/diagnosis/diagnosis.hpp"
#include "tcptune/engine/namespace_status.hpp"
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

constexpr std::string_view kNotWatchingAll =
    "tcptuned manages only its own network namespace (namespaces.watch: host); set "
    "namespaces.watch: all in tcptune.yaml for per-namespace profiles";

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

// A listing served from memory this long; an operator's edit shows within it.
constexpr std::chrono::seconds kProfileListingMaxAge{1};
// The problems of one profile in a ListProfiles row (already capped per file).
constexpr std::size_t kMaxProblemsBytes = 8 * 1024;

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
            if (auto suppressed = spdlog::should_log(spdlog::level::debug)
                                      ? caller_log_.admit(caller() + " invalid")
                                      : std::nullopt) {
                spdlog::debug("D-Bus {}: {}: {}{}", method, e.getName(), e.getMessage(),
                              suppressed_note(*suppressed));
            }
        }
        throw;
    } catch (const std::exception& e) {
        if (auto suppressed = caller_log_.admit(caller() + " internal")) {
            spdlog::error("D-Bus {}: internal error: {}{}", method, e.what(),
                          suppressed_note(*suppressed));
        }
        throw sdbus::Error(dbus::error::kInternal,
                           std::string(method) + ": internal error: " + e.what());
    } catch (...) {
        if (auto suppressed = caller_log_.admit(caller() + " internal")) {
            spdlog::error("D-Bus {}: internal error (unknown exception){}", method,
                          suppressed_note(*suppressed));
        }
        throw sdbus::Error(dbus::error::kInternal, std::string(method) + ": internal error");
    }
}

std::string Manager1Adaptor::caller() {
    const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
    if (message == nullptr) {
        return {};
    }
    try {
        return message->getSender();
    } catch (const std::exception&) {
        return {};
    }
}

bool Manager1Adaptor::caller_is_privileged() {
    const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
    if (message == nullptr) {
        return false;
    }
    try {
        return message->getCredsUid() == hooks_.privileged_uid;
    } catch (const sdbus::Error&) {
        return false;
    }
}

uid_t Manager1Adaptor::caller_uid(const char* method, const sdbus::Message& message) {
    try {
        // On a dbus-daemon bus the uid comes from the bus driver
        // (GetConnectionCredentials), which learnt it from SO_PEERCRED: the
        // caller cannot forge it.
        return message.getCredsUid();
    } catch (const sdbus::Error& e) {
        if (auto suppressed = caller_log_.admit(caller() + " denied")) {
            spdlog::warn("D-Bus {}: denied, caller credentials unavailable: {}{}", method,
                         e.getMessage(), suppressed_note(*suppressed));
        }
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
        if (auto suppressed = caller_log_.admit(caller() + " denied")) {
            spdlog::warn("D-Bus {}: denied for uid {} (sender {}){}", method, uid,
                         message->getSender(), suppressed_note(*suppressed));
        }
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
    const auto deny = [this, method, uid, sender](const sdbus::Result<Results...>& pending,
                                                  const PolkitAnswer& verdict) {
        if (auto suppressed = caller_log_.admit(sender + " denied")) {
            spdlog::warn("D-Bus {}: denied for uid {} (sender {}): {}{}", method, uid, sender,
                         verdict.detail, suppressed_note(*suppressed));
        }
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
        if (auto suppressed = caller_log_.admit(sender + " denied")) {
            spdlog::warn(
                "D-Bus {}: denied for uid {} (sender {}): too many authorization checks "
                "in flight{}",
                method, uid, sender, suppressed_note(*suppressed));
        }
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
        std::string journal_error = s.journal_error ? s.journal_error->message : std::string();
        // The journal's error names the state directory and its contents' fate:
        // root's business. Others learn that writes are refused, not where.
        if (!journal_error.empty() && !caller_is_privileged()) {
            journal_error =
                "the journal cannot be used, so tcptune writes no sysctl until an administrator "
                "recovers it (details: tcptune status, as root)";
        }
        return std::make_tuple(s.profile, s.profile_file.string(), s.description, mode_name(s.mode),
                               to_seconds(s.interval), s.polls, s.poll_errors,
                               s.last_poll_error ? s.last_poll_error->message : std::string(),
                               journal_error, std::string(kVersion));
    });
}

std::vector<sdbus::Struct<std::string, std::uint64_t, bool, std::uint32_t, std::string,
                          std::map<std::string, std::uint64_t>>>
Manager1Adaptor::ListNamespaces() {
    return guarded("ListNamespaces", [&] {
        using Row = sdbus::Struct<std::string, std::uint64_t, bool, std::uint32_t, std::string,
                                  std::map<std::string, std::uint64_t>>;
        auto states_of = [](const StateCounts& counts) {
            std::map<std::string, std::uint64_t> states;
            for (TcpState state : kAllTcpStates) {
                states.emplace(std::string(state_name(state)), counts[state]);
            }
            return states;
        };
        const ControllerStatus s = controller_.status();
        const auto own = netns_id_of("/proc/thread-self/ns/net");
        std::vector<Row> rows;
        rows.emplace_back(std::string(kOwnNetnsName), own ? own->inode : 0, true,
                          static_cast<std::uint32_t>(::getpid()), s.profile,
                          states_of(s.last_snapshot ? s.last_snapshot->counts : StateCounts{}));
        if (hooks_.namespaces) {
            // The profile in force: a managed namespace's, else none (watched only,
            // or refused: GetNamespaceStatus says why).
            for (const auto& n : hooks_.namespaces()) {
                const ManagedNamespace* managed =
                    hooks_.fleet != nullptr ? hooks_.fleet->find(std::to_string(n.ns.id.inode))
                                            : nullptr;
                rows.emplace_back(n.ns.name, n.ns.id.inode, false,
                                  n.ns.pid ? static_cast<std::uint32_t>(*n.ns.pid) : 0U,
                                  managed != nullptr ? managed->controller().profile().name
                                                     : std::string(kNoProfile),
                                  states_of(n.counts));
            }
        }
        return rows;
    });
}

std::vector<sdbus::Struct<std::uint64_t, std::string, std::string, std::string>>
Manager1Adaptor::ListRefusedNamespaces() {
    return guarded("ListRefusedNamespaces", [&] {
        std::vector<sdbus::Struct<std::uint64_t, std::string, std::string, std::string>> rows;
        if (hooks_.fleet != nullptr) {
            for (const auto& [inode, refused] : hooks_.fleet->refused()) {
                const std::string& why = refused.error.message;
                rows.emplace_back(inode, refused.ns.name, refused.profile,
                                  why.substr(0, why.find('\n')));
            }
        }
        return rows;
    });
}

std::string Manager1Adaptor::GetNamespaceStatus(const std::string& netns) {
    return guarded("GetNamespaceStatus", [&] {
        if (hooks_.fleet == nullptr) {
            throw_error(Error{ErrorCode::kNotFound, std::string(kNotWatchingAll)});
        }
        const std::vector<NamespaceCounts> latest =
            hooks_.namespaces ? hooks_.namespaces() : std::vector<NamespaceCounts>{};
        return value_or_throw(namespace_status_json(*hooks_.fleet, netns, latest)).dump();
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
        const auto now = std::chrono::steady_clock::now();
        if (profile_listing_valid_ && now - profile_listing_at_ < kProfileListingMaxAge) {
            return profile_listing_;
        }
        const ProfileCatalog catalog =
            ProfileCatalog::scan(controller_.config().profile_dirs, profile_cache_.loader());
        if (catalog.omitted() > 0) {
            if (auto suppressed = caller_log_.admit("ListProfiles omitted")) {
                spdlog::warn(
                    "ListProfiles: {} profile files not listed (at most {} per directory){}",
                    catalog.omitted(), CatalogLimits{}.max_files_per_dir,
                    suppressed_note(*suppressed));
            }
        }
        ProfileRows out;
        for (const CatalogEntry& entry : catalog.entries()) {
            std::string problems;
            for (const auto& problem : entry.problems) {
                if (!problems.empty()) {
                    problems += '\n';
                }
                problems += problem.to_string();
                if (problems.size() > kMaxProblemsBytes) {
                    problems.resize(kMaxProblemsBytes);
                    problems += "...";
                    break;
                }
            }
            out.emplace_back(entry.name, entry.description, entry.file.string(), entry.extends,
                             entry.valid(), entry.shadowed, std::move(problems));
        }
        profile_listing_ = std::move(out);
        profile_listing_at_ = std::chrono::steady_clock::now();
        profile_listing_valid_ = true;
        return profile_listing_;
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
        if (auto checked = check_profile_name(name); !checked) {
            throw sdbus::Error(dbus::error::kInvalidArgs, "ShowProfile " + checked.error().message);
        }
        const ProfileDirs& dirs = controller_.config().profile_dirs;
        if (!find_profile(name, dirs)) {
            throw sdbus::Error(dbus::error::kNotFound, "no profile named " + quoted_argument(name));
        }
        auto resolved = resolve_profile(name, dirs, profile_cache_.loader());
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

std::vector<sdbus::Struct<std::string, std::string, std::string, std::string>>
Manager1Adaptor::GetRuleSignals() {
    return guarded("GetRuleSignals", [&] {
        std::vector<sdbus::Struct<std::string, std::string, std::string, std::string>> out;
        for (const RuleStatus& rule : controller_.status().rules) {
            out.emplace_back(rule.name, rule.subject, rule.reading, rule.verdict);
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

void Manager1Adaptor::GetTop(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
    std::string state, std::string by, std::uint32_t limit) {
    serve_top("GetTop", std::move(result), std::nullopt, state, by, limit);
}

void Manager1Adaptor::GetNamespaceTop(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
    std::string netns, std::string state, std::string by, std::uint32_t limit) {
    serve_top("GetNamespaceTop", std::move(result), std::move(netns), state, by, limit);
}

void Manager1Adaptor::serve_top(
    const char* method,
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
    std::optional<std::string> netns, const std::string& state, const std::string& by,
    std::uint32_t limit) {
    using Row = sdbus::Struct<std::string, std::uint64_t, std::string>;
    const bool own = !netns;
    guarded(method, [&] {
        if (netns) {
            if (auto checked = check_netns_argument(*netns); !checked) {
                throw sdbus::Error(dbus::error::kInvalidArgs, checked.error().message);
            }
        }
        const auto arguments = parse_top_arguments(state, by, limit);
        if (!arguments) {
            throw sdbus::Error(dbus::error::kInvalidArgs, arguments.error().message);
        }
        // Naming processes reads every process's fd table: what `ss -p` shows only
        // to root, the daemon (root) shows only to root.
        const bool by_process = arguments->by_process;
        if (by_process) {
            require_privileged(own ? "GetTop by process" : "GetNamespaceTop by process");
        }
        if (hooks_.top == nullptr) {
            throw sdbus::Error(dbus::error::kFailed,
                               std::string(method) + " is not served by this daemon");
        }
        const std::size_t rows_wanted = arguments->rows;
        const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
        const std::string sender = message != nullptr ? message->getSender() : std::string();
        // The answer may come later, from the loop's wake-up for the worker.
        auto pending = std::make_shared<std::decay_t<decltype(result)>>(std::move(result));
        auto reply = [pending, state = arguments->state, view = arguments->view, rows_wanted,
                      flush = hooks_.after_deferred_reply](const Result<TopService::Shared>& got) {
            try {
                if (!got) {
                    pending->returnError(
                        sdbus::Error(dbus::error_name(got.error().code), got.error().message));
                } else {
                    std::vector<Row> out;
                    auto rows = top_rows(**got, state, view, rows_wanted);
                    if (!rows) {
                        throw sdbus::Error(dbus::error_name(rows.error().code),
                                           rows.error().message);
                    }
                    for (const TopRow& row : *rows) {
                        out.emplace_back(row.key, row.count, row.detail);
                    }
                    pending->returnResults(out);
                }
            } catch (const sdbus::Error& e) {
                try {
                    pending->returnError(e);
                } catch (const std::exception&) {
                    // The caller or the bus is gone; nothing left to tell.
                }
            } catch (const std::exception&) {
                // Reply could not be built or sent; the caller times out.
            }
            if (flush) {
                flush();
            }
        };
        if (auto accepted = hooks_.top->request(TopKey{netns.value_or(""), by_process}, sender,
                                                std::move(reply));
            !accepted) {
            throw sdbus::Error(dbus::error::kLimitsExceeded, accepted.error().message);
        }
    });
}

void Manager1Adaptor::SetProfile(sdbus::Result<Changes>&& result, std::string name, bool dry_run) {
    authorized("SetProfile", std::move(result), [this, name = std::move(name), dry_run] {
        // A profile that does not exist is NotFound (CLI exit 1), as for
        // ShowProfile and `tcptune profile show`; one that does not load is
        // InvalidProfile (exit 6).
        if (!find_profile(name, controller_.config().profile_dirs)) {
            throw sdbus::Error(
                dbus::error::kNotFound,
                to_error(resolve_profile(name, controller_.config().profile_dirs).error()).message);
        }
        auto records = value_or_throw(controller_.set_profile(name, dry_run));
        publish_property_changes();
        return to_wire_list(records);
    });
}

void Manager1Adaptor::Rollback(sdbus::Result<Changes>&& result, bool force) {
    authorized("Rollback", std::move(result),
               [this, force] { return to_wire_list(value_or_throw(controller_.rollback(force))); });
}

void Manager1Adaptor::RollbackNamespace(sdbus::Result<Changes>&& result, std::string netns,
                                        bool force) {
    authorized("RollbackNamespace", std::move(result), [this, netns = std::move(netns), force] {
        if (hooks_.fleet == nullptr) {
            throw_error(Error{ErrorCode::kNotFound, std::string(kNotWatchingAll)});
        }
        return to_wire_list(value_or_throw(rollback_namespaces(*hooks_.fleet, netns, force)));
    });
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
