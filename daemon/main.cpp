// tcptuned: builds the parts (census, sysctl store, applier, controller, event
// loop, adapters) and hands them to the runtime. Everything with logic lives in
// core/ or in the daemon's own small files.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "daemon_options.hpp"
#include "daemon_runtime.hpp"
#include "dbus_service.hpp"
#include "event_loop.hpp"
#include "logging.hpp"
#include "metrics_exporter.hpp"
#include "namespace_apply.hpp"
#include "namespace_monitor.hpp"
#include "sd_notify.hpp"
#include "tcptune/apply/applier.hpp"
#include "tcptune/apply/state_lock.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/census_open.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/duration.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/engine/namespace_fleet.hpp"
#include "tcptune/netns/netns_census_bpf.hpp"
#include "tcptune/version.hpp"

namespace {

using namespace tcptune;
using namespace tcptune::daemon;

int run_daemon(const DaemonOverrides& flags) {
    auto options = load_daemon_options(flags);
    if (!options) {
        std::fprintf(stderr, "tcptuned: %s\n", options.error().message.c_str());
        return kExitUsage;
    }
    setup_logging(options->log_level);
    spdlog::info(
        "tcptuned {} starting: config {}, state dir {}, {} mode, safety gate: "
        "key_cooldown {} s, max_changes_per_minute {}",
        kVersion, options->config_file.string(), options->state_dir.string(),
        options->advise ? "advise" : "enforce", options->gate_limits.key_cooldown.count(),
        options->gate_limits.max_changes_per_minute);

    // One daemon per state directory, for its whole life, in advice mode too
    // (a reload can switch to enforcing): a second one would rewrite the
    // journal from its own memory and lose the first one's originals.
    auto state_lock = StateDirLock::acquire(options->state_dir);
    if (!state_lock) {
        spdlog::critical("{}", state_lock.error().message);
        return kExitFailure;
    }

    auto census = open_census(census_engine_options(*options));
    if (!census) {
        spdlog::critical("cannot open the socket census ({} engine): {}",
                         to_string(options->census_engine), census.error().message);
        return kExitFailure;
    }
    if (census->engine == CensusEngineKind::kBpf) {
        spdlog::info("census engine: bpf (state counters; checked against a full dump every {})",
                     format_duration(options->census_reconcile_interval));
    } else if (!census->fallback_reason.empty()) {
        spdlog::warn("census engine: netlink, because bpf is not available: {}",
                     census->fallback_reason);
    } else {
        spdlog::info("census engine: netlink (a sock_diag dump per poll)");
    }
    ProcSysctlStore store;
    SystemClock clock;
    ApplierOptions applier_options;
    applier_options.state_dir = options->state_dir;
    // The daemon's own controller (a namespaces.select entry may name "host").
    const ControllerConfig host_config = host_controller_config(*options);
    applier_options.mode = host_config.mode;
    applier_options.limits = options->gate_limits;
    Applier applier(store, clock, applier_options);
    if (applier.journal_error()) {
        // Keep running: census, rules, status and metrics still work; every
        // write is refused until an operator recovers the journal.
        spdlog::critical("{}", applier.journal_error()->message);
    }

    if (auto host = host_selector_profile(options->namespaces)) {
        spdlog::info("namespaces: a select entry names \"host\": {}",
                     *host == kNoProfile ? "profile " + options->profile +
                                               " in advice mode (watched, never written)"
                                         : "profile " + *host + " in force here");
    }
    Controller controller(*census->source, store, clock, applier, host_config);
    ChangeLogger change_logger;
    controller.add_observer(&change_logger);
    if (auto started = controller.start(); !started) {
        spdlog::critical("profile {}: {}", controller.config().profile, started.error().message);
        return started.error().code == ErrorCode::kInvalidProfile ? kExitInvalidProfile
                                                                  : kExitFailure;
    }

    auto loop = EventLoop::create();
    if (!loop) {
        spdlog::critical("{}", loop.error().message);
        return kExitFailure;
    }
    SystemdNotifier notifier;
    DaemonRuntime runtime(**loop, controller, *census->source, notifier, flags, *options);
    // Before any adapter starts a thread: threads inherit the blocked signals.
    if (auto started = runtime.start(); !started) {
        spdlog::critical("{}", started.error().message);
        return kExitFailure;
    }

    // ---- namespaces.watch: all: every other namespace counted on its own thread.
    std::unique_ptr<NamespaceMonitor> namespaces;
    if (options->namespaces.watch == NetnsWatch::kAll) {
        // The same engine choice as the daemon's own census: bpf counts every
        // namespace in the kernel (one seeding dump each), netlink walks them all.
        auto engine =
            open_namespace_census(options->census_engine, options->census_reconcile_interval);
        if (!engine) {
            spdlog::critical("cannot open the per-namespace census: {}", engine.error().message);
            return kExitFailure;
        }
        if (!engine->fallback_reason.empty()) {
            spdlog::warn(
                "namespaces: bpf engine unavailable ({}), entering each namespace with "
                "sock_diag instead",
                engine->fallback_reason);
        }
        const std::string engine_name(engine->engine->name());
        namespaces =
            std::make_unique<NamespaceMonitor>(std::move(engine->engine), controller.interval());
        spdlog::info(
            "namespaces: watching every network namespace with the {} engine (this one is "
            "\"host\")",
            engine_name);
    }

    // ---- Per-namespace profiles: a controller per selected namespace, fed by the monitor.
    std::unique_ptr<NamespaceFleet> fleet;
    std::unique_ptr<NamespaceApplier> fleet_driver;
    if (namespaces) {
        fleet = std::make_unique<NamespaceFleet>(namespace_fleet_config(*options), clock);
        runtime.set_namespace_fleet(fleet.get());
        fleet_driver = std::make_unique<NamespaceApplier>(*fleet, *namespaces);
        controller.add_observer(fleet_driver.get());
    }

    // ---- D-Bus service (daemon/dbus_*): create it here, from options->bus, on **loop.
    std::function<std::vector<NamespaceCounts>()> other_namespaces;
    if (namespaces) {
        other_namespaces = [monitor = namespaces.get()] { return monitor->latest(); };
    }
    auto dbus = make_dbus_service(
        **loop, controller, options->bus, [&runtime] { return runtime.reload(); }, other_namespaces,
        fleet.get());
    if (!dbus) {
        spdlog::critical("{}", dbus.error().message);
        return kExitFailure;
    }

    // ---- Metrics exporter (daemon/metrics_*): create it here, from
    // ---- options->metrics_address, observing controller.
    auto metrics = MetricsExporter::start(options->metrics_address, controller, store);
    if (!metrics) {
        spdlog::critical("{}", metrics.error().message);
        return kExitFailure;
    }
    if (*metrics) {
        spdlog::info("serving metrics on http://{}/metrics", (*metrics)->listening_address());
        if (namespaces) {
            (*metrics)->watch_namespaces(namespaces.get(), options->namespaces.metrics_top_k);
            fleet_driver->set_metrics(metrics->get());
        }
    }

    const int exit_code = runtime.run();
    if (fleet) {
        // The stop policy (keep | restore) holds for every managed namespace too.
        (void)fleet->stop();
        controller.remove_observer(fleet_driver.get());
    }
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        DaemonOverrides flags;
        if (auto exit_code = parse_command_line(argc, argv, flags)) {
            return *exit_code;
        }
        return run_daemon(flags);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tcptuned: fatal: %s\n", e.what());
        return kExitFailure;
    }
}
