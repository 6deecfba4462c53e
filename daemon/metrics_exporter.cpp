#include "metrics_exporter.hpp"

#include <exception>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <prometheus/text_serializer.h>

#include "metrics_http_server.hpp"
#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/metrics/metrics_endpoint.hpp"
#include "tcptune/version.hpp"

namespace tcptune {

MetricsExporter::MetricsExporter(Controller& controller, const SysctlStore& sysctls)
    : controller_(controller),
      sysctls_(sysctls),
      model_(kVersion),
      published_(std::make_shared<PublishedMetrics>()) {}

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

    // The HTTP thread only copies the last published snapshot and serialises
    // it: a scrape never waits for a poll and never touches the Controller.
    auto server = MetricsHttpServer::start(where, [published = exporter->published_] {
        return prometheus::TextSerializer().Serialize(published->Collect());
    });
    if (!server) {
        return make_error(ErrorCode::kIo,
                          "cannot serve metrics on " + where.to_string() + ": " +
                              server.error().message +
                              " (address in use or not configured on this host? use "
                              "--metrics-address HOST:PORT or none)");
    }
    exporter->server_ = std::move(*server);

    MetricsEndpoint served = where;
    served.port = exporter->server_->port();
    exporter->listening_address_ = served.to_string();

    controller.add_observer(exporter.get());
    return exporter;
}

MetricsExporter::~MetricsExporter() {
    server_.reset();  // joins the HTTP thread before anything it reads goes away
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
    published_->publish(model_.families());
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
