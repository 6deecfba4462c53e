#pragma once

// Puts the Controller on the bus: owns the sd-bus connection, publishes
// /net/tcptune/Manager1, owns the name net.tcptune, turns controller events into
// D-Bus signals, and drives the connection from the daemon's own EventLoop.
//
// No thread of sdbus-c++'s is ever started: the connection's fd and timeout
// (getEventLoopPollData) are registered with the EventLoop, and when they fire
// processPendingRequest() runs a bounded batch on the loop thread. Nothing here
// blocks except the short GetConnectionCredentials round trip to the bus daemon
// that identifies the caller of a mutating method (bounded by the method-call
// timeout); asking polkit about a caller other than root is asynchronous.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "dbus_adaptor.hpp"
#include "event_loop.hpp"
#include "tcptune/config/daemon_config.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/result.hpp"
#include "top_service.hpp"

namespace tcptune::daemon {

class DbusService final : public ControllerObserver {
  public:
    // Connects (BusKind::kSystem or kSession), publishes the object, requests the name and starts
    // serving on `loop`. Registers itself as an observer of `controller` (and removes itself on
    // destruction). Fails (kIo) when the bus is unreachable or the name is owned by someone else or
    // denied by the bus policy. Env TCPTUNE_DBUS_FAULT=<Method> makes that handler throw (tests
    // only).
    static Result<std::unique_ptr<DbusService>> create(EventLoop& loop, Controller& controller,
                                                       BusKind bus, AdaptorHooks hooks = {});
    ~DbusService() override;
    DbusService(const DbusService&) = delete;
    DbusService& operator=(const DbusService&) = delete;

    // ControllerObserver: signals and PropertiesChanged.
    void on_poll(const CensusSnapshot& snapshot) override;
    void on_rule_changed(const RuleStatus& status) override;
    void on_change(const ChangeRecord& record) override;
    void on_profile_changed(const std::string& profile) override;

  private:
    DbusService(EventLoop& loop, Controller& controller,
                std::unique_ptr<sdbus::IConnection> connection);
    // Handles what is pending on the connection (a bounded batch), then re-arms.
    void process();
    // Re-reads the connection's poll data into the EventLoop's fd watch and timer.
    void rearm();
    // The connection broke (bus daemon gone): stop watching it; tuning goes on.
    void disable(const std::string& why);
    // Emits through the adaptor, never throwing into the controller.
    template <typename F>
    void emit(const char* what, F&& f);

    EventLoop& loop_;
    Controller& controller_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<Manager1Adaptor> adaptor_;
    std::unique_ptr<TopService> top_;
    EventLoop::TimerId timer_ = -1;
    int watched_fd_ = -1;
    std::uint32_t watched_events_ = 0;
    bool disabled_ = false;
};

// What main() calls: nullptr for --bus none; `reload` is what SIGHUP does;
// `namespaces` the other namespaces' latest counts (empty: watch host only),
// `fleet` their controllers.
Result<std::unique_ptr<DbusService>> make_dbus_service(
    EventLoop& loop, Controller& controller, BusKind bus, std::function<Result<void>()> reload,
    std::function<std::vector<NamespaceCounts>()> namespaces = {}, NamespaceFleet* fleet = nullptr);

}  // namespace tcptune::daemon
