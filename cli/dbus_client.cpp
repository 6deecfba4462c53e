#include "dbus_client.hpp"

#include <chrono>
#include <ctime>
#include <set>
#include <utility>

#include <sdbus-c++/sdbus-c++.h>

#include "command.hpp"
#include "net.tcptune.Manager1.proxy.h"
#include "tcptune/dbus/contract.hpp"

namespace tcptune::cli {

namespace {

// A daemon busy with a census of a million sockets still answers within seconds;
// anything slower is reported instead of hanging the operator's shell.
constexpr std::chrono::seconds kCallTimeout{15};

int exit_code_for(const std::string& name) {
    if (name == dbus::error::kAccessDenied) {
        return kExitPermissionDenied;
    }
    if (name == dbus::error::kRefused) {
        return kExitRefused;
    }
    if (name == dbus::error::kInvalidProfile) {
        return kExitInvalidProfile;
    }
    if (dbus::means_unreachable(name)) {
        return kExitDaemonUnreachable;
    }
    return kExitFailure;
}

[[noreturn]] void rethrow(const sdbus::Error& e) {
    const std::string name = e.getName();
    throw DaemonError(name, e.getMessage(), exit_code_for(name), dbus::means_unreachable(name));
}

// Runs one proxy call, translating sdbus errors.
template <typename F>
auto call(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const sdbus::Error& e) {
        rethrow(e);
    }
}

using dbus::ChangeStruct;

// A record the daemon sent, or a DaemonError (exit 1) when it cannot be read.
ChangeRecord from_dbus(const ChangeStruct& c) {
    auto record = dbus::from_wire(c);
    if (!record) {
        throw DaemonError(dbus::error::kFailed, record.error().message, kExitFailure, false);
    }
    return std::move(*record);
}

std::vector<ChangeRecord> from_dbus(const std::vector<ChangeStruct>& rows) {
    std::vector<ChangeRecord> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
        out.push_back(from_dbus(row));
    }
    return out;
}

nlohmann::json or_null(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

// The generated proxy needs its signal hooks implemented; the CLI polls
// instead of subscribing, so they do nothing.
class DaemonClient::Proxy final : public sdbus::ProxyInterfaces<net::tcptune::Manager1_proxy> {
  public:
    explicit Proxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, dbus::kServiceName, dbus::kObjectPath) {
        registerProxy();
    }
    ~Proxy() { unregisterProxy(); }
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

  private:
    void onProfileChanged(const std::string& /*profile*/) override {}
    void onRuleActivated(const std::string& /*rule*/, const double& /*observed*/) override {}
    void onRuleFiredOn(const std::string& /*rule*/, const std::string& /*subject*/,
                       const std::string& /*reading*/) override {}
    void onRuleCleared(const std::string& /*rule*/, const double& /*observed*/) override {}
    void onSysctlChanged(const ChangeStruct& /*change*/) override {}
    void onOverrideDetected(const std::string& /*key*/, const std::string& /*expected*/,
                            const std::string& /*found*/) override {}
};

DaemonError::DaemonError(std::string name, const std::string& message, int exit_code,
                         bool unreachable)
    : std::runtime_error(message),
      name_(std::move(name)),
      exit_code_(exit_code),
      unreachable_(unreachable) {}

void add_bus_option(CLI::App& cmd, BusKind& bus) {
    // Parsed by core's parse_bus_kind, the same words tcptuned and tcptune.yaml
    // take; `none` means nothing to a client, so only the two buses are members.
    cmd.add_option_function<std::string>(
           "--bus",
           [&bus](const std::string& text) {
               if (auto parsed = parse_bus_kind(text)) {
                   bus = *parsed;
               }
           },
           "Bus the daemon serves on: system (default; honours "
           "DBUS_SYSTEM_BUS_ADDRESS) or session")
        ->transform(CLI::IsMember({"system", "session"}, CLI::ignore_case));
}

DaemonClient::DaemonClient(BusKind bus) {
    const std::string which(to_string(bus));
    try {
        connection_ = dbus::open_bus(bus);
        connection_->setMethodCallTimeout(kCallTimeout);
        proxy_ = std::make_unique<Proxy>(*connection_);
    } catch (const sdbus::Error& e) {
        throw DaemonError(e.getName(),
                          std::string("cannot connect to the ") + which + " bus: " + e.getMessage(),
                          kExitDaemonUnreachable, true);
    }
}

DaemonClient::~DaemonClient() = default;

DaemonStatus DaemonClient::status() {
    const auto t = call([&] { return proxy_->GetStatus(); });
    DaemonStatus status{std::get<0>(t),
                        std::get<1>(t),
                        std::get<2>(t),
                        std::get<3>(t),
                        std::get<4>(t),
                        std::get<5>(t),
                        std::get<6>(t),
                        std::get<7>(t),
                        std::get<8>(t),
                        std::get<9>(t),
                        {},
                        {}};
    status.census_engine = call([&] { return proxy_->CensusEngine(); });
    status.census_engine_note = call([&] { return proxy_->CensusEngineNote(); });
    return status;
}

DaemonCounts DaemonClient::counts() {
    auto t = call([&] { return proxy_->GetCounts(); });
    return DaemonCounts{std::get<0>(t), std::move(std::get<1>(t)), std::move(std::get<2>(t)),
                        std::get<3>(t), std::get<4>(t)};
}

std::vector<NamespaceRow> DaemonClient::namespaces() {
    std::vector<NamespaceRow> out;
    for (auto& n : call([&] { return proxy_->ListNamespaces(); })) {
        out.push_back(NamespaceRow{n.get<0>(), n.get<1>(), n.get<2>(), n.get<3>(), n.get<4>(),
                                   std::move(n.get<5>())});
    }
    return out;
}

