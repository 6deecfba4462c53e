#include "tcptune/census/proc_net.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "tcptune/read_file.hpp"

namespace tcptune {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const std::size_t start = line.find_first_not_of(" \t\r", pos);
        if (start == std::string_view::npos) {
            break;
        }
        const std::size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
        words.push_back(line.substr(start, end - start));
        pos = end;
    }
    return words;
}

// Lines starting with `prefix` (e.g. "TCP:"), in order.
std::vector<std::string_view> lines_with_prefix(std::string_view text, std::string_view prefix) {
    std::vector<std::string_view> found;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const std::string_view line = text.substr(pos, end - pos);
        if (line.starts_with(prefix)) {
            found.push_back(line);
        }
        pos = end + 1;
    }
    return found;
}

std::optional<std::uint64_t> parse_u64(std::string_view word) {
    std::uint64_t value = 0;
    const auto* end = word.data() + word.size();
    const auto [ptr, ec] = std::from_chars(word.data(), end, value);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

// "TCP: inuse 5 orphan 0 tw 3 alloc 6 mem 1": key/value pairs after the prefix.
Result<void> parse_key_values(
    std::string_view line, const char* file,
    const std::vector<std::pair<std::string_view, std::uint64_t*>>& keys) {
    const auto words = split_words(line);
    for (auto [key, out] : keys) {
        bool found = false;
        for (std::size_t i = 1; i + 1 < words.size(); i += 2) {
            if (words[i] == key) {
                const auto value = parse_u64(words[i + 1]);
                if (!value) {
                    return make_error(ErrorCode::kParse,
                                      std::string(file) + ": value of '" + std::string(key) +
                                          "' is not a number: '" + std::string(words[i + 1]) + "'");
                }
                *out = *value;
                found = true;
                break;
            }
        }
        if (!found) {
            return make_error(ErrorCode::kParse, std::string(file) + ": no '" + std::string(key) +
                                                     "' in line '" + std::string(line) + "'");
        }
    }
    return {};
}

}  // namespace

Result<SockstatSummary> parse_sockstat(std::string_view sockstat, std::string_view sockstat6) {
    SockstatSummary summary;
    const auto tcp = lines_with_prefix(sockstat, "TCP:");
    if (tcp.size() != 1) {
        return make_error(ErrorCode::kParse, "sockstat: expected one 'TCP:' line, found " +
                                                 std::to_string(tcp.size()));
    }
    TRY(parse_key_values(tcp.front(), "sockstat",
                         {{"inuse", &summary.tcp_inuse},
                          {"orphan", &summary.tcp_orphan},
                          {"tw", &summary.tcp_tw},
                          {"alloc", &summary.tcp_alloc},
                          {"mem", &summary.tcp_mem_pages}}));
    if (!sockstat6.empty()) {
        const auto tcp6 = lines_with_prefix(sockstat6, "TCP6:");
        if (tcp6.size() != 1) {
            return make_error(ErrorCode::kParse, "sockstat6: expected one 'TCP6:' line, found " +
                                                     std::to_string(tcp6.size()));
        }
        TRY(parse_key_values(tcp6.front(), "sockstat6", {{"inuse", &summary.tcp6_inuse}}));
    }
    return summary;
}

namespace {

// A "Prefix: Name Name ..." / "Prefix: 1 2 ..." line pair (netstat, snmp): the names
// and values, index-aligned (index 0 is the prefix itself).
struct NamedValues {
    std::vector<std::string_view> names;
    std::vector<std::string_view> values;
};

Result<NamedValues> named_values(std::string_view text, std::string_view prefix,
                                 std::string_view file) {
    const std::string section(prefix.substr(0, prefix.size() - 1));  // "TcpExt"
    const auto lines = lines_with_prefix(text, prefix);
    if (lines.size() != 2) {
        return make_error(ErrorCode::kParse, std::string(file) + ": expected a " + section +
                                                 " header and value line, found " +
                                                 std::to_string(lines.size()) + " " + section +
                                                 " lines");
    }
    NamedValues out{split_words(lines[0]), split_words(lines[1])};
    if (out.names.size() != out.values.size()) {
        return make_error(ErrorCode::kParse, std::string(file) + ": " + section + " has " +
                                                 std::to_string(out.names.size()) + " names but " +
                                                 std::to_string(out.values.size()) + " values");
    }
    return out;
}

// The value column of `name`, if the header has it.
std::optional<std::string_view> value_of(const NamedValues& nv, std::string_view name) {
    for (std::size_t i = 1; i < nv.names.size(); ++i) {
        if (nv.names[i] == name) {
            return nv.values[i];
        }
    }
    return std::nullopt;
}

// Reads the `prefix` section of `text` and the wanted counters into their fields.
// Every one must be there ("netstat: TcpExt lacks A, B" lists the absent ones) and
// be a number. Returns the section, for columns that may be absent.
Result<NamedValues> read_required(
    std::string_view text, std::string_view prefix, std::string_view file,
    std::span<const std::pair<std::string_view, std::uint64_t*>> wanted) {
    NamedValues nv;
    TRY_ASSIGN(nv, named_values(text, prefix, file));
    const std::string section(prefix.substr(0, prefix.size() - 1));  // "TcpExt"
    std::string missing;
    for (auto [name, out] : wanted) {
        const auto column = value_of(nv, name);
        if (!column) {
            missing += missing.empty() ? "" : ", ";
            missing += name;
            continue;
        }
        const auto value = parse_u64(*column);
        if (!value) {
            return make_error(ErrorCode::kParse, std::string(file) + ": " + section + " " +
                                                     std::string(name) + " is not a number: '" +
                                                     std::string(*column) + "'");
        }
        *out = *value;
    }
    if (!missing.empty()) {
        return make_error(ErrorCode::kParse,
                          std::string(file) + ": " + section + " lacks " + missing);
    }
    return nv;
}

}  // namespace

