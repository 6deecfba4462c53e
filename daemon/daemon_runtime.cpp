#include "daemon_runtime.hpp"

#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "logging.hpp"

namespace tcptune::daemon {

namespace {

// STATUS= is for humans running `systemctl status`; once a second is plenty
// and keeps a 1 ms poll interval from turning into a notify storm.
constexpr std::chrono::seconds kStatusPeriod{1};

std::string summary(const ControllerStatus& status) {
    std::string line = "profile " + status.profile;
    line += status.mode == ApplyMode::kAdvise ? " (advise)" : " (enforce)";
    std::size_t active = 0;
    for (const auto& rule : status.rules) {
        active += rule.active ? 1U : 0U;
    }
    line +=
        "; " + std::to_string(active) + "/" + std::to_string(status.rules.size()) + " rules active";
    if (status.last_snapshot) {
        const auto& counts = status.last_snapshot->counts;
        line += "; time_wait " + std::to_string(counts[TcpState::kTimeWait]) + ", close_wait " +
                std::to_string(counts[TcpState::kCloseWait]) + ", syn_recv " +
                std::to_string(counts[TcpState::kSynRecv]);
    }
    std::size_t managed = 0;
    std::size_t overridden = 0;
    for (const auto& view : status.sysctls) {
        managed += view.owner == SysctlOwner::kTcptune ? 1U : 0U;
        overridden += view.owner == SysctlOwner::kAdministrator ? 1U : 0U;
    }
    line += "; " + std::to_string(managed) + " sysctls set by tcptune";
    if (overridden > 0) {
        line += ", " + std::to_string(overridden) + " overridden";
    }
    line += "; " + std::to_string(status.polls) + " polls";
    if (status.last_poll_error) {
        line += "; census failing: " + status.last_poll_error->message;
    }
    if (status.journal_error) {
        line += "; JOURNAL UNUSABLE, writes refused";
    }
    return line;
}

}  // namespace

DaemonRuntime::DaemonRuntime(EventLoop& loop, Controller& controller, CensusSource& census,
                             SystemdNotifier& notifier, DaemonOverrides flags,
                             DaemonOptions options)
    : loop_(loop),
      controller_(controller),
      census_(census),
      notifier_(notifier),
      flags_(std::move(flags)),
      options_(std::move(options)) {}

DaemonRuntime::~DaemonRuntime() = default;

Result<void> DaemonRuntime::start() {
    TRY_ASSIGN(signals_, SignalHandlers::install(
                             loop_, [this] { (void)reload(); }, [this] { request_stop(); }));

    poll_timer_ = loop_.add_timer([this] { poll(); });
    loop_.arm_timer(poll_timer_, std::chrono::nanoseconds(1));  // first poll: now

    if (auto interval = SystemdNotifier::watchdog_ping_interval()) {
        watchdog_interval_ = *interval;
        watchdog_timer_ = loop_.add_timer([this] { ping_watchdog(); });
        // The first ping goes out at once: a slow first census must not look
        // like a hung daemon.
        loop_.arm_timer(watchdog_timer_, std::chrono::nanoseconds(1));
        spdlog::debug("watchdog: pinging every {} us", watchdog_interval_.count());
    }
    return {};
}

void DaemonRuntime::poll() {
    if (stopping_) {
        return;
    }
    auto polled = controller_.poll_once();
    if (polled) {
        ++polls_;
        if (!ready_sent_) {
            ready_sent_ = true;
            update_status(true);
            notifier_.ready();
            spdlog::info("ready: first poll done, polling every {} ms",
                         controller_.interval().count());
        } else {
            update_status(false);
        }
    } else {
        update_status(false);
    }
    // Armed after the poll finished: a poll slower than the interval delays
    // the next one instead of queueing a backlog.
    arm_next_poll();
}

void DaemonRuntime::arm_next_poll() {
    loop_.arm_timer(poll_timer_, controller_.interval());
}

void DaemonRuntime::ping_watchdog() {
    notifier_.watchdog();
    loop_.arm_timer(watchdog_timer_, watchdog_interval_);
}

void DaemonRuntime::update_status(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_status_ < kStatusPeriod) {
        return;
    }
    last_status_ = now;
    notifier_.status(summary(controller_.status()));
}