std::vector<RefusedNamespaceRow> DaemonClient::refused_namespaces() {
    std::vector<RefusedNamespaceRow> out;
    try {
        for (auto& r : call([&] { return proxy_->ListRefusedNamespaces(); })) {
            out.push_back(RefusedNamespaceRow{r.get<0>(), std::move(r.get<1>()),
                                              std::move(r.get<2>()), std::move(r.get<3>())});
        }
    } catch (const DaemonError& e) {
        if (e.name() != "org.freedesktop.DBus.Error.UnknownMethod") {
            throw;
        }
    }
    return out;
}

std::vector<SysctlRow> DaemonClient::sysctls() {
    std::vector<SysctlRow> out;
    for (const auto& s : call([&] { return proxy_->GetSysctls(); })) {
        out.push_back(SysctlRow{s.get<0>(), s.get<1>(), s.get<2>(), s.get<3>(), s.get<4>()});
    }
    return out;
}

std::vector<RuleRow> DaemonClient::rules() {
    std::vector<RuleRow> out;
    for (const auto& r : call([&] { return proxy_->GetRules(); })) {
        out.push_back(RuleRow{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>(),
                              r.get<5>(), r.get<6>(), r.get<7>()});
    }
    // Where each rule fired and what its last change did; a daemon from before
    // GetRuleSignals simply leaves them empty.
    try {
        const auto signals = proxy_->GetRuleSignals();
        for (auto& row : out) {
            for (const auto& s : signals) {
                if (s.get<0>() == row.name) {
                    row.subject = s.get<1>();
                    row.reading = s.get<2>();
                    row.verdict = s.get<3>();
                }
            }
        }
    } catch (const sdbus::Error&) {
    }
    return out;
}

std::vector<ChangeRecord> DaemonClient::recent_changes(std::uint32_t limit) {
    return from_dbus(call([&] { return proxy_->GetRecentChanges(limit); }));
}

std::vector<ProfileRow> DaemonClient::profiles() {
    std::vector<ProfileRow> out;
    for (const auto& p : call([&] { return proxy_->ListProfiles(); })) {
        out.push_back(ProfileRow{p.get<0>(), p.get<1>(), p.get<2>(), p.get<3>(), p.get<4>(),
                                 p.get<5>(), p.get<6>()});
    }
    return out;
}

DaemonProperties DaemonClient::properties() {
    return call([&] {
        return DaemonProperties{proxy_->ActiveProfile(), proxy_->Mode(), proxy_->Interval(),
                                proxy_->Version()};
    });
}

std::vector<ChangeRecord> DaemonClient::set_profile(const std::string& name, bool dry_run) {
    return from_dbus(call([&] { return proxy_->SetProfile(name, dry_run); }));
}

std::vector<ChangeRecord> DaemonClient::rollback(bool force) {
    return from_dbus(call([&] { return proxy_->Rollback(force); }));
}

std::string DaemonClient::namespace_status(const std::string& netns) {
    return call([&] { return proxy_->GetNamespaceStatus(netns); });
}

std::vector<ChangeRecord> DaemonClient::rollback_namespace(const std::string& netns, bool force) {
    return from_dbus(call([&] { return proxy_->RollbackNamespace(netns, force); }));
}

void DaemonClient::reload() {
    call([&] { proxy_->Reload(); });
}

ChangeRecord DaemonClient::resume(const std::string& key) {
    return from_dbus(call([&] { return proxy_->Resume(key); }));
}

std::string format_unix_usec(std::int64_t usec) {
    if (usec == 0) {
        return "";
    }
    const std::time_t secs = static_cast<std::time_t>(usec / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

nlohmann::json to_json(const DaemonStatus& s) {
    return {{"profile", s.profile},
            {"profile_file", s.profile_file},
            {"description", s.description},
            {"mode", s.mode},
            {"interval_seconds", s.interval_seconds},
            {"polls", s.polls},
            {"poll_errors", s.poll_errors},
            {"last_poll_error", or_null(s.last_poll_error)},
            {"journal_error", or_null(s.journal_error)},
            {"version", s.version},
            {"census_engine", or_null(s.census_engine)},
            {"census_engine_note", or_null(s.census_engine_note)}};
}

nlohmann::json to_json(const DaemonCounts& c) {
    return {{"valid", c.valid},
            {"states", c.states},
            {"netstat", c.netstat},
            {"duration_seconds", c.duration_seconds},
            {"age_seconds", c.age_seconds}};
}

nlohmann::json to_json(const SysctlRow& s) {
    return {{"key", s.key},
            {"current", s.current},
            {"original", or_null(s.original)},
            {"desired", or_null(s.desired)},
            {"owner", s.owner}};
}

nlohmann::json to_json(const RuleRow& r) {
    return {{"name", r.name},
            {"metric", r.metric},
            {"threshold", r.threshold},
            {"active", r.active},
            {"since", or_null(format_unix_usec(r.since_unix_usec))},
            {"since_unix_usec", r.since_unix_usec},
            {"last_observed", r.has_last ? nlohmann::json(r.last_observed) : nullptr},
            {"trigger_count", r.trigger_count},
            {"subject", r.subject},
            {"signal", r.reading},
            {"verdict", r.verdict}};
}

nlohmann::json to_json(const ChangeRecord& c) {
    const std::int64_t at = dbus::to_unix_usec(c.at);
    return {{"key", c.key},
            {"old_value", c.old_value},
            {"new_value", c.new_value},
            {"profile", c.profile},
            {"rule", c.rule},
            {"reason", c.reason},
            {"result", to_string(c.result)},
            {"detail", c.detail},
            {"replay_command", c.replay_command},
            {"at", format_unix_usec(at)},
            {"at_unix_usec", at}};
}

}  // namespace tcptune::cli
