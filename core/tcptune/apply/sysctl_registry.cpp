#include "tcptune/apply/sysctl_registry.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

#include "tcptune/pressure/ephemeral_ports.hpp"
#include "tcptune/profile/profile_suggest.hpp"

namespace tcptune {

namespace {

SysctlSpec int_spec(std::string_view key, std::int64_t min, std::int64_t max,
                    std::string_view kernel_default, std::string_view summary) {
    SysctlSpec s;
    s.key = key;
    s.type = SysctlType::kInt;
    s.min = min;
    s.max = max;
    s.kernel_default = kernel_default;
    s.summary = summary;
    return s;
}

SysctlSpec enum_spec(std::string_view key, std::vector<std::int64_t> allowed,
                     std::string_view kernel_default, std::string_view summary) {
    SysctlSpec s;
    s.key = key;
    s.type = SysctlType::kEnum;
    s.allowed = std::move(allowed);
    s.min = s.allowed.front();
    s.max = s.allowed.back();
    s.kernel_default = kernel_default;
    s.summary = summary;
    return s;
}

// The table. Bounds are conservative on purpose (see docs/profile-format.md,
// "The sysctl registry"): an automatic tuner should never be able to set a value
// an experienced operator would call reckless, e.g. keepalive probes of 0,
// tcp_retries2 below 8 (gives up on a peer sooner than RFC 1122's 100 s),
// tcp_synack_retries below 2, or a port range overlapping the well-known ports.
std::vector<SysctlSpec> build_table() {
    std::vector<SysctlSpec> t;
    SysctlSpec reuse = enum_spec(
        "net.ipv4.tcp_tw_reuse", {0, 1, 2}, "2",
        "reuse TIME_WAIT sockets for new outgoing connections (1 = on, 2 = loopback only)");
    reuse.history = "value 2 (loopback only) added and made the default in Linux 4.18";
    reuse.ignored_when = {{"net.ipv4.tcp_timestamps",
                           {0},
                           "reusing a TIME_WAIT port needs TCP timestamps to tell old segments "
                           "from new ones, and net.ipv4.tcp_timestamps is 0"}};
    t.push_back(reuse);
    t.push_back(
        int_spec("net.ipv4.tcp_fin_timeout", 5, 120, "60",
                 "seconds an orphaned socket may stay in FIN_WAIT2 (does not shorten TIME_WAIT)"));
    t.push_back(enum_spec("net.ipv4.tcp_syncookies", {0, 1, 2}, "1",
                          "answer SYNs with cookies when the SYN queue overflows (2 = always)"));
    t.push_back(
        int_spec("net.ipv4.tcp_keepalive_time", 30, 7200, "7200",
                 "idle seconds before the first keepalive probe (sockets with SO_KEEPALIVE)"));
    t.push_back(int_spec("net.ipv4.tcp_keepalive_intvl", 5, 300, "75",
                         "seconds between unanswered keepalive probes"));
    t.push_back(int_spec("net.ipv4.tcp_keepalive_probes", 1, 127, "9",
                         "unanswered keepalive probes before the peer is declared dead"));
    t.push_back(int_spec("net.ipv4.tcp_synack_retries", 2, 10, "5",
                         "SYN-ACK retransmissions for a half-open (SYN_RECV) connection"));
    t.push_back(int_spec("net.ipv4.tcp_syn_retries", 1, 10, "6",
                         "SYN retransmissions for an outgoing connect() before it fails"));
    SysctlSpec syn_backlog = int_spec(
        "net.ipv4.tcp_max_syn_backlog", 128, 262144, "depends on memory (128 .. 4096 or more)",
        "with tcp_syncookies=0 only: SYNs from unproven peers are dropped once a listener's SYN "
        "queue passes 3/4 of it");
    syn_backlog.ignored_when = {
        {"net.ipv4.tcp_syncookies",
         {1, 2},
         "with SYN cookies on (net.ipv4.tcp_syncookies 1 or 2) the kernel bounds each "
         "listener's SYN queue by its own backlog, min(listen() backlog, net.core.somaxconn), "
         "and never reads tcp_max_syn_backlog"}};
    t.push_back(syn_backlog);
    t.push_back(int_spec("net.ipv4.tcp_max_tw_buckets", 16384, 4194304,
                         "depends on memory (e.g. 262144)",
                         "system-wide TIME_WAIT limit; beyond it closing sockets skip TIME_WAIT "
                         "(TCPTimeWaitOverflow)"));
    SysctlSpec orphans =
        int_spec("net.ipv4.tcp_max_orphans", 4096, 4194304, "depends on memory (e.g. 262144)",
                 "host-wide limit of sockets no process holds any more (orphans) "
                 "before they are reset");
    orphans.scope = SysctlScope::kGlobal;
    t.push_back(orphans);
    t.push_back(int_spec("net.ipv4.tcp_orphan_retries", 0, 15, "0",
                         "retransmissions before an orphaned connection is killed (0 means 8)"));
    t.push_back(int_spec(
        "net.ipv4.tcp_retries2", 8, 20, "15",
        "retransmissions of unacknowledged data before an established connection is dropped"));
    t.push_back(enum_spec(
        "net.ipv4.tcp_abort_on_overflow", {0, 1}, "0",
        "reset instead of silently dropping the final ACK when the accept queue is full"));
    t.push_back(int_spec(
        "net.core.somaxconn", 128, 65535, "4096",
        "upper limit on a listen() backlog (the accept queue of established connections)"));

    SysctlSpec ports = int_spec("net.ipv4.ip_local_port_range", 1024, 65535, "32768 60999",
                                "ephemeral ports for outgoing connections, \"LOW HIGH\"");
    ports.type = SysctlType::kIntPair;
    ports.min_pair_span = 1000;
    t.push_back(ports);

    SysctlSpec reserved =
        int_spec("net.ipv4.ip_local_reserved_ports", 1, 65535, "(empty)",
                 "ports connect() and bind(port 0) never pick, \"8080,9000-9010\"");
    reserved.type = SysctlType::kPortList;
    reserved.since = "2.6.35";
    t.push_back(reserved);

    SysctlSpec recycle = enum_spec("net.ipv4.tcp_tw_recycle", {0, 1}, "0",
                                   "fast TIME_WAIT recycling (removed from Linux)");
    recycle.removed_in = "4.12";
    recycle.removed_reason =
        "it dropped SYNs from clients behind NAT, whose TCP timestamps are not monotonic "
        "across hosts; use net.ipv4.tcp_tw_reuse for outgoing connections instead";
    t.push_back(recycle);
    return t;
}

const std::vector<SysctlSpec>& table() {
    static const std::vector<SysctlSpec> kTable = build_table();
    return kTable;
}

std::string join_allowed(const std::vector<std::int64_t>& allowed) {
    std::string out;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (i > 0) {
            out += i + 1 == allowed.size() ? " or " : ", ";
        }
        out += std::to_string(allowed[i]);
    }
    return out;
}

Error invalid(const SysctlSpec& spec, std::string_view value, std::string_view detail) {
    std::string message =
        "invalid value '" + std::string(value) + "' for " + std::string(spec.key) + ": ";
    message += detail;
    message += "; valid: " + spec.describe_valid_values();
    return Error{ErrorCode::kInvalidProfile, std::move(message)};
}

}  // namespace

