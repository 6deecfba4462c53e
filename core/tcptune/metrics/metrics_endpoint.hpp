#pragma once

// Where the metrics exporter listens, from the --metrics-address value
// (daemon_config.hpp checks its general shape): "HOST:PORT" with a numeric IPv4
// host or a bracketed IPv6 host ("127.0.0.1:9477", "[::1]:9477",
// "0.0.0.0:9477", "[::]:9477"), or "none" to disable the exporter. The exporter
// parses it itself, strictly, because its HTTP server binds numeric addresses
// only: a host name becomes a clear startup error, not a guess.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

struct MetricsEndpoint {
    std::string host;        // numeric, without brackets: "127.0.0.1", "::1"
    std::uint16_t port = 0;  // 0: let the kernel choose (tests)
    bool ipv6 = false;

    // "127.0.0.1:9477" / "[::1]:9477": the form users write (and URLs use).
    std::string to_string() const;
    bool operator==(const MetricsEndpoint&) const = default;
};

// nullopt: "none" (metrics disabled). Errors (kParse) say what is expected.
Result<std::optional<MetricsEndpoint>> parse_metrics_endpoint(std::string_view text);

}  // namespace tcptune
