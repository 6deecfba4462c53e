#include "tcptune/metrics/metrics_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace tcptune {

std::string MetricsEndpoint::to_string() const {
    const std::string port_text = std::to_string(port);
    return ipv6 ? "[" + host + "]:" + port_text : host + ":" + port_text;
}

namespace {

tl::unexpected<Error> bad_endpoint(std::string_view text, std::string_view why) {
    return make_error(ErrorCode::kParse,
                      "invalid metrics address '" + std::string(text) + "': " + std::string(why) +
                          " (expected HOST:PORT with a numeric IPv4 or [IPv6] host, e.g. "
                          "127.0.0.1:9477 or [::1]:9477, or 'none')");
}

bool is_ipv4(const std::string& host) {
    in_addr addr{};
    return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& host) {
    in6_addr addr{};
    return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

}  // namespace

Result<std::optional<MetricsEndpoint>> parse_metrics_endpoint(std::string_view text) {
    if (text == "none") {
        return std::optional<MetricsEndpoint>{};
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return bad_endpoint(text, "no port");
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);

    MetricsEndpoint address;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        address.host = std::string(host.substr(1, host.size() - 2));
        address.ipv6 = true;
        if (!is_ipv6(address.host)) {
            return bad_endpoint(text, "'" + address.host + "' is not an IPv6 address");
        }
    } else {
        address.host = std::string(host);
        if (address.host.empty()) {
            return bad_endpoint(text, "no host");
        }
        if (is_ipv6(address.host)) {
            return bad_endpoint(text, "put an IPv6 host in brackets");
        }
        if (!is_ipv4(address.host)) {
            return bad_endpoint(text, "'" + address.host +
                                          "' is not a numeric IPv4 address (host names are not "
                                          "resolved)");
        }
    }

    unsigned port = 0;
    const auto* first = port_text.data();
    const auto* last = port_text.data() + port_text.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (port_text.empty() || ec != std::errc{} || end != last || port > 65535) {
        return bad_endpoint(text, "the port must be a number from 0 to 65535");
    }
    address.port = static_cast<std::uint16_t>(port);
    return std::optional<MetricsEndpoint>{std::move(address)};
}

}  // namespace tcptune
