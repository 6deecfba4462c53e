#pragma once

// Prometheus exporter of tcptuned: serves http://<address>/metrics with the
// metric set of docs/metrics.md.
//
// It is a ControllerObserver: on every controller event (poll, poll error, rule
// change, sysctl change, profile switch) it reads controller.status() on the
// loop thread, updates its MetricsModel and publishes an immutable copy for the
// HTTP thread (metrics_http_server.hpp). Scrapes therefore serve the last poll's
// snapshot; they never call into the Controller and never run a netlink dump.

#include <chrono>
#include <memory>
#include <string>

#include "metrics_collectable.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/metrics/metrics_model.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

class MetricsHttpServer;
class NamespaceMonitor;

// How long start() retries a port that a non-listening socket holds (a
// client's TIME_WAIT lasts 60 s).
inline constexpr std::chrono::seconds kMetricsBindRetryFor{65};

class MetricsExporter final : public ControllerObserver {
  public:
    // Starts serving on `address` ("HOST:PORT", see metrics_endpoint.hpp) and
    // registers itself as an observer of `controller`, which must already be
    // started and must outlive the exporter. `sysctls` is used read-only, on the
    // loop thread, for allowlisted keys the status does not cover.
    // "none": success with an empty pointer (metrics disabled). An invalid
    // address is kParse; an address that cannot be bound (in use, not local) is
    // kIo with the address in the message.
    static Result<std::unique_ptr<MetricsExporter>> start(const std::string& address,
                                                          Controller& controller,
                                                          const SysctlStore& sysctls);

    ~MetricsExporter() override;  // stops serving, then unregisters the observer
    MetricsExporter(const MetricsExporter&) = delete;
    MetricsExporter& operator=(const MetricsExporter&) = delete;

    // The address actually served ("127.0.0.1:9477"; with the kernel's port when
    // started on port 0).
    const std::string& listening_address() const { return listening_address_; }

    // namespaces.watch: all: from now on every per-namespace series carries a netns
    // label and each refresh adds the monitor's latest counts: the `top_k` busiest
    // other namespaces by name (namespaces.metrics_top_k), the rest summed under
    // netns="_other". `monitor` must outlive the exporter.
    void watch_namespaces(const NamespaceMonitor* monitor, std::size_t top_k);

    // Per-namespace profiles: an observer for one managed namespace's controller
    // (which must outlive it); its rules, sysctls and changes become series labelled
    // netns="<name>". forget_namespace drops them when the namespace goes.
    std::unique_ptr<ControllerObserver> namespace_observer(const std::string& netns,
                                                           const Controller& controller);
    void forget_namespace(const std::string& netns);

    void on_poll(const CensusSnapshot& snapshot) override;
    void on_poll_error(const Error& error) override;
    void on_rule_changed(const RuleStatus& status) override;
    void on_change(const ChangeRecord& record) override;
    void on_profile_changed(const std::string& profile) override;

  private:
    class NamespaceObserver;
    MetricsExporter(Controller& controller, const SysctlStore& sysctls);
    void read_other_sysctls(const ControllerStatus& status);
    // Re-reads the status, optionally re-reads allowlisted keys, and publishes.
    void refresh(bool reread_sysctls);

    Controller& controller_;
    const SysctlStore& sysctls_;
    MetricsModel model_;
    std::shared_ptr<PublishedMetrics> published_;
    std::unique_ptr<MetricsHttpServer> server_;
    std::string listening_address_;
    const NamespaceMonitor* namespaces_ = nullptr;
    std::size_t netns_top_k_ = 0;
};

}  // namespace tcptune
