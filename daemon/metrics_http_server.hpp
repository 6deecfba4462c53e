#pragma once

// The HTTP side of the metrics exporter: GET /metrics on one numeric IPv4 or
// IPv6 address, served by libmicrohttpd (Debian's libmicrohttpd12).
//
// Why not prometheus-cpp's own Exposer: it serves through civetweb, and
// Debian's civetweb 1.15 is built without USE_IPV6 (mg_check_feature(8) == 0),
// so it cannot listen on [::1] or [::]. libmicrohttpd can, and keeps idle
// keep-alive connections in one epoll thread instead of parking a worker on
// each.
//
// One internal thread answers every request: it calls `render` (which must be
// thread-safe and cheap: the exporter hands out its last published snapshot)
// and never touches the Controller. HTTP/1.1 keep-alive is on, so a scraper
// reuses one connection and the server never closes first after a response
// (no TIME_WAIT of its own in the census tcptune reports). Idle and half-sent
// connections are closed after 10 s of inactivity, at most 512 are open, at
// most 256 from one address: slow clients cannot blind the scraper for long.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tcptune/metrics/metrics_endpoint.hpp"
#include "tcptune/result.hpp"

struct MHD_Daemon;

namespace tcptune {

class MetricsHttpServer {
  public:
    // Returns the body of a 200 answer to GET /metrics.
    using Render = std::function<std::string()>;

    // Listens on `where` (port 0: the kernel chooses) and serves until
    // destroyed. An IPv6 address is dual-stack (IPV6_V6ONLY off, as Linux
    // binds by default), so [::] also serves IPv4. An address that cannot be
    // bound is kIo with libmicrohttpd's reason (e.g. "Address already in use").
    static Result<std::unique_ptr<MetricsHttpServer>> start(const MetricsEndpoint& where,
                                                            Render render);
    ~MetricsHttpServer();  // stops the thread and closes every connection
    MetricsHttpServer(const MetricsHttpServer&) = delete;
    MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

    // The port actually bound (the kernel's choice when started on port 0).
    std::uint16_t port() const { return port_; }

  private:
    explicit MetricsHttpServer(Render render) : render_(std::move(render)) {}

    Render render_;
    MHD_Daemon* daemon_ = nullptr;
    std::uint16_t port_ = 0;
    // The last message libmicrohttpd logged while starting, for the error.
    std::string start_error_;

    friend struct MetricsHttpServerAccess;
};

}  // namespace tcptune