std::string SysctlSpec::describe_valid_values() const {
    switch (type) {
        case SysctlType::kInt:
            return "an integer in " + std::to_string(min) + ".." + std::to_string(max);
        case SysctlType::kEnum:
            return allowed.size() == 1 ? std::to_string(allowed.front())
                                       : "one of " + join_allowed(allowed);
        case SysctlType::kIntPair:
            return "two integers \"LOW HIGH\" with " + std::to_string(min) +
                   " <= LOW < HIGH <= " + std::to_string(max) + " and at least " +
                   std::to_string(min_pair_span) + " apart";
        case SysctlType::kPortList:
            return "comma separated ports and ranges in " + std::to_string(min) + ".." +
                   std::to_string(max) + ", e.g. \"8080,9000-9010\" (empty: none)";
    }
    return "";
}

std::span<const SysctlSpec> all_sysctls() {
    return table();
}

const SysctlSpec* find_sysctl(std::string_view key) {
    for (const SysctlSpec& spec : table()) {
        if (spec.key == key) {
            return &spec;
        }
    }
    return nullptr;
}

std::string normalize_sysctl_value(std::string_view raw) {
    std::string out;
    bool pending_space = false;
    for (char c : raw) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out += ' ';
            pending_space = false;
        }
        out += c;
    }
    return out;
}

std::optional<std::vector<std::int64_t>> parse_sysctl_integers(std::string_view value) {
    const std::string normalized = normalize_sysctl_value(value);
    std::vector<std::int64_t> numbers;
    std::string_view rest = normalized;
    while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        std::string_view word = rest.substr(0, space);
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
        if (!word.empty() && word.front() == '+') {
            word.remove_prefix(1);
        }
        std::int64_t n = 0;
        const char* end = word.data() + word.size();
        auto [ptr, ec] = std::from_chars(word.data(), end, n);
        if (word.empty() || ec != std::errc{} || ptr != end) {
            return std::nullopt;
        }
        numbers.push_back(n);
    }
    if (numbers.empty()) {
        return std::nullopt;
    }
    return numbers;
}

