#pragma once

// Helpers of the metrics end-to-end tests: a tiny HTTP/1.1 client, a free
// loopback port, reading one series out of the Prometheus text format, and
// running promtool.
//
// The client matters for what the tests count: it asks for keep-alive, reads
// exactly Content-Length bytes and then closes with an RST (SO_LINGER 0), so
// neither end is left in TIME_WAIT and the namespace's TIME_WAIT population
// stays exactly what the test built.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/daemon_process.hpp"
#include "support/run_command.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune::test {

struct HttpResponse {
    int status = 0;
    std::string headers;  // raw, lower-cased
    std::string body;
};

namespace metrics_detail {

inline tl::unexpected<Error> io_error(const std::string& what) {
    return make_error(ErrorCode::kIo, what + ": " + errno_text(errno));
}

inline std::string lower(std::string text) {
    for (auto& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return text;
}

// Decodes a chunked body (Go's net/http uses it for larger answers).
inline std::optional<std::string> dechunk(std::string_view raw) {
    std::string out;
    while (true) {
        const auto eol = raw.find("\r\n");
        if (eol == std::string_view::npos) {
            return std::nullopt;
        }
        const std::size_t size = std::stoul(std::string(raw.substr(0, eol)), nullptr, 16);
        raw.remove_prefix(eol + 2);
        if (size == 0) {
            return out;
        }
        if (raw.size() < size + 2) {
            return std::nullopt;
        }
        out.append(raw.substr(0, size));
        raw.remove_prefix(size + 2);
    }
}

}  // namespace metrics_detail

// GET http://host:port/target; `host` is a numeric IPv4 or IPv6 address
// (without brackets). Bounded by `timeout` overall.
inline Result<HttpResponse> http_get(const std::string& host, std::uint16_t port,
                                     const std::string& target,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    using metrics_detail::io_error;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string authority;  // the Host header
    auto* in4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        addr_len = sizeof(sockaddr_in);
        authority = host + ":" + std::to_string(port);
    } else if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        addr_len = sizeof(sockaddr_in6);
        authority = "[" + host + "]:" + std::to_string(port);
    } else {
        return make_error(ErrorCode::kParse, "not a numeric IP address: " + host);
    }
    UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return io_error("socket");
    }
    // No TIME_WAIT on either side: our close sends an RST.
    const linger abort_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
        return io_error("connect " + authority);
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + authority +
                                "\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return io_error("send");
    }

    std::string raw;
    std::optional<std::size_t> header_end;
    std::optional<std::size_t> content_length;
    bool chunked = false;
    std::array<char, 65536> buffer{};
    while (true) {
        if (header_end) {
            const std::size_t have = raw.size() - *header_end;
            if (content_length && have >= *content_length) {
                break;
            }
            if (chunked && raw.find("\r\n0\r\n\r\n", *header_end) != std::string::npos) {
                break;
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return make_error(ErrorCode::kIo, "timed out reading " + target);
        }
        pollfd pfd{fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            continue;  // timeout is checked at the top; EINTR retries
        }
        const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
        if (n < 0) {
            return io_error("recv");
        }
        if (n == 0) {
            break;  // server closed: whatever we have is the body
        }
        raw.append(buffer.data(), static_cast<std::size_t>(n));
        if (!header_end) {
            const auto end = raw.find("\r\n\r\n");
            if (end != std::string::npos) {
                header_end = end + 4;
                const std::string headers = metrics_detail::lower(raw.substr(0, end));
                const auto cl = headers.find("\r\ncontent-length:");
                if (cl != std::string::npos) {
                    content_length = std::stoul(headers.substr(cl + 17));
                }
                chunked = headers.find("transfer-encoding: chunked") != std::string::npos;
            }
        }
    }
    if (!header_end) {
        return make_error(ErrorCode::kParse, "no HTTP header in the answer to " + target);
    }
    HttpResponse response;
    response.headers = metrics_detail::lower(raw.substr(0, *header_end));
    if (response.headers.rfind("http/1.", 0) != 0 || response.headers.size() < 12) {
        return make_error(ErrorCode::kParse, "not an HTTP answer: " + response.headers);
    }
    response.status = std::stoi(response.headers.substr(9, 3));
    response.body = raw.substr(*header_end);
    if (chunked) {
        auto body = metrics_detail::dechunk(response.body);
        if (!body) {
            return make_error(ErrorCode::kParse, "bad chunked body from " + target);
        }
        response.body = std::move(*body);
    } else if (content_length) {
        response.body.resize(std::min(response.body.size(), *content_length));
    }
    return response;
}

// A loopback port nothing listens on. In the test's private namespace nothing
// else binds ports, so it stays free until the daemon takes it.
inline std::uint16_t free_loopback_port() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr)) {
        return 0;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);
}

// The value of the series written exactly as `series` (name plus labels in the
// exporter's order, e.g. `tcptune_tcp_sockets{state="time_wait"}`).
inline std::optional<double> series_value(const std::string& exposition,
                                          const std::string& series) {
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ') {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return std::nullopt;
}

// The body of GET /metrics from host:port; nullopt unless it answered 200.
inline std::optional<std::string> scrape_metrics(const std::string& host, std::uint16_t port) {
    auto response = http_get(host, port, "/metrics", std::chrono::seconds(5));
    if (!response || response->status != 200) {
        return std::nullopt;
    }
    return response->body;
}

// Scrapes 127.0.0.1:port until `ready(text)` holds or `timeout` passes; the last
// scrape either way ("" if none answered).
inline std::string scrape_until(std::uint16_t port,
                                const std::function<bool(const std::string&)>& ready,
                                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::string text;
    eventually(
        [&] {
            if (auto got = scrape_metrics("127.0.0.1", port)) {
                text = std::move(*got);
                return ready(text);
            }
            return false;
        },
        timeout);
    return text;
}

// Scrapes host:port until `series` has `value` (bounded); returns the last value seen.
inline std::optional<double> wait_for_series(const std::string& host, std::uint16_t port,
                                             const std::string& series, double value,
                                             std::chrono::milliseconds timeout) {
    std::optional<double> last;
    eventually(
        [&] {
            auto text = scrape_metrics(host, port);
            last = text ? series_value(*text, series) : std::nullopt;
            return last == value;
        },
        timeout);
    return last;
}

// `promtool check metrics` over `exposition` (written to `scratch`).
inline CommandOutput promtool_check_metrics(const std::string& exposition,
                                            const std::filesystem::path& scratch) {
    std::ofstream(scratch) << exposition;
    return run_command("promtool check metrics < '" + scratch.string() + "'",
                       {.merge_stderr = true});
}

// Waits (bounded) until `ss` shows the factory's population plus the daemon's
// own metrics listener, the one socket of its own the exporter adds.
inline void wait_for_population(const SocketFactory& factory) {
    StateCounts expected = factory.expected();
    expected[TcpState::kListen] += 1;
    auto shown = wait_until_ss_shows(expected);
    ASSERT_TRUE(shown.has_value()) << shown.error().message;
}

}  // namespace tcptune::test
