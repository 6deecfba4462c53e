#pragma once

// namespaces.watch: all — puts the selected profile of every other namespace in
// force: after each poll of the daemon's own controller, if the namespace monitor
// finished a new round, the fleet (core/tcptune/engine/namespace_fleet.hpp) opens,
// polls and drops the per-namespace controllers with that round's counts, on the
// loop thread (the sysctl reads and writes enter the namespace on a worker thread;
// no dump runs here). Every namespace's records are logged with its name.

#include <cstdint>
#include <map>
#include <memory>

#include "logging.hpp"
#include "metrics_exporter.hpp"
#include "namespace_monitor.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/engine/namespace_fleet.hpp"

namespace tcptune::daemon {

class NamespaceApplier final : public ControllerObserver, public NamespaceFleetObserver {
  public:
    NamespaceApplier(NamespaceFleet& fleet, const NamespaceMonitor& monitor);
    ~NamespaceApplier() override;
    NamespaceApplier(const NamespaceApplier&) = delete;
    NamespaceApplier& operator=(const NamespaceApplier&) = delete;

    // Runs the fleet on the monitor's newest round, once per round.
    void tick();

    // Every managed namespace's rules, sysctls and changes as netns-labelled series.
    void set_metrics(MetricsExporter* metrics);

    // ControllerObserver of the daemon's own controller: each poll drives a tick.
    void on_poll(const CensusSnapshot& snapshot) override;
    void on_poll_error(const Error& error) override;

    // NamespaceFleetObserver
    void on_opened(ManagedNamespace& managed) override;
    void on_closing(ManagedNamespace& managed) override;

  private:
    NamespaceFleet& fleet_;
    const NamespaceMonitor& monitor_;
    std::uint64_t last_round_ = 0;
    MetricsExporter* metrics_ = nullptr;
    // Per managed namespace (by inode): its log prefixer and its metrics observer.
    struct Attached {
        std::unique_ptr<ChangeLogger> logger;
        std::unique_ptr<ControllerObserver> metrics;
    };
    std::map<std::uint64_t, Attached> attached_;
    void attach_metrics(ManagedNamespace& managed, Attached& attached);
};

}  // namespace tcptune::daemon
