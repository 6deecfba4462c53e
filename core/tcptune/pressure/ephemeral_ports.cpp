#include "tcptune/pressure/ephemeral_ports.hpp"

#include <charconv>
#include <optional>

#include "tcptune/census/proc_net.hpp"

namespace tcptune {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

std::optional<std::uint16_t> parse_port(std::string_view word) {
    unsigned value = 0;
    const char* end = word.data() + word.size();
    auto [ptr, ec] = std::from_chars(word.data(), end, value);
    if (word.empty() || ec != std::errc{} || ptr != end || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

void PortSet::insert_range(std::uint16_t low, std::uint16_t high) {
    for (std::uint32_t p = low; p <= high; ++p) {
        bits_.set(p);
    }
}

std::size_t PortSet::count_in(std::uint16_t low, std::uint16_t high) const {
    std::size_t n = 0;
    for (std::uint32_t p = low; p <= high; ++p) {
        n += bits_.test(p) ? 1U : 0U;
    }
    return n;
}

std::vector<std::uint16_t> PortSet::ports() const {
    std::vector<std::uint16_t> out;
    for (std::uint32_t p = 0; p < 65536; ++p) {
        if (bits_.test(p)) {
            out.push_back(static_cast<std::uint16_t>(p));
        }
    }
    return out;
}

Result<PortSet> parse_port_list(std::string_view text) {
    PortSet set;
    text = trim(text);
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const std::size_t dash = item.find('-');
        const auto low = parse_port(item.substr(0, dash));
        const auto high = dash == std::string_view::npos ? low : parse_port(item.substr(dash + 1));
        if (!low || !high || *low > *high) {
            return make_error(ErrorCode::kParse,
                              "port list: '" + std::string(item) +
                                  "' is not a port or a range LOW-HIGH (0..65535)");
        }
        set.insert_range(*low, *high);
    }
    return set;
}

std::string format_port_list(const PortSet& ports) {
    std::string out;
    std::uint32_t p = 0;
    while (p < 65536) {
        if (!ports.contains(static_cast<std::uint16_t>(p))) {
            ++p;
            continue;
        }
        std::uint32_t end = p;
        while (end + 1 < 65536 && ports.contains(static_cast<std::uint16_t>(end + 1))) {
            ++end;
        }
        out += (out.empty() ? "" : ",") + std::to_string(p);
        if (end != p) {
            out += "-" + std::to_string(end);
        }
        p = end + 1;
    }
    return out;
}

std::uint32_t EphemeralPorts::usable() const {
    if (high < low) {
        return 0;
    }
    const std::uint32_t range = static_cast<std::uint32_t>(high) - low + 1;
    return range - static_cast<std::uint32_t>(reserved.count_in(low, high));
}

Result<EphemeralPorts> read_ephemeral_ports(const std::filesystem::path& proc_sys_dir) {
    EphemeralPorts out;
    std::string range;
    TRY_ASSIGN(range, read_proc_file(proc_sys_dir / "net/ipv4/ip_local_port_range"));
    std::string_view text = trim(range);
    const std::size_t gap = text.find_first_of(" \t");
    const auto low = parse_port(trim(text.substr(0, gap)));
    const auto high =
        gap == std::string_view::npos ? std::nullopt : parse_port(trim(text.substr(gap)));
    if (!low || !high) {
        return make_error(ErrorCode::kParse,
                          "ip_local_port_range: expected \"LOW HIGH\", got '" + range + "'");
    }
    out.low = *low;
    out.high = *high;
    auto reserved = read_proc_file(proc_sys_dir / "net/ipv4/ip_local_reserved_ports");
    if (!reserved) {
        if (reserved.error().code == ErrorCode::kNotFound) {
            return out;
        }
        return tl::unexpected(reserved.error());
    }
    TRY_ASSIGN(out.reserved, parse_port_list(*reserved));
    return out;
}

}  // namespace tcptune