Result<void> DaemonRuntime::reload() {
    notifier_.reloading();
    spdlog::info("reloading config {} and profile", options_.config_file.string());
    auto finish = [this](Result<void> result) {
        if (!result) {
            spdlog::error("reload failed, still running profile {} with the previous config: {}",
                          controller_.profile().name, result.error().message);
        }
        update_status(true);
        notifier_.ready();
        return result;
    };

    auto next = load_daemon_options(flags_);
    if (!next) {
        return finish(tl::unexpected(next.error()));
    }
    // watch: host <-> all needs a restart: refused before anything changes.
    if (auto checked = check_namespaces_reload(options_.namespaces, next->namespaces); !checked) {
        return finish(checked);
    }
    // The daemon's own profile: the configured one, or the select entry naming "host".
    ControllerConfig config = host_controller_config(*next);
    const bool switched_at_run_time =
        controller_.config().profile != host_controller_config(options_).profile;
    if (switched_at_run_time) {
        // An operator switched profiles at run time (tcptune apply): a reload
        // re-reads files, it does not undo that choice. A restart does.
        config.profile = controller_.config().profile;
        spdlog::info("keeping profile {} chosen at run time (config file says {})", config.profile,
                     next->profile);
    }
    if (auto reloaded = controller_.reload(config); !reloaded) {
        return finish(reloaded);
    }
    // These are bound to resources opened at start-up.
    if (next->state_dir != options_.state_dir) {
        spdlog::warn("state_dir changed to {}: takes effect at the next restart",
                     next->state_dir.string());
    }
    if (next->bus != options_.bus) {
        spdlog::warn("bus changed to {}: takes effect at the next restart", to_string(next->bus));
    }
    if (next->metrics_address != options_.metrics_address) {
        spdlog::warn("metrics_address changed to {}: takes effect at the next restart",
                     next->metrics_address);
    }
    if (next->census_engine != options_.census_engine ||
        next->census_reconcile_interval != options_.census_reconcile_interval) {
        spdlog::warn(
            "census_engine / census_reconcile_interval changed: take effect at the "
            "next restart");
    }
    if (next->gate_limits != options_.gate_limits) {
        // The gate belongs to the applier, which holds the journal's timing from start-up.
        spdlog::warn(
            "safety (key_cooldown {} s, max_changes_per_minute {}) takes effect at the "
            "next restart",
            next->gate_limits.key_cooldown.count(), next->gate_limits.max_changes_per_minute);
    }
    if (next->namespaces.metrics_top_k != options_.namespaces.metrics_top_k) {
        spdlog::warn("namespaces.metrics_top_k changed to {}: takes effect at the next restart",
                     next->namespaces.metrics_top_k);
    }
    set_log_level(next->log_level);
    // Keep what cannot change live, so the warnings repeat on the next reload.
    next->state_dir = options_.state_dir;
    next->bus = options_.bus;
    next->metrics_address = options_.metrics_address;
    next->census_engine = options_.census_engine;
    next->census_reconcile_interval = options_.census_reconcile_interval;
    next->gate_limits = options_.gate_limits;
    if (switched_at_run_time) {
        next->profile = options_.profile;  // as configured, so the check above repeats
    }
    next->namespaces.metrics_top_k = options_.namespaces.metrics_top_k;
    if (fleet_ != nullptr) {
        // Per-namespace profiles follow the new `namespaces:` section from the next round.
        for (const FleetNote& note : fleet_->reconfigure(namespace_fleet_config(*next))) {
            spdlog::warn("{}", note.message);
        }
    }
    options_ = std::move(*next);
    census_.request_reconciliation();
    spdlog::info("reloaded: profile {} ({}), interval {} ms", controller_.profile().name,
                 options_.advise ? "advise" : "enforce", controller_.interval().count());
    // A changed interval applies from now, not after the old (maybe long) one.
    arm_next_poll();
    return finish({});
}

void DaemonRuntime::request_stop() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    notifier_.stopping();
    spdlog::info("stopping (stop policy: {})", to_string(options_.stop_policy));
    loop_.stop();
}

int DaemonRuntime::run() {
    loop_.run();
    if (!stopping_) {
        request_stop();  // stopped by someone calling loop.stop() directly
    }
    // The controller publishes stop-policy records to its observers (the log).
    const auto records = controller_.stop();
    int failures = 0;
    for (const auto& record : records) {
        failures += record.result == ChangeResult::kFailed ? 1 : 0;
    }
    spdlog::info("stopped after {} polls{}", polls_,
                 failures > 0 ? "; " + std::to_string(failures) + " restore(s) failed" : "");
    return failures > 0 ? kExitFailure : kExitOk;
}

}  // namespace tcptune::daemon