Result<std::string> validate_value_for(const SysctlSpec& spec, std::string_view value) {
    if (spec.type == SysctlType::kPortList) {
        auto ports = parse_port_list(value);
        if (!ports) {
            return tl::unexpected(invalid(spec, value, "not a port list"));
        }
        if (ports->contains(0) ||
            ports->count_in(static_cast<std::uint16_t>(spec.min),
                            static_cast<std::uint16_t>(spec.max)) != ports->size()) {
            return tl::unexpected(invalid(spec, value, "out of the safe bounds"));
        }
        return format_port_list(*ports);
    }
    const auto numbers = parse_sysctl_integers(value);
    const std::size_t expected = spec.type == SysctlType::kIntPair ? 2 : 1;
    if (!numbers) {
        return tl::unexpected(invalid(spec, value, "not a number"));
    }
    if (numbers->size() != expected) {
        return tl::unexpected(invalid(spec, value,
                                      "expected " + std::to_string(expected) + " integer(s), got " +
                                          std::to_string(numbers->size())));
    }
    switch (spec.type) {
        case SysctlType::kInt: {
            const std::int64_t n = numbers->front();
            if (n < spec.min || n > spec.max) {
                return tl::unexpected(invalid(spec, value, "out of the safe bounds"));
            }
            return std::to_string(n);
        }
        case SysctlType::kEnum: {
            const std::int64_t n = numbers->front();
            if (std::find(spec.allowed.begin(), spec.allowed.end(), n) == spec.allowed.end()) {
                return tl::unexpected(invalid(spec, value, "not an allowed value"));
            }
            return std::to_string(n);
        }
        case SysctlType::kPortList:
            break;  // handled above
        case SysctlType::kIntPair: {
            const std::int64_t low = (*numbers)[0];
            const std::int64_t high = (*numbers)[1];
            if (low < spec.min || high > spec.max || low > spec.max || high < spec.min) {
                return tl::unexpected(invalid(spec, value, "out of the safe bounds"));
            }
            if (low >= high) {
                return tl::unexpected(invalid(spec, value, "LOW must be below HIGH"));
            }
            if (high - low < spec.min_pair_span) {
                return tl::unexpected(invalid(spec, value, "range too narrow"));
            }
            return std::to_string(low) + " " + std::to_string(high);
        }
    }
    return make_error(ErrorCode::kInternal, "unhandled sysctl type");
}

Result<std::string> validate_sysctl_value(std::string_view key, std::string_view value) {
    const SysctlSpec* spec = find_sysctl(key);
    if (spec == nullptr) {
        std::string message = "unknown sysctl '" + std::string(key) + "'";
        const std::string hint = suggest_sysctl_key(key);
        if (!hint.empty()) {
            message += " (did you mean " + hint + "?)";
        }
        message += "; tcptune only manages the keys listed by `tcptune explain sysctls`";
        return make_error(ErrorCode::kInvalidProfile, std::move(message));
    }
    if (spec->removed()) {
        return make_error(ErrorCode::kInvalidProfile,
                          "refusing " + std::string(key) + ": removed in Linux " +
                              std::string(spec->removed_in) + " because " +
                              std::string(spec->removed_reason));
    }
    return validate_value_for(*spec, value);
}

std::string_view to_string(SysctlScope scope) {
    return scope == SysctlScope::kGlobal ? "global" : "netns";
}

std::optional<std::string> ignored_by_kernel(
    const SysctlSpec& spec,
    const std::function<std::optional<std::string>(std::string_view)>& read) {
    for (const IgnoredWhen& when : spec.ignored_when) {
        const auto live = read(when.key);
        if (!live) {
            continue;
        }
        const auto numbers = parse_sysctl_integers(*live);
        if (!numbers || numbers->size() != 1) {
            continue;
        }
        if (std::find(when.values.begin(), when.values.end(), numbers->front()) !=
            when.values.end()) {
            return std::string(spec.key) + " has no effect now: " + std::string(when.reason) +
                   " (" + std::string(when.key) + " = " + std::to_string(numbers->front()) + ")";
        }
    }
    return std::nullopt;
}

std::string sysctl_proc_path(std::string_view key) {
    std::string path = "/proc/sys/";
    for (char c : key) {
        path += c == '.' ? '/' : c;
    }
    return path;
}

std::string suggest_sysctl_key(std::string_view unknown_key) {
    std::vector<std::string_view> keys;
    for (const SysctlSpec& spec : table()) {
        if (spec.removed()) {
            continue;
        }
        // A bare "tcp_tw_reuse" (no "net.ipv4." prefix) is the most common slip.
        const std::string_view k = spec.key;
        if (k.size() > unknown_key.size() && k.ends_with(unknown_key) &&
            k[k.size() - unknown_key.size() - 1] == '.') {
            return std::string(k);
        }
        keys.push_back(k);
    }
    return closest_match(unknown_key, keys);
}

}  // namespace tcptune
