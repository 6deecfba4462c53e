#pragma once

// /proc/net/sockstat, /proc/net/sockstat6, the TcpExt section of /proc/net/netstat and
// the Tcp section of /proc/net/snmp:
// pure parsers over text plus thin file readers. All per network namespace.

#include <filesystem>
#include <string>
#include <string_view>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// Parses the "TCP:" line of sockstat and the "TCP6:" line of sockstat6. An empty
// sockstat6 means IPv6 is unavailable (tcp6_inuse stays 0).
Result<SockstatSummary> parse_sockstat(std::string_view sockstat, std::string_view sockstat6);

// Parses the TcpExt header/value line pair of /proc/net/netstat. Every counter of
// NetstatCounters must be present: a missing one is an error, not a silent zero.
Result<NetstatCounters> parse_netstat(std::string_view netstat);

// Parses OutSegs and RetransSegs of the Tcp section of /proc/net/snmp.
Result<TcpSegmentCounters> parse_snmp_tcp(std::string_view snmp);

// Reads a whole /proc file (their stat size is 0, so read until EOF). A missing file
// is ErrorCode::kNotFound naming the path.
Result<std::string> read_proc_file(const std::filesystem::path& path);

// Readers over a /proc/net directory (tests point them at a fixture directory).
// sockstat6 may be missing (IPv6 disabled); sockstat and netstat may not.
Result<SockstatSummary> read_sockstat(const std::filesystem::path& proc_net_dir = "/proc/net");
Result<NetstatCounters> read_netstat(const std::filesystem::path& proc_net_dir = "/proc/net");
Result<TcpSegmentCounters> read_snmp_tcp(const std::filesystem::path& proc_net_dir = "/proc/net");

}  // namespace tcptune
