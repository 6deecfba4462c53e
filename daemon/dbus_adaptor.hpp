#pragma once

// The net.tcptune.Manager1 object: the generated adaptor (from
// net.tcptune.Manager1.xml) implemented on top of the Controller.
//
// Every handler translates at its edge: sdbus-c++ 1.2.0 turns only an
// sdbus::Error thrown from a handler into an error reply; anything else would
// unwind through sd-bus's C code. So each handler runs inside guarded(), which
// maps tcptune errors to net.tcptune.Error.* and any other exception to
// net.tcptune.Error.Internal, and the daemon keeps serving.
//
// The mutating methods are asynchronous on the server side (Method.Async in
// the XML): root's calls are answered at once; anyone else's wait for polkit's
// verdict on net.tcptune.manage (polkit_authority.hpp) while the loop goes on,
// and run when it says yes. Without polkit on the bus only root passes.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "log_limiter.hpp"
#include "net.tcptune.Manager1.adaptor.h"
#include "polkit_authority.hpp"
#include "tcptune/apply/change_record.hpp"
#include "tcptune/dbus/contract.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/engine/namespace_fleet.hpp"
#include "tcptune/netns/netns_census.hpp"
#include "tcptune/profile/profile_cache.hpp"
#include "tcptune/result.hpp"
#include "top_service.hpp"

namespace tcptune::daemon {

using dbus::ChangeStruct;

// Hooks the daemon provides for what is not the Controller's business.
struct AdaptorHooks {
    // What SIGHUP does: re-read the config file and the profile. Empty: the
    // controller re-resolves its profile.
    std::function<Result<void>()> reload;
    // The uid always allowed to call mutating methods (root).
    uid_t privileged_uid = 0;
    // Asked about every other caller of a mutating method; null: nobody else
    // is allowed (no polkit on a session bus).
    std::unique_ptr<PolkitAuthority> authority;
    // Test seam (env TCPTUNE_DBUS_FAULT=<Method>): that method throws a plain
    // std::runtime_error from inside its handler, to prove the edge translation.
    std::string fault_method;
    // The other namespaces' latest counts (namespaces.watch: all); empty
    // function: only the daemon's own namespace is watched.
    std::function<std::vector<NamespaceCounts>()> namespaces;
    // The per-namespace controllers (namespaces.watch: all); null otherwise.
    NamespaceFleet* fleet = nullptr;
    // Serves GetTop off the loop; owned by the service, outlives the adaptor.
    TopService* top = nullptr;
    // Called after a reply was sent outside the connection's own processing
    // (GetTop's deferred answers), so the service watches for POLLOUT.
    std::function<void()> after_deferred_reply;
};

class Manager1Adaptor final : public sdbus::AdaptorInterfaces<net::tcptune::Manager1_adaptor> {
  public:
    Manager1Adaptor(sdbus::IConnection& connection, Controller& controller, AdaptorHooks hooks);
    ~Manager1Adaptor();
    Manager1Adaptor(const Manager1Adaptor&) = delete;
    Manager1Adaptor& operator=(const Manager1Adaptor&) = delete;

    // Emits PropertiesChanged for the properties whose value differs from the
    // last one published. Cheap; the service calls it after every poll and change.
    void publish_property_changes();

  private:
    using Changes = std::vector<ChangeStruct>;

    std::tuple<std::string, std::string, std::string, std::string, double, std::uint64_t,
               std::uint64_t, std::string, std::string, std::string>
    GetStatus() override;
    std::tuple<bool, std::map<std::string, std::uint64_t>, std::map<std::string, std::uint64_t>,
               double, double>
    GetCounts() override;
    std::vector<sdbus::Struct<std::string, std::uint64_t, bool, std::uint32_t, std::string,
                              std::map<std::string, std::uint64_t>>>
    ListNamespaces() override;
    std::vector<sdbus::Struct<std::uint64_t, std::string, std::string, std::string>>
    ListRefusedNamespaces() override;
    std::string GetNamespaceStatus(const std::string& netns) override;
    std::vector<
        sdbus::Struct<std::string, std::string, std::string, std::string, bool, bool, std::string>>
    ListProfiles() override;
    std::tuple<std::string, std::string> ShowProfile(const std::string& name) override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string>>
    GetSysctls() override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, bool, std::int64_t, bool,
                              double, std::uint64_t>>
    GetRules() override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string>> GetRuleSignals()
        override;
    Changes GetRecentChanges(const std::uint32_t& limit) override;
    void GetTop(
        sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
        std::string state, std::string by, std::uint32_t limit) override;
    void GetNamespaceTop(
        sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
        std::string netns, std::string state, std::string by, std::uint32_t limit) override;
    void SetProfile(sdbus::Result<Changes>&& result, std::string name, bool dry_run) override;
    void Rollback(sdbus::Result<Changes>&& result, bool force) override;
    void RollbackNamespace(sdbus::Result<Changes>&& result, std::string netns, bool force) override;
    void Reload(sdbus::Result<>&& result) override;
    void Resume(sdbus::Result<ChangeStruct>&& result, std::string key) override;

    std::string ActiveProfile() override;
    std::string Mode() override;
    double Interval() override;
    std::string CensusEngine() override;
    std::string CensusEngineNote() override;
    std::string Version() override;

    // GetTop and GetNamespaceTop: the rows of `state` by `by` from the breakdown
    // of `netns` (nullopt: the daemon's own), answered when the worker has it.
    void serve_top(
        const char* method,
        sdbus::Result<std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>>>&& result,
        std::optional<std::string> netns, const std::string& state, const std::string& by,
        std::uint32_t limit);

    // Runs a handler body, translating every failure into an sdbus::Error.
    template <typename F>
    auto guarded(const char* method, F&& body) -> decltype(body());
    // Throws AccessDenied unless the calling message comes from the privileged uid.
    void require_privileged(const char* method);
    // Whether the caller is the privileged uid; false when it cannot be told.
    bool caller_is_privileged();
    // The unique bus name of the caller being served ("" outside a call).
    std::string caller();
    // The uid of the message being handled (from the bus driver); throws AccessDenied.
    uid_t caller_uid(const char* method, const sdbus::Message& message);
    // Answers `result` with what `body` returns (or its error) once the caller
    // is authorized for a mutating method: at once for root, after polkit's
    // answer for others, never for a denied caller (AccessDenied instead).
    template <typename... Results, typename F>
    void authorized(const char* method, sdbus::Result<Results...>&& result, F body);
    // Runs `body` inside guarded() and sends its value or error as the reply.
    template <typename... Results, typename F>
    void answer(const char* method, const sdbus::Result<Results...>& result, F& body);

    using ProfileRows = std::vector<
        sdbus::Struct<std::string, std::string, std::string, std::string, bool, bool, std::string>>;

    Controller& controller_;
    AdaptorHooks hooks_;
    // Lines logged because of what a caller sent are throttled per sender.
    LogRateLimiter caller_log_;
    // ListProfiles and ShowProfile are open to everyone: files are parsed
    // again only when they changed, and the listing is rebuilt at most once
    // per kProfileListingMaxAge whatever the call rate.
    ProfileFileCache profile_cache_;
    ProfileRows profile_listing_;
    std::chrono::steady_clock::time_point profile_listing_at_{};
    bool profile_listing_valid_ = false;
    // Last published property values, for PropertiesChanged.
    std::string published_profile_;
    std::string published_mode_;
    double published_interval_ = 0;
};

}  // namespace tcptune::daemon