Result<NetstatCounters> parse_netstat(std::string_view netstat) {
    // The file is pairs of lines: "TcpExt: Name Name ..." then "TcpExt: 1 2 ...".
    NetstatCounters counters;
    const std::array<std::pair<std::string_view, std::uint64_t*>, 8> wanted = {{
        {"ListenOverflows", &counters.listen_overflows},
        {"ListenDrops", &counters.listen_drops},
        {"SyncookiesSent", &counters.syncookies_sent},
        {"SyncookiesRecv", &counters.syncookies_recv},
        {"SyncookiesFailed", &counters.syncookies_failed},
        {"TCPTimeWaitOverflow", &counters.timewait_overflows},
        {"TCPReqQFullDrop", &counters.reqq_full_drop},
        {"TCPReqQFullDoCookies", &counters.reqq_full_do_cookies},
    }};
    NamedValues nv;
    TRY_ASSIGN(nv, read_required(netstat, "TcpExt:", "netstat", wanted));
    // Counters only rates use: absent ones stay unset (their rate is not computed).
    const std::array<std::pair<std::string_view, std::optional<std::uint64_t>*>, 4> optional = {{
        {"TCPAbortOnTimeout", &counters.abort_on_timeout},
        {"TCPAbortOnMemory", &counters.abort_on_memory},
        {"TCPAbortOnData", &counters.abort_on_data},
        {"TCPSynRetrans", &counters.syn_retrans},
    }};
    for (auto [name, out] : optional) {
        if (const auto text = value_of(nv, name)) {
            *out = parse_u64(*text);
        }
    }
    return counters;
}

Result<TcpSegmentCounters> parse_snmp_tcp(std::string_view snmp) {
    // Pairs of lines like netstat: "Tcp: RtoAlgorithm ... OutSegs RetransSegs ..." and
    // the values (MaxConn is -1, so only the wanted columns are parsed).
    TcpSegmentCounters counters;
    const std::array<std::pair<std::string_view, std::uint64_t*>, 2> wanted = {{
        {"OutSegs", &counters.out_segs},
        {"RetransSegs", &counters.retrans_segs},
    }};
    TRY(read_required(snmp, "Tcp:", "snmp", wanted));
    return counters;
}

Result<std::string> read_proc_file(const std::filesystem::path& path) {
    return read_file_bounded(path, {.max_bytes = kMaxProcFileBytes});
}

Result<SockstatSummary> read_sockstat(const std::filesystem::path& proc_net_dir) {
    std::string sockstat;
    TRY_ASSIGN(sockstat, read_proc_file(proc_net_dir / "sockstat"));
    auto sockstat6 = read_proc_file(proc_net_dir / "sockstat6");
    if (!sockstat6 && sockstat6.error().code != ErrorCode::kNotFound) {
        return tl::unexpected(sockstat6.error());  // a kernel without IPv6 has none
    }
    return parse_sockstat(sockstat, sockstat6 ? std::string_view(*sockstat6) : std::string_view());
}

Result<TcpSegmentCounters> read_snmp_tcp(const std::filesystem::path& proc_net_dir) {
    std::string snmp;
    TRY_ASSIGN(snmp, read_proc_file(proc_net_dir / "snmp"));
    return parse_snmp_tcp(snmp);
}

Result<NetstatCounters> read_netstat(const std::filesystem::path& proc_net_dir) {
    std::string netstat;
    TRY_ASSIGN(netstat, read_proc_file(proc_net_dir / "netstat"));
    return parse_netstat(netstat);
}

}  // namespace tcptune
