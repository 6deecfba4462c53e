#include "metrics_exporter.hpp"

#include <exception>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <prometheus/exposer.h>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/metrics/metrics_endpoint.hpp"
#include "tcptune/version.hpp"

namespace tcptune {

MetricsExporter::MetricsExporter(Controller& controller, const SysctlStore& sysctls)
    : controller_(controller),
      sysctls_(sysctls),
      model_(kVersion),
      published_(std::make_shared<PublishedMetrics>()) {
    // The daemon asks for the per-listener and per-destination signals with
    // metrics_top_k (0: none); only that many series are exported.
    const SignalRequest& extra = controller.config().extra_signals;
    model_.set_top_k(extra.listeners ? extra.top_k : 0);
}

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::start(const std::string& address,
                                                                Controller& controller,
                                                                const SysctlStore& sysctls) {
    auto parsed = parse_metrics_endpoint(address);
    if (!parsed) {
        return tl::unexpected(parsed.error());
    }
    if (!parsed->has_value()) {
        return std::unique_ptr<MetricsExporter>{};  // --metrics-address none
    }
    const MetricsEndpoint& where = **parsed;

    // Not make_unique: the constructor is private.
    std::unique_ptr<MetricsExporter> exporter(new MetricsExporter(controller, sysctls));
    // Publish before serving so the very first scrape already has build_info,
    // rules and sysctls, and the counts when a poll ran before we were attached.
    if (const auto last = controller.status().last_snapshot) {
        exporter->model_.observe_poll(*last);
    }
    exporter->refresh(true);

    try {
        // Keep-alive matters for a tool that counts TIME_WAIT: without it civetweb
        // closes first after every response, leaving one TIME_WAIT socket per
        // scrape in the very census it reports. With it, a scraper reuses one
        // connection. The idle timeout outlasts common scrape intervals (<= 60 s);
        // civetweb parks a worker thread on each idle connection, so four threads
        // leave room for an HA pair of Prometheus servers plus ad-hoc curls. A
        // scrape itself only copies a published snapshot. TCP_NODELAY: civetweb
        // writes the header and the body separately, and on a reused connection
        // Nagle holds the body until the peer's delayed ACK (a flat 40 ms).
        exporter->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", where.to_string(), "num_threads", "4", "enable_keep_alive", "yes",
            "keep_alive_timeout_ms", "90000", "tcp_nodelay", "1"});
    } catch (const std::exception& e) {
        // Debian's civetweb 1.15 is built without IPv6, so a [v6] address can
        // never be bound: say so instead of suggesting the port is busy.
        const std::string hint = where.ipv6 ? "the HTTP server (civetweb) of this build has no "
                                              "IPv6 support; use an IPv4 address such as "
                                              "127.0.0.1:9477, or none"
                                            : "address in use or not configured on this host? "
                                              "use --metrics-address HOST:PORT or none";
        return make_error(ErrorCode::kIo, "cannot serve metrics on " + where.to_string() + ": " +
                                              e.what() + " (" + hint + ")");
    }
    exporter->exposer_->RegisterCollectable(exporter->published_);

    MetricsEndpoint served = where;
    const auto ports = exporter->exposer_->GetListeningPorts();
    if (!ports.empty() && ports.front() > 0 && ports.front() <= 65535) {
        served.port = static_cast<std::uint16_t>(ports.front());
    }
    exporter->listening_address_ = served.to_string();

    controller.add_observer(exporter.get());
    return exporter;
}

MetricsExporter::~MetricsExporter() {
    exposer_.reset();  // joins the HTTP threads before anything they read goes away
    controller_.remove_observer(this);
}

void MetricsExporter::read_other_sysctls(const ControllerStatus& status) {
    std::set<std::string_view> covered;
    for (const auto& view : status.sysctls) {
        covered.insert(view.key);
    }
    std::map<std::string, std::string> values;
    for (const auto& spec : all_sysctls()) {
        if (spec.removed() || covered.contains(spec.key)) {
            continue;
        }
        // A key this kernel does not have is simply not exported.
        if (auto value = sysctls_.read(spec.key)) {
            values.emplace(std::string(spec.key), std::move(*value));
        }
    }
    model_.set_other_sysctl_values(std::move(values));
}

void MetricsExporter::refresh(bool reread_sysctls) {
    const ControllerStatus status = controller_.status();
    model_.set_status(status);
    if (reread_sysctls) {
        read_other_sysctls(status);
    }
    published_->publish(to_prometheus_families(model_.families()));
}

void MetricsExporter::on_poll(const CensusSnapshot& snapshot) {
    model_.observe_poll(snapshot);
    refresh(true);
}

void MetricsExporter::on_poll_error(const Error& /*error*/) {
    refresh(false);
}

void MetricsExporter::on_rule_changed(const RuleStatus& /*status*/) {
    refresh(false);
}

void MetricsExporter::on_change(const ChangeRecord& record) {
    model_.count_change(record);
    refresh(false);
}

void MetricsExporter::on_profile_changed(const std::string& /*profile*/) {
    refresh(true);
}

}  // namespace tcptune
