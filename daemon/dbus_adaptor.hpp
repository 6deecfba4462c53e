#pragma once

// The net.tcptune.Manager1 object: the generated adaptor (from
// net.tcptune.Manager1.xml) implemented on top of the Controller.
//
// Every handler translates at its edge: sdbus-c++ 1.2.0 turns only an
// sdbus::Error thrown from a handler into an error reply; anything else would
// unwind through sd-bus's C code. So each handler runs inside guarded(), which
// maps tcptune errors to net.tcptune.Error.* and any other exception to
// net.tcptune.Error.Internal, and the daemon keeps serving.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "net.tcptune.Manager1.adaptor.h"
#include "tcptune/apply/change_record.hpp"
#include "tcptune/dbus/contract.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/result.hpp"

namespace tcptune::daemon {

using dbus::ChangeStruct;

// Hooks the daemon provides for what is not the Controller's business.
struct AdaptorHooks {
    // What SIGHUP does: re-read the config file and the profile. Empty: the
    // controller re-resolves its profile.
    std::function<Result<void>()> reload;
    // The uid allowed to call mutating methods (root).
    uid_t privileged_uid = 0;
    // Test seam (env TCPTUNE_DBUS_FAULT=<Method>): that method throws a plain
    // std::runtime_error from inside its handler, to prove the edge translation.
    std::string fault_method;
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
    std::vector<
        sdbus::Struct<std::string, std::string, std::string, std::string, bool, bool, std::string>>
    ListProfiles() override;
    std::tuple<std::string, std::string> ShowProfile(const std::string& name) override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string>>
    GetSysctls() override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, bool, std::int64_t, bool,
                              double, std::uint64_t>>
    GetRules() override;
    Changes GetRecentChanges(const std::uint32_t& limit) override;
    std::vector<sdbus::Struct<std::string, std::uint64_t, std::string>> GetTop(
        const std::string& state, const std::string& by, const std::uint32_t& limit) override;
    Changes SetProfile(const std::string& name, const bool& dry_run) override;
    Changes Rollback(const bool& force) override;
    void Reload() override;
    ChangeStruct Resume(const std::string& key) override;

    std::string ActiveProfile() override;
    std::string Mode() override;
    double Interval() override;
    std::string CensusEngine() override;
    std::string CensusEngineNote() override;
    std::string Version() override;

    // Runs a handler body, translating every failure into an sdbus::Error.
    template <typename F>
    auto guarded(const char* method, F&& body) -> decltype(body());
    // Throws AccessDenied unless the calling message comes from the privileged uid.
    void require_privileged(const char* method);

    Controller& controller_;
    AdaptorHooks hooks_;
    // Last published property values, for PropertiesChanged.
    std::string published_profile_;
    std::string published_mode_;
    double published_interval_ = 0;
};

}  // namespace tcptune::daemon
