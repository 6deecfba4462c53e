#include "metrics_exporter.hpp"

#include "namespace_monitor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "metrics_http_server.hpp"
#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/metrics/metrics_endpoint.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/unique_fd.hpp"
#include "tcptune/version.hpp"

namespace tcptune {

namespace {

// Whether a server already listens where we want to: then waiting is
// pointless. A port held only by non-listening sockets (a TIME_WAIT left by a
// client that was given it as an ephemeral port) refuses connections.
bool someone_listens(const MetricsEndpoint& where) {
    sockaddr_storage address{};
    socklen_t length = 0;
    if (where.ipv6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(where.port);
        if (::inet_pton(AF_INET6, where.host.c_str(), &in6->sin6_addr) != 1) {
            return false;
        }
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
            in6->sin6_addr = in6addr_loopback;
        }
        length = sizeof *in6;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(where.port);
        if (::inet_pton(AF_INET, where.host.c_str(), &in4->sin_addr) != 1) {
            return false;
        }
        if (in4->sin_addr.s_addr == htonl(INADDR_ANY)) {
            in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        length = sizeof *in4;
    }
    UniqueFd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    // A local address answers (accepts or refuses) at once; the probe closes
    // with an RST, leaving no TIME_WAIT of its own.
    const linger abort_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0;
}

}  // namespace

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
    std::optional<MetricsEndpoint> parsed;
    TRY_ASSIGN(parsed, parse_metrics_endpoint(address));
    if (!parsed) {
        return std::unique_ptr<MetricsExporter>{};  // --metrics-address none
    }
    const MetricsEndpoint& where = *parsed;

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
    const auto render = [published = exporter->published_] {
        return prometheus::TextSerializer().Serialize(published->Collect());
    };
    // The port can be held for a while by someone else, typically a client's
    // socket that got it as an ephemeral port (ip_local_port_range includes
    // 9477) and now sits in TIME_WAIT for 60 s: retry for a bounded time instead
    // of failing the start. A live listener is not waited for. Reserving the
    // port avoids it altogether (net.ipv4.ip_local_reserved_ports).
    const auto give_up = std::chrono::steady_clock::now() + kMetricsBindRetryFor;
    bool warned = false;
    auto server = MetricsHttpServer::start(where, render);
    while (!server && !someone_listens(where) && std::chrono::steady_clock::now() < give_up) {
        if (!warned) {
            warned = true;
            spdlog::warn(
                "metrics: cannot listen on {} yet ({}); retrying for up to {} s. A "
                "client's TIME_WAIT socket may hold the port: keep it out of the "
                "ephemeral range with sysctl -w net.ipv4.ip_local_reserved_ports={}",
                where.to_string(), server.error().message, kMetricsBindRetryFor.count(),
                where.port);
        }
        // Nothing announces that a TIME_WAIT ended: try again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        server = MetricsHttpServer::start(where, render);
    }
    if (!server) {
        return make_error(ErrorCode::kIo,
                          "cannot serve metrics on " + where.to_string() + ": " +
                              server.error().message +
                              " (another server listens there, the address is not configured "
                              "on this host, or a socket kept the port for " +
                              std::to_string(kMetricsBindRetryFor.count()) +
                              " s: keep it out of the ephemeral range with "
                              "net.ipv4.ip_local_reserved_ports; or use --metrics-address "
                              "HOST:PORT or none)");
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

void MetricsExporter::watch_namespaces(const NamespaceMonitor* monitor, std::size_t top_k) {
    namespaces_ = monitor;
    netns_top_k_ = top_k;
    refresh(false);
}

class MetricsExporter::NamespaceObserver final : public ControllerObserver {
  public:
    NamespaceObserver(MetricsExporter& exporter, std::string netns, const Controller& controller)
        : exporter_(exporter), netns_(std::move(netns)), controller_(controller) {}
    void on_poll(const CensusSnapshot& /*snapshot*/) override { update(); }
    void on_rule_changed(const RuleStatus& /*status*/) override { update(); }
    void on_change(const ChangeRecord& record) override {
        exporter_.model_.count_namespace_change(netns_, record);
        update();
    }
    void on_profile_changed(const std::string& /*profile*/) override { update(); }

  private:
    void update() {
        exporter_.model_.set_namespace_status(netns_, controller_.status());
        exporter_.published_->publish(exporter_.model_.families());
    }
    MetricsExporter& exporter_;
    std::string netns_;
    const Controller& controller_;
};

std::unique_ptr<ControllerObserver> MetricsExporter::namespace_observer(
    const std::string& netns, const Controller& controller) {
    return std::make_unique<NamespaceObserver>(*this, netns, controller);
}

void MetricsExporter::forget_namespace(const std::string& netns) {
    model_.forget_namespace(netns);
    published_->publish(model_.families());
}
namespace {

// The monitor's latest round without the namespaces exported by name that are gone
// since: the round may be an interval old, and a deleted namespace's series must go
// at the next poll, not one round later. Only the busiest (those exported by name,
// and those that replace the gone ones) are checked, each with one stat of its
// handle: at most top_k + (gone) stats per poll, however many namespaces there are.
std::vector<NamespaceCounts> without_vanished(std::vector<NamespaceCounts> latest,
                                              std::size_t top_k) {
    std::stable_sort(latest.begin(), latest.end(),
                     [](const NamespaceCounts& a, const NamespaceCounts& b) {
                         return a.counts.total() > b.counts.total();
                     });
    std::vector<NamespaceCounts> out;
    out.reserve(latest.size());
    std::size_t named = 0;
    for (auto& n : latest) {
        if (named < top_k) {
            const auto id = netns_id_of(n.ns.handle);
            if (!id || *id != n.ns.id) {
                continue;
            }
            ++named;
        }
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace

void MetricsExporter::refresh(bool reread_sysctls) {
    const ControllerStatus status = controller_.status();
    model_.set_status(status);
    if (namespaces_ != nullptr) {
        model_.set_other_namespaces(without_vanished(namespaces_->latest(), netns_top_k_),
                                    netns_top_k_);
    }
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
