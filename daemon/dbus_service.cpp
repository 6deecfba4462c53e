#include "dbus_service.hpp"

#include <poll.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <utility>

#include <spdlog/spdlog.h>

#include "tcptune/netns/netns_breakdown.hpp"
#include "tcptune/netns/netns_enter.hpp"

namespace tcptune::daemon {

namespace {

// At most this many messages per wake-up, so a flood of calls cannot starve the
// poll timer; the rest are handled on the next turn of the loop (sd-bus then
// reports a zero timeout, which re-arms the timer immediately).
constexpr int kMaxMessagesPerBatch = 64;

// Upper bound for the one synchronous call the daemon makes (the caller's
// credentials from the bus driver): a wedged bus must not wedge the daemon.
constexpr std::chrono::seconds kMethodCallTimeout{5};

std::uint32_t to_epoll_events(short poll_events) {
    std::uint32_t events = 0;
    if ((poll_events & POLLIN) != 0) {
        events |= EPOLLIN;
    }
    if ((poll_events & POLLOUT) != 0) {
        events |= EPOLLOUT;
    }
    return events;
}

}  // namespace

Result<std::unique_ptr<DbusService>> DbusService::create(EventLoop& loop, Controller& controller,
                                                         BusKind bus, AdaptorHooks hooks) {
    const std::string bus_name(to_string(bus));
    if (const char* fault = std::getenv("TCPTUNE_DBUS_FAULT"); fault != nullptr) {
        hooks.fault_method = fault;
        spdlog::warn("TCPTUNE_DBUS_FAULT={}: that D-Bus method will fail (test seam)", fault);
    }
    std::unique_ptr<DbusService> service;
    try {
        auto connection = dbus::open_bus(bus);
        connection->setMethodCallTimeout(
            std::chrono::duration_cast<std::chrono::microseconds>(kMethodCallTimeout).count());
        service.reset(new DbusService(loop, controller, std::move(connection)));
        // polkit is a system service: on the system bus it may grant the
        // mutating methods to users other than root.
        if (bus == BusKind::kSystem) {
            hooks.authority = std::make_unique<PolkitAuthority>(*service->connection_);
        }
        // GetTop's breakdowns run on a worker thread, never on the loop.
        // GetNamespaceTop's namespace is resolved there too: discovery reads
        // every /proc/<pid>/ns/net.
        auto top = TopService::create(loop, [](const TopKey& key) -> Result<Breakdown> {
            const BreakdownOptions options = daemon_breakdown_options(key.by_process);
            if (key.netns.empty()) {
                return take_breakdown(options);
            }
            NetnsInfo ns;
            TRY_ASSIGN(ns, resolve_one_namespace(key.netns));
            return take_namespace_breakdown(ns, options);
        });
        if (!top) {
            return make_error(top.error().code, "GetTop worker: " + top.error().message);
        }
        service->top_ = std::move(*top);
        hooks.top = service->top_.get();
        hooks.after_deferred_reply = [raw = service.get()] { raw->rearm(); };
        // Publish the object before taking the name, so no client ever sees the
        // name without the object behind it.
        service->adaptor_ =
            std::make_unique<Manager1Adaptor>(*service->connection_, controller, std::move(hooks));
        service->connection_->requestName(dbus::kServiceName);
    } catch (const sdbus::Error& e) {
        return make_error(ErrorCode::kIo, std::string("D-Bus: cannot serve ") + dbus::kServiceName +
                                              " on the " + bus_name + " bus: " + e.getName() +
                                              ": " + e.getMessage());
    }
    controller.add_observer(service.get());
    service->timer_ = loop.add_timer([raw = service.get()] { raw->process(); });
    service->rearm();
    spdlog::info("D-Bus: serving {} at {} on the {} bus", dbus::kServiceName, dbus::kObjectPath,
                 bus_name);
    return service;
}

DbusService::DbusService(EventLoop& loop, Controller& controller,
                         std::unique_ptr<sdbus::IConnection> connection)
    : loop_(loop), controller_(controller), connection_(std::move(connection)) {}

DbusService::~DbusService() {
    controller_.remove_observer(this);
    if (timer_ >= 0) {
        loop_.arm_timer(timer_, std::chrono::nanoseconds{0});
    }
    if (watched_fd_ >= 0) {
        loop_.unwatch_fd(watched_fd_);
    }
    try {
        adaptor_.reset();
        // Waits for a breakdown in progress; unanswered GetTop calls are dropped.
        top_.reset();
        if (!disabled_) {
            connection_->releaseName(dbus::kServiceName);
        }
    } catch (const sdbus::Error& e) {
        spdlog::debug("D-Bus: shutdown: {}", e.getMessage());
    }
}

void DbusService::process() {
    if (disabled_) {
        return;
    }
    try {
        for (int i = 0; i < kMaxMessagesPerBatch; ++i) {
            if (!connection_->processPendingRequest()) {
                break;
            }
        }
    } catch (const std::exception& e) {
        // sd_bus_process fails only when the connection itself is broken.
        disable(e.what());
        return;
    }
    rearm();
}

void DbusService::rearm() {
    if (disabled_) {
        return;
    }
    sdbus::IConnection::PollData poll;
    try {
        poll = connection_->getEventLoopPollData();
    } catch (const std::exception& e) {
        disable(e.what());
        return;
    }
    const std::uint32_t events = to_epoll_events(poll.events);
    if (poll.fd != watched_fd_ || events != watched_events_) {
        if (watched_fd_ >= 0 && poll.fd != watched_fd_) {
            loop_.unwatch_fd(watched_fd_);
        }
        loop_.watch_fd(poll.fd, events, [this] { process(); });
        watched_fd_ = poll.fd;
        watched_events_ = events;
    }
    if (poll.timeout_usec == std::numeric_limits<std::uint64_t>::max()) {
        loop_.arm_timer(timer_, std::chrono::nanoseconds{0});  // no deadline: disarm
        return;
    }
    // sd-bus deadlines are absolute CLOCK_MONOTONIC, which steady_clock is on Linux.
    const auto deadline = std::chrono::microseconds(poll.timeout_usec);
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    // A delay of zero disarms the timer, so "due now" is 1 ns.
    const std::chrono::nanoseconds delay =
        deadline > now ? std::chrono::nanoseconds(deadline - now) : std::chrono::nanoseconds{1};
    loop_.arm_timer(timer_, delay);
}

void DbusService::disable(const std::string& why) {
    spdlog::error("D-Bus: connection lost ({}); continuing without D-Bus control", why);
    disabled_ = true;
    if (watched_fd_ >= 0) {
        loop_.unwatch_fd(watched_fd_);
        watched_fd_ = -1;
    }
    loop_.arm_timer(timer_, std::chrono::nanoseconds{0});
}

template <typename F>
void DbusService::emit(const char* what, F&& f) {
    if (disabled_) {
        return;
    }
    try {
        f();
    } catch (const std::exception& e) {
        spdlog::warn("D-Bus: cannot emit {}: {}", what, e.what());
    }
    // A signal emitted from a timer callback may sit in sd-bus's write queue:
    // make sure the fd is watched for POLLOUT.
    rearm();
}

void DbusService::on_poll(const CensusSnapshot& /*snapshot*/) {
    // Catches property changes made outside D-Bus (SIGHUP reload).
    emit("PropertiesChanged", [&] { adaptor_->publish_property_changes(); });
}

void DbusService::on_rule_changed(const RuleStatus& status) {
    const double observed = status.last_observed.value_or(0.0);
    if (status.active) {
        emit("RuleActivated", [&] { adaptor_->emitRuleActivated(status.name, observed); });
        if (!status.subject.empty()) {
            emit("RuleFiredOn",
                 [&] { adaptor_->emitRuleFiredOn(status.name, status.subject, status.reading); });
        }
    } else {
        emit("RuleCleared", [&] { adaptor_->emitRuleCleared(status.name, observed); });
    }
}

void DbusService::on_change(const ChangeRecord& record) {
    if (record.result == ChangeResult::kOverridden) {
        // old_value: what tcptune last wrote; new_value: what someone else set.
        emit("OverrideDetected", [&] {
            adaptor_->emitOverrideDetected(record.key, record.old_value, record.new_value);
        });
        return;
    }
    emit("SysctlChanged", [&] { adaptor_->emitSysctlChanged(dbus::to_wire(record)); });
}

void DbusService::on_profile_changed(const std::string& profile) {
    emit("ProfileChanged", [&] {
        adaptor_->emitProfileChanged(profile);
        adaptor_->publish_property_changes();
    });
}

Result<std::unique_ptr<DbusService>> make_dbus_service(
    EventLoop& loop, Controller& controller, BusKind bus, std::function<Result<void>()> reload,
    std::function<std::vector<NamespaceCounts>()> namespaces, NamespaceFleet* fleet) {
    if (bus == BusKind::kNone) {
        spdlog::info("D-Bus: disabled (--bus none)");
        return std::unique_ptr<DbusService>();
    }
    AdaptorHooks hooks;
    hooks.reload = std::move(reload);
    hooks.namespaces = std::move(namespaces);
    hooks.fleet = fleet;
    auto service = DbusService::create(loop, controller, bus, std::move(hooks));
    if (!service) {
        return make_error(service.error().code, service.error().message +
                                                    " (start with --bus none to run without "
                                                    "D-Bus control)");
    }
    return service;
}

}  // namespace tcptune::daemon
