#include "metrics_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <utility>

#include <microhttpd.h>
#include <spdlog/spdlog.h>

namespace tcptune {

namespace {

// Any local user can open connections and leave them idle or half-sent; each
// holds a connection slot (not a thread: one epoll thread serves all) until
// this much inactivity, so a scrape finds a free slot again within seconds.
// A keep-alive scraper with a longer interval simply reconnects (the server
// then closed first: one TIME_WAIT per scrape, on the daemon's side).
constexpr unsigned kIdleTimeoutSeconds = 10;
// Connections open at once, and from one peer address: a single address
// (one local user on 127.0.0.1) can take at most half, so scrapers from
// elsewhere always find room; the cap bounds the fds anyone can make us hold.
constexpr unsigned kMaxConnections = 512;
constexpr unsigned kMaxConnectionsPerAddress = 256;

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

// The C callbacks, with access to the server's privates.
struct MetricsHttpServerAccess {
    static void log(void* cls, const char* format, va_list args)
        __attribute__((format(printf, 2, 0))) {
        char line[512];
        std::vsnprintf(line, sizeof line, format, args);
        std::string_view text(line);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
            text.remove_suffix(1);
        }
        auto* server = static_cast<MetricsHttpServer*>(cls);
        if (server->daemon_ == nullptr) {
            server->start_error_ = std::string(text);  // start() reports it
        } else {
            spdlog::warn("metrics HTTP server: {}", text);
        }
    }

    static MHD_Result respond(MHD_Connection* connection, unsigned status, std::string_view body,
                              const char* content_type, const char* allow = nullptr) {
        MHD_Response* response = MHD_create_response_from_buffer(
            body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
        if (response == nullptr) {
            return MHD_NO;
        }
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (allow != nullptr) {
            MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
        }
        const MHD_Result queued = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return queued;
    }

    // Every request arrives here on the server's thread. Nothing it does can
    // throw into libmicrohttpd's C code.
    static MHD_Result handle(void* cls, MHD_Connection* connection, const char* url,
                             const char* method, const char* /*version*/,
                             const char* /*upload_data*/, std::size_t* upload_data_size,
                             void** /*request_state*/) {
        auto* server = static_cast<MetricsHttpServer*>(cls);
        const std::string_view verb(method);
        if (verb != MHD_HTTP_METHOD_GET && verb != MHD_HTTP_METHOD_HEAD) {
            // A request body is not read: the connection closes after the answer.
            *upload_data_size = 0;
            return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                           "text/plain; charset=utf-8", "GET, HEAD");
        }
        if (std::string_view(url) != "/metrics") {
            return respond(connection, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n",
                           "text/plain; charset=utf-8");
        }
        try {
            return respond(connection, MHD_HTTP_OK, server->render_(), kContentType);
        } catch (const std::exception& e) {
            spdlog::error("metrics HTTP server: rendering /metrics failed: {}", e.what());
            return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n",
                           "text/plain; charset=utf-8");
        }
    }
};

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(const MetricsEndpoint& where,
                                                                    Render render) {
    std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(std::move(render)));

    sockaddr_storage address{};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (where.ipv6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(where.port);
        if (inet_pton(AF_INET6, where.host.c_str(), &in6->sin6_addr) != 1) {
            return make_error(ErrorCode::kParse, "not an IPv6 address: " + where.host);
        }
        // IPv6 with IPV6_V6ONLY off: [::] serves IPv4 too, as Linux binds by default.
        flags |= MHD_USE_DUAL_STACK;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(where.port);
        if (inet_pton(AF_INET, where.host.c_str(), &in4->sin_addr) != 1) {
            return make_error(ErrorCode::kParse, "not an IPv4 address: " + where.host);
        }
    }

    MetricsHttpServer* raw = server.get();
    server->daemon_ = MHD_start_daemon(
        flags, where.port, nullptr, nullptr, &MetricsHttpServerAccess::handle, raw,
        MHD_OPTION_EXTERNAL_LOGGER, &MetricsHttpServerAccess::log, raw, MHD_OPTION_SOCK_ADDR,
        reinterpret_cast<const sockaddr*>(&address), MHD_OPTION_CONNECTION_TIMEOUT,
        kIdleTimeoutSeconds, MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, kMaxConnectionsPerAddress, MHD_OPTION_END);
    if (server->daemon_ == nullptr) {
        return make_error(ErrorCode::kIo, server->start_error_.empty()
                                              ? std::string("libmicrohttpd did not start")
                                              : server->start_error_);
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
    server->port_ = info != nullptr && info->port != 0 ? info->port : where.port;
    return server;
}

MetricsHttpServer::~MetricsHttpServer() {
    if (daemon_ != nullptr) {
        MHD_stop_daemon(daemon_);
    }
}

}  // namespace tcptune
