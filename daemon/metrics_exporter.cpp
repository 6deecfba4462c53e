#include "metrics_exporter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <exception>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>
#include <spdlog/spdlog.h>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/metrics/metrics_endpoint.hpp"
#include "tcptune/unique_fd.hpp"
#include "tcptune/version.hpp"

namespace tcptune {

namespace {

// Whether a server already listens where we want to: then waiting is
// pointless. A port held only by non-listening sockets (a TIME_WAIT left by a
// client that was given it as an ephemeral port) refuses connections.
bool someone_listens(const MetricsEndpoint& where) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(where.port);
    if (::inet_pton(AF_INET, where.host.c_str(), &addr.sin_addr) != 1) {
        return false;
    }
    if (addr.sin_addr.s_addr == htonl(INADDR_ANY)) {
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    // Local address: answered (accepted or refused) at once. No TIME_WAIT left
    // behind by this probe: it closes with an RST.
    const linger abort_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

// prometheus-cpp answers GET only; HEAD /metrics (load balancers, uptime
// checkers) got a 404. civetweb calls this before its handlers: a non-zero
// return means the request was answered here.
int answer_head_of_metrics(mg_connection* connection) {
    const mg_request_info* request = mg_get_request_info(connection);
    if (request == nullptr || request->request_method == nullptr || request->local_uri == nullptr ||
        std::strcmp(request->request_method, "HEAD") != 0 ||
        std::strcmp(request->local_uri, "/metrics") != 0) {
        return 0;
    }
    mg_printf(connection,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Connection: close\r\n\r\n");
    return 200;
}

const CivetCallbacks& exporter_callbacks() {
    static const CivetCallbacks callbacks = [] {
        CivetCallbacks c;
        c.begin_request = answer_head_of_metrics;
        return c;
    }();
    return callbacks;
}

}  // namespace

std::vector<std::string> exporter_options(const std::string& listening_ports) {
    // civetweb parks one worker thread on every connection it serves, idle
    // keep-alive ones and half-sent requests included: any local user can open
    // connections, so every such wait is bounded and there are enough workers
    // that a few dozen of them do not blind the scraper.
    //  - request_timeout_ms: a request must arrive whole within 3 s.
    //  - keep_alive_timeout_ms: keep-alive still matters for a tool that counts
    //    TIME_WAIT (without it civetweb closes first after every response and
    //    leaves a TIME_WAIT socket per scrape in the census it reports), but an
    //    idle connection holds its worker for at most 5 s; a scraper with a
    //    longer interval simply reconnects.
    //  - num_threads 32: each worker is a mostly idle thread; 32 of them absorb
    //    that many stalled peers while scrapes are still answered.
    //  - tcp_nodelay: civetweb writes the header and the body separately, and on
    //    a reused connection Nagle holds the body until the delayed ACK (40 ms).
    // A scrape itself only copies a published snapshot: polling never waits on HTTP.
    return {"listening_ports",       listening_ports,
            "num_threads",           std::to_string(kMetricsHttpThreads),
            "request_timeout_ms",    std::to_string(kMetricsRequestTimeout.count()),
            "enable_keep_alive",     "yes",
            "keep_alive_timeout_ms", std::to_string(kMetricsKeepAliveTimeout.count()),
            "listen_backlog",        "128",
            "tcp_nodelay",           "1"};
}

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

    // The port can be held for a while by someone else, typically a client's
    // socket that got it as an ephemeral port (ip_local_port_range includes
    // 9477) and now sits in TIME_WAIT for 60 s: retry for a bounded time instead
    // of failing the start. Reserving the port avoids it altogether
    // (net.ipv4.ip_local_reserved_ports, docs/operations.md).
    const auto give_up = std::chrono::steady_clock::now() + kMetricsBindRetryFor;
    bool warned = false;
    while (true) {
        try {
            exporter->exposer_ = std::make_unique<prometheus::Exposer>(
                exporter_options(where.to_string()), &exporter_callbacks());
            break;
        } catch (const std::exception& e) {
            // Debian's civetweb 1.15 is built without IPv6, so a [v6] address can
            // never be bound: say so at once instead of retrying.
            if (where.ipv6) {
                return make_error(ErrorCode::kIo,
                                  "cannot serve metrics on " + where.to_string() + ": " + e.what() +
                                      " (the HTTP server (civetweb) of this build has no IPv6 "
                                      "support; use an IPv4 address such as 127.0.0.1:9477, or "
                                      "none)");
            }
            if (someone_listens(where) || std::chrono::steady_clock::now() >= give_up) {
                return make_error(
                    ErrorCode::kIo,
                    "cannot serve metrics on " + where.to_string() + ": " + e.what() +
                        " (in use: another server listens there, or a socket kept it for " +
                        std::to_string(kMetricsBindRetryFor.count()) +
                        " s; keep the port out of the ephemeral range with "
                        "net.ipv4.ip_local_reserved_ports, or use --metrics-address HOST:PORT "
                        "or none)");
            }
            if (!warned) {
                warned = true;
                spdlog::warn(
                    "metrics: cannot bind {} yet ({}); retrying for up to {} s. A "
                    "client's TIME_WAIT socket may hold the port: reserve it with "
                    "sysctl net.ipv4.ip_local_reserved_ports={}",
                    where.to_string(), e.what(), kMetricsBindRetryFor.count(), where.port);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
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
